// The word-level vocabulary of the CMPM setup: caption normalisation, building (counts, min_count,
// order), vocab.txt round trip, encoding with <start>/<end>/<unk>/<pad>, and the captions file reader.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "data/tokenizers/word_vocab.h"
#include "runtime/error.h"

namespace {

namespace fs = std::filesystem;
using namespace mm::data;
using Strings = std::vector<std::string>;

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("mmalign_word_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

std::string write_file(const std::string& name, const std::string& content) {
  const std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(WordVocab, CaptionWords) {
  EXPECT_EQ(caption_words("A man's RED t-shirt, jeans."), (Strings{"a", "man", "s", "red", "t", "shirt", "jeans"}));
  EXPECT_EQ(caption_words("  \tCAF\u00c9\n\u00dcBER\u00a0stra\u00dfe "), (Strings{"caf\u00e9", "\u00fcber", "stra\u00dfe"}));
  EXPECT_EQ(caption_words("x\x07y \u201cquoted\u201d 42"), (Strings{"xy", "quoted", "42"}));
  EXPECT_EQ(caption_words("\u0130"), (Strings{"i\u0307"}));  // Python's full lowercase mapping
  EXPECT_TRUE(caption_words("").empty());
  EXPECT_TRUE(caption_words(" ,.! ").empty());
  EXPECT_THROW(caption_words("ab\xff"), mm::Error);
}

TEST(WordVocab, BuildOrdersByCountThenBytes) {
  const Strings captions = {"a red car", "A blue car.", "the red car", "zebra", "a car"};
  WordVocabStats st;
  const Strings v = build_word_vocab(captions, 1, &st);
  EXPECT_EQ(v, (Strings{"<pad>", "<unk>", "<start>", "<end>", "car", "a", "red", "blue", "the", "zebra"}));
  EXPECT_EQ(st.captions, 5);
  EXPECT_EQ(st.words, 12);
  EXPECT_EQ(st.distinct, 6);
  EXPECT_EQ(st.kept, 6);
  EXPECT_EQ(build_word_vocab(captions, 2), (Strings{"<pad>", "<unk>", "<start>", "<end>", "car", "a", "red"}));
  EXPECT_EQ(build_word_vocab(captions, 100), (Strings{"<pad>", "<unk>", "<start>", "<end>"}));
  EXPECT_THROW(build_word_vocab(captions, 0), mm::Error);
  try {
    build_word_vocab({"fine", "bad\xc3"}, 1);
    ADD_FAILURE() << "no error";
  } catch (const mm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("caption 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("byte offset 3"), std::string::npos) << e.what();
  }
}

TEST(WordVocab, RoundTripAndEncode) {
  const std::string path = temp_path("word_vocab.txt");
  write_vocab_txt(build_word_vocab({"a red car", "a blue car", "red"}, 1), path);
  WordTokenizer tok(path);
  EXPECT_EQ(tok.vocab_size(), 8);
  EXPECT_EQ(tok.special_ids().pad, 0);
  EXPECT_EQ(tok.special_ids().unk, 1);
  // <start> a red bicycle(<unk>) car <end> <pad>...
  const Encoding e = tok.encode("A red bicycle, car!", 8);
  EXPECT_EQ(e.tokens, (Strings{"<start>", "a", "red", "<unk>", "car", "<end>", "<pad>", "<pad>"}));
  // Built in a loop: g++ 12.2 at -O3 with AVX-512 (-march=native here) miscompiles the 64-byte literal
  // std::vector<int64_t>{1, 1, 1, 1, 1, 1, 0, 0} into eight ones (SLP vectorisation drops the zeros).
  std::vector<int64_t> want_mask(8, 1);
  want_mask[6] = want_mask[7] = 0;
  EXPECT_EQ(e.attention_mask, want_mask);
  EXPECT_EQ(tok.encode("a red car blue", 4).tokens, (Strings{"<start>", "a", "red", "<end>"}));
  EXPECT_EQ(tok.encode("").tokens, (Strings{"<start>", "<end>"}));
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "<pad>");
  // A vocab.txt without the special tokens is refused.
  EXPECT_THROW(WordTokenizer(write_file("bad_word_vocab.txt", "<pad>\n<unk>\nfoo\n")), mm::Error);
}

TEST(WordVocab, CaptionsFiles) {
  EXPECT_EQ(read_captions_file(write_file("caps.txt", "a cat\r\n\nthe dog\nlast")), (Strings{"a cat", "the dog", "last"}));
  const std::string csv =
      "filename,caption\n"
      "1.png,a cat\n"
      "2.png,\"a dog, brown\"\r\n"
      "3.png,\"she said \"\"hi\"\"\nand left\"\n"
      "\n"
      "4.png,\n";
  EXPECT_EQ(read_captions_file(write_file("caps.csv", csv)),
            (Strings{"a cat", "a dog, brown", "she said \"hi\"\nand left", ""}));
  auto expect_error = [](const std::string& content, const std::string& want) {
    try {
      read_captions_file(write_file("bad.csv", content));
      ADD_FAILURE() << "no error for " << want;
    } catch (const mm::Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  expect_error("filename,caption\n1.png,ok\n2.png,\"open\n", "bad.csv:3: a quoted field is not closed");
  expect_error("filename,caption\n1.png,a,b\n", "bad.csv:2: expected 2 fields");
  expect_error("filename,caption\n1.png,a \"b\"\n", "bad.csv:2: a quote inside an unquoted field");
  expect_error("filename,caption\n1.png,\"a\nb\"\n2.png,x\xff\n", "bad.csv:4: the caption is not valid UTF-8");
  expect_error("one\ntwo \xfe\n", "bad.csv:2: invalid UTF-8");
  EXPECT_THROW(read_captions_file("/nonexistent/captions.csv"), mm::Error);
}

}  // namespace
