// The word-level vocabulary of the CMPM setup (seed 004; SPEC §6): captions are lowercased (Python
// str.lower()), every punctuation character (ASCII punctuation or category P*) becomes a space,
// control characters are dropped, and the text is split at whitespace. `mmalign vocab build` keeps
// the words seen at least min_count times in the training captions.
//
// vocab.txt: one token per line, id = line number: <pad> (0), <unk> (1), <start> (2), <end> (3),
// then the words by decreasing count, ties in byte order. Encoding wraps a caption in
// <start> ... <end>; a word not in the vocabulary is <unk>.
#pragma once

#include "data/tokenizers/tokenizer.h"

namespace mm::data {

// The words of a caption after lowercasing and punctuation stripping. Invalid UTF-8 throws.
std::vector<std::string> caption_words(std::string_view caption);

struct WordVocabStats {
  int64_t captions = 0, words = 0, distinct = 0, kept = 0;
};
// The vocabulary (special tokens first) of the captions; min_count >= 1. Invalid UTF-8 in caption
// i throws an error naming i and the byte offset.
std::vector<std::string> build_word_vocab(const std::vector<std::string>& captions, int64_t min_count,
                                          WordVocabStats* stats = nullptr);
// Writes one token per line (each ends with '\n').
void write_vocab_txt(const std::vector<std::string>& tokens, const std::string& path);

class WordTokenizer : public Tokenizer {
 public:
  explicit WordTokenizer(const std::string& vocab_txt);
  explicit WordTokenizer(std::vector<std::string> tokens, const std::string& origin = "<memory>");
  TokenizerKind kind() const override { return TokenizerKind::Word; }
  std::vector<int64_t> tokenize(std::string_view text) const override;
};

// Captions from a file: a captions.csv (first line exactly "filename,caption"; RFC 4180 quoting,
// so a quoted caption may hold commas, doubled quotes and newlines) or else plain text with one
// caption per line (a trailing '\r' dropped; empty lines skipped). Errors name file:line.
std::vector<std::string> read_captions_file(const std::string& path);

}  // namespace mm::data
