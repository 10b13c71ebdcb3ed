// Byte-level BPE: transformers' RobertaTokenizer (slow; add_prefix_space=False) from vocab.json +
// merges.txt.
//
//   1. special tokens (<s>, </s>, <unk>, <pad>, and <mask> when in the vocabulary; <mask> also eats
//      the whitespace before it) written in the text are cut out and kept whole;
//   2. each other piece is split by the GPT-2 pattern
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      (matched by hand; the classes are those of the `regex` module, see unicode.h);
//   3. each pre-token's UTF-8 bytes are mapped to printable characters (GPT-2's bytes_to_unicode)
//      and merged pairwise, lowest merge rank first; a symbol missing from vocab.json is <unk>.
// Pre-tokens are cached (bounded; shared by the threads of encode_batch).
#pragma once

#include <mutex>
#include <unordered_map>

#include "data/tokenizers/tokenizer.h"

namespace mm::data {

// The GPT-2 pre-tokenization of text: [begin, end) code point ranges, in order, covering it.
std::vector<std::pair<size_t, size_t>> gpt2_pretokenize(std::u32string_view text);

// bytes_to_unicode(): the printable character that stands for each byte.
char32_t gpt2_byte_to_unicode(uint8_t b);

class BpeTokenizer : public Tokenizer {
 public:
  // vocab.json: a JSON object token → id (ids 0..n-1, each once). merges.txt: an optional first line
  // "#version: ..." then one merge "a b" per line, highest priority first; blank lines are skipped.
  // Every merge's a, b and ab must be in vocab.json (as the `tokenizers` library requires).
  BpeTokenizer(const std::string& vocab_json, const std::string& merges_txt);
  TokenizerKind kind() const override { return TokenizerKind::BPE; }
  std::vector<int64_t> tokenize(std::string_view text) const override;

  int64_t num_merges() const { return static_cast<int64_t>(merges_.size()); }

 private:
  void bpe(std::string_view pretoken, std::vector<int64_t>& out) const;
  void load_merges(const std::string& path);

  struct Merge {
    int32_t rank;
    int64_t merged;
  };
  std::unordered_map<uint64_t, Merge> merges_;  // key: left id << 32 | right id
  int64_t byte_id_[256];                        // vocabulary id of each byte's character, or -1
  std::vector<SpecialToken> specials_;

  static constexpr size_t kCacheLimit = 1 << 16;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace mm::data
