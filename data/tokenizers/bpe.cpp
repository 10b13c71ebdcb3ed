// Byte-level BPE (see bpe.h). The reference is transformers 4.39.3's tokenization_roberta.py.
#include "data/tokenizers/bpe.h"

#include <climits>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/tokenizers/unicode.h"
#include "runtime/error.h"

namespace mm::data {

namespace {

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  MM_CHECK(in.good(), Runtime, "tokenizer", "cannot open ", what, " '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// 1-based line of byte offset `pos` in text.
size_t line_of(std::string_view text, size_t pos) {
  pos = std::min(pos, text.size());
  size_t line = 1;
  for (size_t i = 0; i < pos; ++i) line += text[i] == '\n';
  return line;
}

// A char iterator that publishes how far nlohmann's lexer has read, so that errors raised from
// SAX callbacks (duplicate token, bad id) can name a line.
struct CountingIterator {
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;
  const char* p = nullptr;
  const char* base = nullptr;
  size_t* pos = nullptr;
  reference operator*() const { return *p; }
  CountingIterator& operator++() {
    ++p;
    if (pos) *pos = static_cast<size_t>(p - base);
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const CountingIterator& o) const { return p == o.p; }
  bool operator!=(const CountingIterator& o) const { return p != o.p; }
};

// SAX handler for vocab.json: exactly one flat object of token → non-negative integer id.
struct VocabSax {
  const std::string& path;
  std::string_view text;
  const size_t* pos;
  std::vector<std::pair<std::string, size_t>> entries;  // token, line
  std::vector<uint64_t> ids;
  std::unordered_map<std::string, size_t> key_line;
  int depth = 0;
  std::string key_;

  [[noreturn]] void bad(const std::string& why) const {
    fail(ErrorKind::Value, "tokenizer", path, ":", line_of(text, *pos), ": ", why);
  }
  bool value_kind(const char* kind) {
    if (depth != 1) bad(std::string("expected a JSON object of token -> id, found a ") + kind);
    bad("the id of token '" + key_ + "' is a " + kind + ", not a non-negative integer");
  }
  bool null() { return value_kind("null"); }
  bool boolean(bool) { return value_kind("boolean"); }
  bool number_float(double, const std::string&) { return value_kind("fraction"); }
  bool string(std::string&) { return value_kind("string"); }
  bool binary(std::vector<uint8_t>&) { return value_kind("binary value"); }
  bool number_integer(int64_t v) {
    if (v < 0) {
      if (depth != 1) value_kind("number");
      bad("the id of token '" + key_ + "' is negative (" + std::to_string(v) + ")");
    }
    return number_unsigned(static_cast<uint64_t>(v));
  }
  bool number_unsigned(uint64_t v) {
    if (depth != 1) value_kind("number");
    ids.push_back(v);
    return true;
  }
  bool start_object(size_t) {
    if (depth != 0) bad("the value of token '" + key_ + "' is an object, not an integer id");
    depth = 1;
    return true;
  }
  bool end_object() {
    depth = 0;
    return true;
  }
  bool start_array(size_t) { return value_kind("array"); }
  bool end_array() { return true; }
  bool key(std::string& k) {
    const size_t line = line_of(text, *pos);
    auto [it, fresh] = key_line.emplace(k, line);
    if (!fresh) bad("duplicate token '" + k + "' (first on line " + std::to_string(it->second) + ")");
    key_ = k;
    entries.emplace_back(k, line);
    return true;
  }
  bool parse_error(size_t position, const std::string&, const nlohmann::detail::exception& e) {
    fail(ErrorKind::Value, "tokenizer", path, ":", line_of(text, position > 0 ? position - 1 : 0),
         ": not valid JSON: ", e.what());
  }
};

std::vector<std::string> read_vocab_json(const std::string& path) {
  const std::string text = read_file(path, "vocab.json");
  size_t pos = 0;
  VocabSax sax{path, text, &pos, {}, {}, {}, 0, {}};
  CountingIterator first{text.data(), text.data(), &pos}, last{text.data() + text.size(), text.data(), nullptr};
  nlohmann::json::sax_parse(first, last, &sax);
  MM_CHECK(!sax.entries.empty(), Value, "tokenizer", path, ": the vocabulary is empty");
  const size_t n = sax.entries.size();
  std::vector<std::string> id_to_token(n);
  std::vector<size_t> id_line(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const auto& [token, line] = sax.entries[i];
    const uint64_t id = sax.ids[i];
    MM_CHECK(id < n, Value, "tokenizer", path, ":", line, ": token '", token, "' has id ", id, ", but ", n,
             " tokens need ids 0..", n - 1);
    MM_CHECK(id_line[id] == 0, Value, "tokenizer", path, ":", line, ": id ", id, " of token '", token,
             "' is already used by '", id_to_token[id], "' (line ", id_line[id], ")");
    id_to_token[id] = token;
    id_line[id] = line;
  }
  return id_to_token;
}

bool is_letter(char32_t c) { return unicode::bpe_class(c) & unicode::kLetter; }
bool is_number(char32_t c) { return unicode::bpe_class(c) & unicode::kNumber; }
bool is_space(char32_t c) { return unicode::bpe_class(c) & unicode::kSpace; }
bool is_other(char32_t c) { return unicode::bpe_class(c) == 0; }

}  // namespace

char32_t gpt2_byte_to_unicode(uint8_t b) {
  // Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes
  // take 256, 257, ... in byte order.
  auto printable = [](int x) { return (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF); };
  if (printable(b)) return b;
  char32_t n = 0;
  for (int x = 0; x < b; ++x) n += !printable(x);
  return 256 + n;
}

std::vector<std::pair<size_t, size_t>> gpt2_pretokenize(std::u32string_view t) {
  std::vector<std::pair<size_t, size_t>> out;
  const size_t n = t.size();
  size_t i = 0;
  auto run = [&](size_t from, bool (*cls)(char32_t)) {
    while (from < n && cls(t[from])) ++from;
    return from;
  };
  while (i < n) {
    const char32_t c = t[i];
    // 's|'t|'re|'ve|'m|'ll|'d (lowercase only, like the pattern)
    if (c == U'\'' && i + 1 < n) {
      const char32_t d = t[i + 1];
      if (d == U's' || d == U't' || d == U'm' || d == U'd') {
        out.emplace_back(i, i + 2);
        i += 2;
        continue;
      }
      if (i + 2 < n && ((d == U'r' && t[i + 2] == U'e') || (d == U'v' && t[i + 2] == U'e') ||
                        (d == U'l' && t[i + 2] == U'l'))) {
        out.emplace_back(i, i + 3);
        i += 3;
        continue;
      }
    }
    //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+ : the optional space is U+0020 only, tried first.
    bool matched = false;
    for (bool (*cls)(char32_t) : {is_letter, is_number, is_other}) {
      size_t from = i;
      if (c == U' ' && i + 1 < n && cls(t[i + 1])) from = i + 1;
      if (!cls(t[from])) continue;
      const size_t end = run(from, cls);
      out.emplace_back(i, end);
      i = end;
      matched = true;
      break;
    }
    if (matched) continue;
    // \s+(?!\S) | \s+ : a whitespace run leaves its last character to the next token (which then
    // starts with it) unless the run ends the text; a single whitespace before a non-space stands alone.
    const size_t end = run(i, is_space);
    MM_INTERNAL_ASSERT(end > i);  // every code point is letter, number, whitespace or other
    const size_t stop = end == n ? n : (end - i >= 2 ? end - 1 : end);
    out.emplace_back(i, stop);
    i = stop;
  }
  return out;
}

BpeTokenizer::BpeTokenizer(const std::string& vocab_json, const std::string& merges_txt) {
  set_vocabulary(read_vocab_json(vocab_json));
  special_.begin = require_token("<s>", vocab_json);
  special_.end = require_token("</s>", vocab_json);
  special_.pad = require_token("<pad>", vocab_json);
  special_.unk = require_token("<unk>", vocab_json);
  for (const char* s : {"<s>", "</s>", "<unk>", "<pad>", "<mask>"})
    if (int64_t id = token_to_id(s); id >= 0) specials_.push_back({s, id, std::string_view(s) == "<mask>"});
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    unicode::append_utf8(gpt2_byte_to_unicode(static_cast<uint8_t>(b)), ch);
    byte_id_[b] = token_to_id(ch);
  }
  load_merges(merges_txt);
}

void BpeTokenizer::load_merges(const std::string& path) {
  const std::string text = read_file(path, "merges.txt");
  std::unordered_map<uint64_t, size_t> merge_line;
  size_t pos = 0, line = 0;
  int32_t rank = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view l(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (line == 1 && l.rfind("#version", 0) == 0) continue;  // the header the tokenizers library writes
    if (l.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::string why;
    const int64_t bad = unicode::find_invalid_utf8(l, &why);
    MM_CHECK(bad < 0, Value, "tokenizer", path, ":", line, ": invalid UTF-8 at byte ", bad, " of the line: ", why);
    std::vector<std::string_view> parts;
    for (size_t i = 0; i < l.size();) {
      while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
      size_t j = i;
      while (j < l.size() && l[j] != ' ' && l[j] != '\t') ++j;
      if (j > i) parts.push_back(l.substr(i, j - i));
      i = j;
    }
    MM_CHECK(parts.size() == 2, Value, "tokenizer", path, ":", line, ": expected two symbols separated by a space, found ",
             parts.size(), " in '", l, "'");
    const int64_t a = token_to_id(parts[0]), b = token_to_id(parts[1]);
    const std::string joined = std::string(parts[0]) + std::string(parts[1]);
    const int64_t ab = token_to_id(joined);
    for (auto [id, sym] : {std::pair{a, std::string(parts[0])}, std::pair{b, std::string(parts[1])}, std::pair{ab, joined}})
      MM_CHECK(id >= 0, Value, "tokenizer", path, ":", line, ": merge '", parts[0], " ", parts[1], "' uses '", sym,
               "', which is not in the vocabulary");
    const uint64_t key = static_cast<uint64_t>(a) << 32 | static_cast<uint64_t>(b);
    auto [it, fresh] = merge_line.emplace(key, line);
    MM_CHECK(fresh, Value, "tokenizer", path, ":", line, ": duplicate merge '", parts[0], " ", parts[1],
             "' (first on line ", it->second, ")");
    merges_.emplace(key, Merge{rank++, ab});
  }
}

// RobertaTokenizer.bpe: repeatedly merge every occurrence (left to right) of the adjacent pair
// with the lowest rank until no adjacent pair has one.
void BpeTokenizer::bpe(std::string_view pretoken, std::vector<int64_t>& out) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(pretoken);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int64_t> sym(pretoken.size()), next;
  for (size_t i = 0; i < pretoken.size(); ++i) sym[i] = byte_id_[static_cast<uint8_t>(pretoken[i])];
  while (sym.size() > 1) {
    int32_t best = INT32_MAX;
    const Merge* merge = nullptr;
    int64_t left = -1, right = -1;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      if (sym[i] < 0 || sym[i + 1] < 0) continue;  // a symbol missing from the vocabulary never merges
      auto it = merges_.find(static_cast<uint64_t>(sym[i]) << 32 | static_cast<uint64_t>(sym[i + 1]));
      if (it != merges_.end() && it->second.rank < best) {
        best = it->second.rank;
        merge = &it->second;
        left = sym[i];
        right = sym[i + 1];
      }
    }
    if (!merge) break;
    next.clear();
    for (size_t i = 0; i < sym.size(); ++i) {
      if (i + 1 < sym.size() && sym[i] == left && sym[i + 1] == right) {
        next.push_back(merge->merged);
        ++i;
      } else {
        next.push_back(sym[i]);
      }
    }
    sym.swap(next);
  }
  for (int64_t& s : sym)
    if (s < 0) s = special_.unk;
  out.insert(out.end(), sym.begin(), sym.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kCacheLimit) cache_.clear();  // bounded memory on endless distinct text
  cache_.emplace(std::string(pretoken), std::move(sym));
}

std::vector<int64_t> BpeTokenizer::tokenize(std::string_view text) const {
  std::string why;
  const int64_t bad = unicode::find_invalid_utf8(text, &why);
  MM_CHECK(bad < 0, Value, "tokenize", "invalid UTF-8 at byte offset ", bad, ": ", why);
  std::vector<int64_t> ids;
  std::vector<size_t> offsets;
  for (const TextPiece& piece : split_special_tokens(text, specials_)) {
    if (piece.special_id >= 0) {
      ids.push_back(piece.special_id);
      continue;
    }
    const std::u32string cps = unicode::decode_utf8(piece.text);
    // Byte offset of each code point within the piece: pre-tokens are cut from the UTF-8 bytes.
    offsets.clear();
    for (size_t b = 0; b < piece.text.size(); ++b)
      if ((static_cast<unsigned char>(piece.text[b]) & 0xC0) != 0x80) offsets.push_back(b);
    offsets.push_back(piece.text.size());
    for (auto [b, e] : gpt2_pretokenize(cps)) bpe(piece.text.substr(offsets[b], offsets[e] - offsets[b]), ids);
  }
  return ids;
}

}  // namespace mm::data
