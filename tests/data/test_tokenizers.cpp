// Tokenizers: the pieces on their own (pre-tokenization, the basic tokenizer, the byte map), the
// begin/end/truncation/padding contract, and every error a user can cause (invalid UTF-8, malformed
// vocab.txt / vocab.json / merges.txt, bad arguments). The Hugging Face comparison is in
// test_tokenizers_golden.cpp; the word-level vocabulary in test_tokenizers_word.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "data/tokenizers/bpe.h"
#include "data/tokenizers/unicode.h"
#include "data/tokenizers/wordpiece.h"
#include "runtime/error.h"

namespace {

namespace fs = std::filesystem;
using namespace mm::data;

// A file under a per-test temporary directory.
std::string write_file(const std::string& name, const std::string& content) {
  const fs::path dir = fs::temp_directory_path() / ("mmalign_tok_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// Runs f, which must throw mm::Error whose message contains every one of `parts`.
template <typename F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const mm::Error& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

const char* kBertVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\nhello\n,\n!\nworld\nh\n##e\n";

// A byte-level vocabulary: the 256 byte characters, "Ġ" merges and the specials.
std::pair<std::string, std::string> tiny_bpe(const std::string& merges = "#version: 0.2\nh e\nhe l\nhel l\nhell o\nĠ w\n") {
  std::string vocab = "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3";
  int id = 4;
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    unicode::append_utf8(gpt2_byte_to_unicode(static_cast<uint8_t>(b)), ch);
    if (ch == "\"" || ch == "\\") ch = "\\" + ch;
    vocab += ",\n\"" + ch + "\": " + std::to_string(id++);
  }
  for (const char* t : {"he", "hel", "hell", "hello", "Ġw"}) vocab += ",\n\"" + std::string(t) + "\": " + std::to_string(id++);
  vocab += "\n}\n";
  return {write_file("bpe_vocab.json", vocab), write_file("bpe_merges.txt", merges)};
}

TEST(Tokenizers, Gpt2PreTokenization) {
  auto split = [](const std::string& s) {
    const std::u32string u = unicode::decode_utf8(s);
    std::vector<std::string> out;
    for (auto [b, e] : gpt2_pretokenize(u)) out.push_back(unicode::encode_utf8(u.substr(b, e - b)));
    return out;
  };
  // Expected values: regex.findall with the GPT-2 pattern (Python `regex` module).
  EXPECT_EQ(split("Hello world"), (std::vector<std::string>{"Hello", " world"}));
  EXPECT_EQ(split("it's  ok\n"), (std::vector<std::string>{"it", "'s", " ", " ok", "\n"}));
  EXPECT_EQ(split("I'M 42nd!! "), (std::vector<std::string>{"I", "'", "M", " 42", "nd", "!!", " "}));
  EXPECT_EQ(split("a\t\tb"), (std::vector<std::string>{"a", "\t", "\t", "b"}));
  EXPECT_EQ(split(" 's"), (std::vector<std::string>{" '", "s"}));
  EXPECT_TRUE(split("").empty());
}

TEST(Tokenizers, ByteToUnicodeIsGpt2s) {
  EXPECT_EQ(gpt2_byte_to_unicode('a'), U'a');
  EXPECT_EQ(gpt2_byte_to_unicode(' '), char32_t{0x120});  // "Ġ"
  EXPECT_EQ(gpt2_byte_to_unicode(0), char32_t{0x100});
  EXPECT_EQ(gpt2_byte_to_unicode(0xAD), char32_t{0x143});  // the last non-printable byte
  std::vector<bool> seen(512, false);
  for (int b = 0; b < 256; ++b) {
    const char32_t c = gpt2_byte_to_unicode(static_cast<uint8_t>(b));
    ASSERT_LT(c, 324u);
    EXPECT_FALSE(seen[c]) << b;
    seen[c] = true;
  }
}

TEST(Tokenizers, BasicTokenizerSteps) {
  WordPieceTokenizer tok(write_file("vocab.txt", kBertVocab));
  // Expected values: transformers' BasicTokenizer(do_lower_case=True).tokenize.
  EXPECT_EQ(tok.basic_tokenize("H\u00e9llo, WORLD!"), (std::vector<std::string>{"hello", ",", "world", "!"}));
  EXPECT_EQ(tok.basic_tokenize("\u732b\u304c\u597d\u304d"),
            (std::vector<std::string>{"\u732b", "\u304b", "\u597d", "\u304d"}));
  EXPECT_EQ(tok.basic_tokenize("\ud55c\uad6d"), (std::vector<std::string>{"\u1112\u1161\u11ab\u1100\u116e\u11a8"}));
  EXPECT_EQ(tok.basic_tokenize("don't\u00a0stop\u2028now"),
            (std::vector<std::string>{"don", "'", "t", "stop", "now"}));
  EXPECT_EQ(tok.basic_tokenize("x\u200by"), (std::vector<std::string>{"xy"}));
}

TEST(Tokenizers, WordPieceEncodeContract) {
  WordPieceTokenizer tok(write_file("vocab.txt", kBertVocab));
  EXPECT_EQ(tok.tokenize("unaffable"), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(tok.tokenize("Hello, World! unaffablex"), (std::vector<int64_t>{8, 9, 11, 10, 1}));
  EXPECT_EQ(tok.tokenize("he"), (std::vector<int64_t>{12, 13}));
  EXPECT_EQ(tok.tokenize("[CLS]hello[MASK]"), (std::vector<int64_t>{2, 8, 4}));
  EXPECT_EQ(tok.tokenize(std::string(101, 'h')), (std::vector<int64_t>{1}));  // > 100 characters
  const Encoding e = tok.encode("hello world unaffable", 5);
  EXPECT_EQ(e.ids, (std::vector<int64_t>{2, 8, 11, 5, 3}));  // truncated, [SEP] kept
  EXPECT_EQ(e.attention_mask, (std::vector<int64_t>{1, 1, 1, 1, 1}));
  const Encoding p = tok.encode("hello", 6);
  EXPECT_EQ(p.ids, (std::vector<int64_t>{2, 8, 3, 0, 0, 0}));
  EXPECT_EQ(p.attention_mask, (std::vector<int64_t>{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(p.tokens, (std::vector<std::string>{"[CLS]", "hello", "[SEP]", "[PAD]", "[PAD]", "[PAD]"}));
  EXPECT_EQ(tok.encode("", 2).ids, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(tok.encode("hello world").ids, (std::vector<int64_t>{2, 8, 11, 3}));
  expect_error([&] { tok.encode("hello", 1); }, {"max_length", "at least 2"});
  expect_error([&] { tok.encode("hello", -3); }, {"max_length"});
}

TEST(Tokenizers, BpeEncodeContract) {
  auto [vocab, merges] = tiny_bpe();
  BpeTokenizer tok(vocab, merges);
  EXPECT_EQ(tok.num_merges(), 5);
  const int64_t hello = tok.token_to_id("hello"), gw = tok.token_to_id("Ġw");
  ASSERT_GE(hello, 0);
  const Encoding e = tok.encode("hello world", 9);  // <s> hello Ġw o r l d </s> <pad>
  EXPECT_EQ(e.ids[0], 0);
  EXPECT_EQ(e.ids[1], hello);
  EXPECT_EQ(e.ids[2], gw);
  EXPECT_EQ(e.tokens[3], "o");
  EXPECT_EQ(e.ids[7], 2);  // </s>
  EXPECT_EQ(e.ids[8], 1);  // <pad>
  EXPECT_EQ(e.attention_mask, (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 0}));
  EXPECT_EQ(tok.encode("hello world", 4).tokens, (std::vector<std::string>{"<s>", "hello", "Ġw", "</s>"}));
  // <s> in the text is the special token, not five characters.
  EXPECT_EQ(tok.tokenize("<s>hello"), (std::vector<int64_t>{0, hello}));
}

TEST(Tokenizers, InvalidUtf8NamesTheByteOffset) {
  WordPieceTokenizer wp(write_file("vocab.txt", kBertVocab));
  auto [vocab, merges] = tiny_bpe();
  BpeTokenizer bpe(vocab, merges);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"abc\xff", "byte offset 3"},           {"ab\xc3", "byte offset 2"},  // truncated
      {"a\xc0\xaf", "byte offset 1"},         // overlong '/'
      {"\xed\xa0\x80x", "byte offset 0"},     // surrogate U+D800
      {"xx\xf4\x90\x80\x80", "byte offset 2"},  // above U+10FFFF
      {"a\x80", "continuation byte"},         {"\xe2\x82x", "not a continuation byte"}};
  for (const auto& [text, want] : cases) {
    expect_error([&] { wp.tokenize(text); }, {"invalid UTF-8", want});
    expect_error([&] { bpe.tokenize(text); }, {"invalid UTF-8", want});
  }
  expect_error([&] { wp.encode_batch({"ok", "fine", "bad\xff"}, 8); }, {"text 2", "byte offset 3"});
}

TEST(Tokenizers, MalformedVocabTxt) {
  expect_error([] { WordPieceTokenizer("/nonexistent/vocab.txt"); }, {"cannot open", "/nonexistent/vocab.txt"});
  expect_error([] { WordPieceTokenizer(write_file("v1.txt", "[PAD]\n[UNK]\n\n[CLS]\n[SEP]\n")); },
               {"v1.txt:3", "empty line"});
  expect_error([] { WordPieceTokenizer(write_file("v2.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nfoo\nbar\nfoo\n")); },
               {"v2.txt:7", "duplicate token 'foo'", "first on line 5"});
  expect_error([] { WordPieceTokenizer(write_file("v3.txt", "[PAD]\n[UNK]\n[SEP]\n")); }, {"v3.txt", "'[CLS]'", "missing"});
  expect_error([] { WordPieceTokenizer(write_file("v4.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nb\xffz\n")); },
               {"v4.txt:5", "invalid UTF-8"});
  expect_error([] { WordPieceTokenizer(write_file("v5.txt", "")); }, {"v5.txt", "empty"});
  // CRLF files: the '\r' is not part of the token.
  WordPieceTokenizer crlf(write_file("v6.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n"));
  EXPECT_EQ(crlf.tokenize("hello"), (std::vector<int64_t>{4}));
  EXPECT_EQ(crlf.vocab_size(), 5);
}

TEST(Tokenizers, MalformedVocabJson) {
  auto [good_vocab, merges] = tiny_bpe();
  auto bad = [&](const std::string& name, const std::string& json, std::initializer_list<std::string> parts) {
    const std::string path = write_file(name, json);
    expect_error([&] { BpeTokenizer(path, merges); }, parts);
  };
  bad("j1.json", "{\"<s>\": 0,\n \"<pad>\": 1\n \"x\": 2}", {"j1.json:3", "not valid JSON"});
  bad("j2.json", "{\"<s>\": 0,\n\"<pad>\": 1,\n\"<s>\": 2}", {"j2.json:3", "duplicate token '<s>'", "first on line 1"});
  bad("j3.json", "{\"<s>\": 0,\n\"<pad>\": \"1\"}", {"j3.json:2", "'<pad>'", "string"});
  bad("j4.json", "{\"<s>\": 0,\n\"<pad>\": -1}", {"j4.json:2", "negative"});
  bad("j5.json", "{\"<s>\": 0,\n\"<pad>\": 1.5}", {"j5.json:2", "fraction"});
  bad("j6.json", "[1, 2]", {"j6.json:1", "expected a JSON object"});
  bad("j7.json", "{\"<s>\": 0, \"<pad>\": {\"a\": 1}}", {"j7.json:1", "'<pad>'", "object"});
  bad("j8.json", "{\"<s>\": 0,\n\"<pad>\": 5}", {"j8.json:2", "ids 0..1"});
  bad("j9.json", "{\"<s>\": 0,\n\"<pad>\": 0}", {"j9.json:2", "id 0", "already used by '<s>'"});
  bad("j10.json", "{\"<s>\": 0, \"</s>\": 1, \"<unk>\": 2}", {"j10.json", "'<pad>'", "missing"});
  bad("j11.json", "", {"j11.json", "not valid JSON"});
  expect_error([&] { BpeTokenizer("/nonexistent/vocab.json", merges); }, {"cannot open", "/nonexistent/vocab.json"});
  EXPECT_NO_THROW(BpeTokenizer(good_vocab, merges));
}

TEST(Tokenizers, MalformedMergesTxt) {
  auto bad = [](const std::string& merges, std::initializer_list<std::string> parts) {
    auto [vocab, path] = tiny_bpe(merges);
    expect_error([&] { BpeTokenizer(vocab, path); }, parts);
  };
  bad("#version: 0.2\nh e\nh e l\n", {"bpe_merges.txt:3", "two symbols", "found 3"});
  bad("#version: 0.2\nh e\nhe\n", {"bpe_merges.txt:3", "two symbols", "found 1"});
  bad("#version: 0.2\nh e\nq z\n", {"bpe_merges.txt:3", "'qz'", "not in the vocabulary"});
  bad("#version: 0.2\nh e\nxyz e\n", {"bpe_merges.txt:3", "'xyz'", "not in the vocabulary"});
  bad("#version: 0.2\nh e\nhe l\nh e\n", {"bpe_merges.txt:4", "duplicate merge 'h e'", "first on line 2"});
  bad("#version: 0.2\nh \xff\n", {"bpe_merges.txt:2", "invalid UTF-8"});
  // No header, no final newline, blank lines and CRLF: every merge is kept.
  auto [vocab, path] = tiny_bpe("h e\r\n\r\nhe l\nhel l\nhell o");
  BpeTokenizer tok(vocab, path);
  EXPECT_EQ(tok.num_merges(), 4);
  EXPECT_EQ(tok.tokenize("hello"), (std::vector<int64_t>{tok.token_to_id("hello")}));
}

TEST(Tokenizers, Factory) {
  const std::string vocab = write_file("vocab.txt", kBertVocab);
  auto [bpe_vocab, merges] = tiny_bpe();
  EXPECT_EQ(make_tokenizer("wordpiece", vocab)->kind(), TokenizerKind::WordPiece);
  EXPECT_EQ(make_tokenizer("bpe", bpe_vocab, merges)->kind(), TokenizerKind::BPE);
  expect_error([&] { make_tokenizer("sentencepiece", vocab); }, {"unknown tokenizer 'sentencepiece'"});
  expect_error([&] { make_tokenizer("bpe", bpe_vocab); }, {"merges.txt"});
  expect_error([&] { make_tokenizer("wordpiece", vocab, merges); }, {"only used by the 'bpe'"});
  expect_error([&] { make_tokenizer("wordpiece", ""); }, {"no vocabulary file"});
}

}  // namespace
