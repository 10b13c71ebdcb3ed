// The common interface of the text tokenizers (SPEC §6): BERT WordPiece, byte-level BPE (RoBERTa /
// GPT-2) and the word-level vocabulary of the CMPM setup. A tokenizer turns a UTF-8 caption into
// token ids; encode() adds the begin/end tokens ([CLS]/[SEP], <s>/</s>, <start>/<end>), truncates
// and pads; encode_batch() gives the model inputs input_ids [N,T] and attention_mask [N,T] (i64).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/tensor.h"

namespace mm::data {

struct Encoding {
  std::vector<int64_t> ids;             // begin, tokens, end, then padding
  std::vector<int64_t> attention_mask;  // 1 for begin/tokens/end, 0 for padding
  std::vector<std::string> tokens;      // the vocabulary string of each id
};

struct BatchEncoding {
  Tensor input_ids;       // [N, T] i64
  Tensor attention_mask;  // [N, T] i64
};

enum class TokenizerKind { WordPiece, BPE, Word };
const char* tokenizer_kind_name(TokenizerKind k);

// Ids of the tokens encode() adds.
struct SpecialIds {
  int64_t begin = -1, end = -1, pad = -1, unk = -1;
};

// std::string keys looked up by std::string_view without building a string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual TokenizerKind kind() const = 0;

  // The ids of the caption's tokens, without begin/end. Invalid UTF-8 throws mm::Error (Value)
  // naming the byte offset.
  virtual std::vector<int64_t> tokenize(std::string_view text) const = 0;

  // begin + tokens + end. max_length > 0: the tokens are cut so that the result has at most
  // max_length ids (the end token is kept, as Hugging Face's truncation=True does), then padded
  // to exactly max_length; max_length == 0: neither truncated nor padded. max_length must be 0 or
  // >= 2 (room for begin and end).
  Encoding encode(std::string_view text, int64_t max_length = 0) const;

  // Each text as encode(); max_length == 0 pads to the longest. Texts are encoded in parallel
  // (runtime threads); an error names the index of the first failing text.
  BatchEncoding encode_batch(const std::vector<std::string>& texts, int64_t max_length = 0) const;

  int64_t vocab_size() const { return static_cast<int64_t>(id_to_token_.size()); }
  const std::string& id_to_token(int64_t id) const;
  // -1 when the token is not in the vocabulary.
  int64_t token_to_id(std::string_view token) const;
  const SpecialIds& special_ids() const { return special_; }

 protected:
  // Fills the vocabulary from id → token (ids 0..n-1, every one present).
  void set_vocabulary(std::vector<std::string> id_to_token);
  // The id of a special token the format requires; an error names the file when it is missing.
  int64_t require_token(const std::string& token, const std::string& file) const;

  std::vector<std::string> id_to_token_;
  TokenMap token_to_id_;
  SpecialIds special_;
};

// kind: "wordpiece" (vocab.txt), "bpe" (vocab.json + merges.txt), "word" (a vocab.txt written by
// `mmalign vocab build`). merges_path is required for "bpe" and refused for the others.
std::unique_ptr<Tokenizer> make_tokenizer(std::string_view kind, const std::string& vocab_path,
                                          const std::string& merges_path = "");

// ---- helpers shared by the tokenizer implementations --------------------------------------------

// Reads a vocab.txt: one token per line, id = line number (0-based); a final newline does not start
// another token; a trailing '\r' is dropped (CRLF files). Errors name file:line and the reason: a
// missing file, an empty line, invalid UTF-8, a duplicate token (with the line of its first use).
std::vector<std::string> read_vocab_txt(const std::string& path);

// A special token that must be matched in the raw text and kept whole (Hugging Face "added tokens").
struct SpecialToken {
  std::string text;
  int64_t id;
  bool lstrip = false;  // swallows the Python whitespace on its left (RoBERTa's <mask>)
};
// One piece of a text split at special tokens: either a special token (id >= 0) or plain text.
struct TextPiece {
  std::string_view text;
  int64_t special_id = -1;
};
// Splits text at the leftmost-longest occurrences of the special tokens, as transformers'
// tokens_trie.split; applies lstrip; drops empty plain pieces.
std::vector<TextPiece> split_special_tokens(std::string_view text, const std::vector<SpecialToken>& specials);

}  // namespace mm::data
