// Tokenizer: begin/end, truncation, padding, batching; vocab.txt reading; special-token splitting;
// the factory.
#include "data/tokenizers/tokenizer.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "data/tokenizers/bpe.h"
#include "data/tokenizers/unicode.h"
#include "data/tokenizers/word_vocab.h"
#include "data/tokenizers/wordpiece.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace mm::data {

const char* tokenizer_kind_name(TokenizerKind k) {
  switch (k) {
    case TokenizerKind::WordPiece: return "wordpiece";
    case TokenizerKind::BPE: return "bpe";
    case TokenizerKind::Word: return "word";
  }
  return "?";
}

Encoding Tokenizer::encode(std::string_view text, int64_t max_length) const {
  MM_CHECK(max_length == 0 || max_length >= 2, Value, "tokenize",
           "max_length must be 0 (no truncation or padding) or at least 2 (room for the begin and end tokens), got ",
           max_length);
  std::vector<int64_t> body = tokenize(text);
  if (max_length > 0 && static_cast<int64_t>(body.size()) > max_length - 2) body.resize(max_length - 2);
  Encoding e;
  const size_t n = body.size() + 2;
  const size_t total = max_length > 0 ? static_cast<size_t>(max_length) : n;
  e.ids.reserve(total);
  e.ids.push_back(special_.begin);
  e.ids.insert(e.ids.end(), body.begin(), body.end());
  e.ids.push_back(special_.end);
  e.attention_mask.assign(n, 1);
  e.ids.resize(total, special_.pad);
  e.attention_mask.resize(total, 0);
  e.tokens.reserve(total);
  for (int64_t id : e.ids) e.tokens.push_back(id_to_token(id));
  return e;
}

BatchEncoding Tokenizer::encode_batch(const std::vector<std::string>& texts, int64_t max_length) const {
  MM_CHECK(max_length == 0 || max_length >= 2, Value, "tokenize",
           "max_length must be 0 (pad to the longest) or at least 2, got ", max_length);
  const int64_t n = static_cast<int64_t>(texts.size());
  std::vector<std::vector<int64_t>> bodies(texts.size());
  // An exception must not leave an OpenMP region: each text records its own, the first is rethrown.
  std::vector<std::string> errors(texts.size());
  parallel_for(0, n, 64, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      try {
        bodies[i] = tokenize(texts[i]);
      } catch (const std::exception& ex) {
        errors[i] = ex.what();
      }
    }
  });
  for (int64_t i = 0; i < n; ++i)
    MM_CHECK(errors[i].empty(), Value, "tokenize", "text ", i, ": ", errors[i]);
  int64_t t = max_length;
  if (t == 0) {
    t = 2;
    for (const auto& b : bodies) t = std::max(t, static_cast<int64_t>(b.size()) + 2);
  }
  std::vector<int64_t> ids(static_cast<size_t>(n * t), special_.pad), mask(static_cast<size_t>(n * t), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t* row = ids.data() + i * t;
    const int64_t len = std::min<int64_t>(static_cast<int64_t>(bodies[i].size()), t - 2);
    row[0] = special_.begin;
    std::copy(bodies[i].begin(), bodies[i].begin() + len, row + 1);
    row[len + 1] = special_.end;
    std::fill(mask.begin() + i * t, mask.begin() + i * t + len + 2, 1);
  }
  return {Tensor::from_vector(ids, {n, t}), Tensor::from_vector(mask, {n, t})};
}

const std::string& Tokenizer::id_to_token(int64_t id) const {
  MM_CHECK(id >= 0 && id < vocab_size(), Index, "tokenize", "token id ", id, " outside the vocabulary [0, ",
           vocab_size(), ")");
  return id_to_token_[static_cast<size_t>(id)];
}

int64_t Tokenizer::token_to_id(std::string_view token) const {
  auto it = token_to_id_.find(token);
  return it == token_to_id_.end() ? -1 : it->second;
}

void Tokenizer::set_vocabulary(std::vector<std::string> id_to_token) {
  id_to_token_ = std::move(id_to_token);
  token_to_id_.clear();
  token_to_id_.reserve(id_to_token_.size());
  for (size_t i = 0; i < id_to_token_.size(); ++i) token_to_id_.emplace(id_to_token_[i], static_cast<int64_t>(i));
}

