// BERT WordPiece (see wordpiece.h for the pipeline). The reference is transformers 4.39.3's
// tokenization_bert.py and PreTrainedTokenizer.tokenize; comments name the Python step each part
// reproduces.
#include "data/tokenizers/wordpiece.h"

#include "data/tokenizers/unicode.h"
#include "runtime/error.h"

namespace mm::data {

WordPieceTokenizer::WordPieceTokenizer(const std::string& vocab_txt, int64_t max_input_chars_per_word)
    : max_chars_(max_input_chars_per_word) {
  set_vocabulary(read_vocab_txt(vocab_txt));
  special_.begin = require_token("[CLS]", vocab_txt);
  special_.end = require_token("[SEP]", vocab_txt);
  special_.pad = require_token("[PAD]", vocab_txt);
  special_.unk = require_token("[UNK]", vocab_txt);
  for (const char* s : {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"})
    if (int64_t id = token_to_id(s); id >= 0) specials_.push_back({s, id, false});
  for (size_t i = 0; i < id_to_token_.size(); ++i) {
    const std::string& t = id_to_token_[i];
    max_initial_bytes_ = std::max(max_initial_bytes_, t.size());
    if (t.size() > 2 && t.compare(0, 2, "##") == 0) {
      continuation_.emplace(t.substr(2), static_cast<int64_t>(i));
      max_continuation_bytes_ = std::max(max_continuation_bytes_, t.size() - 2);
    }
  }
}

// BasicTokenizer.tokenize on one piece without special tokens, calling on_word(word) for each
// word it outputs (code points, lowercased, accents stripped, punctuation split off).
//
// Python lowercases twice (tokenize()'s per-character pre-pass, then per whitespace token) and runs
// NFC before the second lower(); tools/unicode_tables.py asserts that this equals mapping each code
// point through NFD(lower(lower(c))) and putting the marks of each word in canonical order, which
// is what this does.
template <typename F>
void WordPieceTokenizer::basic_words(std::u32string_view text, F&& on_word) const {
  std::u32string word;
  auto flush = [&] {
    if (word.empty()) return;
    // _run_strip_accents: NFD's canonical ordering, then drop Mn.
    bool marks = false;
    for (char32_t c : word) marks |= c >= 0x300 && unicode::combining_class(c) != 0;
    if (marks) unicode::canonical_order(word);
    size_t n = 0;
    for (char32_t c : word)
      if (c < 0x300 || !(unicode::bert_flags(c) & unicode::kMn)) word[n++] = c;
    word.resize(n);
    // _run_split_on_punc: each punctuation character is a word of its own.
    size_t start = 0;
    for (size_t i = 0; i < word.size(); ++i) {
      if (unicode::bert_flags(word[i]) & unicode::kPunct) {
        if (i > start) on_word(std::u32string_view(word).substr(start, i - start));
        on_word(std::u32string_view(word).substr(i, 1));
        start = i + 1;
      }
    }
    if (start < word.size()) on_word(std::u32string_view(word).substr(start));
    word.clear();
  };
  for (char32_t c : text) {
    const uint8_t f = unicode::bert_flags(c);
    if (f & unicode::kRemoved) continue;  // _clean_text
    if (f & unicode::kBoundary) {          // _clean_text's " " and whitespace_tokenize's split()
      flush();
      continue;
    }
    if (c >= 0x3400 && unicode::is_cjk(c)) {  // _tokenize_chinese_chars
      flush();
      unicode::append_bert_normalized(c, word);
      flush();
      continue;
    }
    unicode::append_bert_normalized(c, word);
  }
  flush();
}

// WordpieceTokenizer.tokenize on one word: greedy longest match, "##" for non-initial pieces.
void WordPieceTokenizer::wordpiece(std::u32string_view word, std::vector<int64_t>& out) const {
  if (static_cast<int64_t>(word.size()) > max_chars_) {
    out.push_back(special_.unk);
    return;
  }
  // UTF-8 of the word and the byte offset of each code point: pieces are looked up as string_views.
  std::string bytes;
  bytes.reserve(word.size() * 2);
  size_t offsets[128];  // word.size() <= max_chars_ checked above; larger limits use the vector
  std::vector<size_t> big;
  size_t* off = offsets;
  if (word.size() + 1 > sizeof offsets / sizeof offsets[0]) {
    big.resize(word.size() + 1);
    off = big.data();
  }
  for (size_t i = 0; i < word.size(); ++i) {
    off[i] = bytes.size();
    unicode::append_utf8(word[i], bytes);
  }
  off[word.size()] = bytes.size();
  const size_t first_out = out.size();
  size_t start = 0;
  while (start < word.size()) {
    const TokenMap& map = start == 0 ? token_to_id_ : continuation_;
    const size_t max_bytes = start == 0 ? max_initial_bytes_ : max_continuation_bytes_;
    size_t end = word.size();
    while (end > start && off[end] - off[start] > max_bytes) --end;  // longer than any token
    int64_t id = -1;
    for (; end > start; --end) {
      auto it = map.find(std::string_view(bytes).substr(off[start], off[end] - off[start]));
      if (it != map.end()) {
        id = it->second;
        break;
      }
    }
    if (id < 0) {  // no piece matches: the whole word is [UNK]
      out.resize(first_out);
      out.push_back(special_.unk);
      return;
    }
    out.push_back(id);
    start = end;
  }
}

std::vector<int64_t> WordPieceTokenizer::tokenize(std::string_view text) const {
  std::string why;
  const int64_t bad = unicode::find_invalid_utf8(text, &why);
  MM_CHECK(bad < 0, Value, "tokenize", "invalid UTF-8 at byte offset ", bad, ": ", why);
  std::vector<int64_t> ids;
  for (const TextPiece& piece : split_special_tokens(text, specials_)) {
    if (piece.special_id >= 0) {
      ids.push_back(piece.special_id);
      continue;
    }
    const std::u32string cps = unicode::decode_utf8(piece.text);
    basic_words(cps, [&](std::u32string_view w) { wordpiece(w, ids); });
  }
  return ids;
}

std::vector<std::string> WordPieceTokenizer::basic_tokenize(std::string_view text) const {
  std::vector<std::string> words;
  basic_words(unicode::decode_utf8(text), [&](std::u32string_view w) { words.push_back(unicode::encode_utf8(w)); });
  return words;
}

}  // namespace mm::data
