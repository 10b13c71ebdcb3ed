// BERT WordPiece: transformers' BertTokenizer (slow, uncased: do_lower_case=True) from a vocab.txt.
//
// The pipeline, in Hugging Face's order:
//   1. special tokens ([CLS], [SEP], [PAD], [UNK], [MASK] when in the vocabulary) written in the
//      text, in exact case, are cut out and kept whole;
//   2. each other piece: control characters, U+0000 and U+FFFD removed; whitespace separates words;
//      CJK ideographs become words of their own;
//   3. each word is lowercased (Python str.lower()), decomposed (NFD) and stripped of its Mn marks,
//      then split at punctuation (ASCII punctuation and category P*);
//   4. each piece is split by greedy longest-match-first WordPiece with "##" continuations; a piece
//      of more than 100 code points, or one with no match, becomes [UNK].
// Unicode facts come from tables generated from Python's unicodedata (data/tokenizers/unicode.h).
#pragma once

#include "data/tokenizers/tokenizer.h"

namespace mm::data {

class WordPieceTokenizer : public Tokenizer {
 public:
  explicit WordPieceTokenizer(const std::string& vocab_txt, int64_t max_input_chars_per_word = 100);
  TokenizerKind kind() const override { return TokenizerKind::WordPiece; }
  std::vector<int64_t> tokenize(std::string_view text) const override;

  // Steps 2-3 alone (BasicTokenizer.tokenize): the words WordPiece receives, as UTF-8.
  std::vector<std::string> basic_tokenize(std::string_view text) const;

 private:
  template <typename F>
  void basic_words(std::u32string_view text, F&& on_word) const;
  void wordpiece(std::u32string_view word, std::vector<int64_t>& out) const;

  int64_t max_chars_;
  TokenMap continuation_;  // the "##" tokens, keyed without their "##"
  size_t max_initial_bytes_ = 0, max_continuation_bytes_ = 0;
  std::vector<SpecialToken> specials_;
};

}  // namespace mm::data