int64_t Tokenizer::require_token(const std::string& token, const std::string& file) const {
  const int64_t id = token_to_id(token);
  MM_CHECK(id >= 0, Value, "tokenizer", file, ": the special token '", token, "' is missing from the vocabulary");
  return id;
}

std::vector<std::string> read_vocab_txt(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MM_CHECK(in.good(), Runtime, "tokenizer", "cannot open vocabulary file '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  std::vector<std::string> tokens;
  std::unordered_map<std::string_view, size_t> first_line;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    std::string_view line(data.data() + pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t lineno = tokens.size() + 1;
    MM_CHECK(!line.empty(), Value, "tokenizer", path, ":", lineno,
             ": empty line (each line is one token and its line number is its id)");
    std::string why;
    const int64_t bad = unicode::find_invalid_utf8(line, &why);
    MM_CHECK(bad < 0, Value, "tokenizer", path, ":", lineno, ": invalid UTF-8 at byte ", bad, " of the line: ", why);
    auto [it, fresh] = first_line.emplace(line, lineno);
    MM_CHECK(fresh, Value, "tokenizer", path, ":", lineno, ": duplicate token '", line, "' (first on line ",
             it->second, ")");
    tokens.emplace_back(line);
    pos = nl + 1;
  }
  MM_CHECK(!tokens.empty(), Value, "tokenizer", path, ": the vocabulary file is empty");
  return tokens;
}

namespace {

// Byte length of s once Python's str.rstrip() has removed trailing whitespace.
size_t rstrip_python_whitespace(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;  // back to the lead byte of the last character
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    const std::u32string c = unicode::decode_utf8(s.substr(start, end - start));
    if (c.size() != 1 || !(unicode::bert_flags(c[0]) & unicode::kPySpace)) break;
    end = start;
  }
  return end;
}

}  // namespace

std::vector<TextPiece> split_special_tokens(std::string_view text, const std::vector<SpecialToken>& specials) {
  std::vector<TextPiece> pieces;
  bool starts[256] = {};  // first bytes of the special tokens: most positions are rejected by one load
  for (const auto& s : specials)
    if (!s.text.empty()) starts[static_cast<unsigned char>(s.text[0])] = true;
  size_t plain_start = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!starts[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    const SpecialToken* best = nullptr;
    for (const auto& s : specials)
      if (!s.text.empty() && text.compare(i, s.text.size(), s.text) == 0 && (!best || s.text.size() > best->text.size()))
        best = &s;
    if (!best) {
      ++i;
      continue;
    }
    std::string_view plain = text.substr(plain_start, i - plain_start);
    if (best->lstrip) plain = plain.substr(0, rstrip_python_whitespace(plain));
    if (!plain.empty()) pieces.push_back({plain, -1});
    pieces.push_back({text.substr(i, best->text.size()), best->id});
    i += best->text.size();
    plain_start = i;
  }
  if (plain_start < text.size()) pieces.push_back({text.substr(plain_start), -1});
  return pieces;
}

std::unique_ptr<Tokenizer> make_tokenizer(std::string_view kind, const std::string& vocab_path,
                                          const std::string& merges_path) {
  MM_CHECK(!vocab_path.empty(), Value, "tokenizer", "no vocabulary file given");
  if (kind == "bpe") {
    MM_CHECK(!merges_path.empty(), Value, "tokenizer", "the byte-level BPE tokenizer needs a merges.txt");
    return std::make_unique<BpeTokenizer>(vocab_path, merges_path);
  }
  MM_CHECK(merges_path.empty(), Value, "tokenizer", "a merges file is only used by the 'bpe' tokenizer, not '",
           kind, "'");
  if (kind == "wordpiece") return std::make_unique<WordPieceTokenizer>(vocab_path);
  if (kind == "word") return std::make_unique<WordTokenizer>(vocab_path);
  fail(ErrorKind::Value, "tokenizer", "unknown tokenizer '", kind, "' (known: wordpiece, bpe, word)");
}

}  // namespace mm::data
