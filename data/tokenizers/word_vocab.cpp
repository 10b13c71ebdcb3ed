// Word-level vocabulary (see word_vocab.h).
#include "data/tokenizers/word_vocab.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "data/tokenizers/unicode.h"
#include "runtime/error.h"

namespace mm::data {

std::vector<std::string> caption_words(std::string_view caption) {
  const std::u32string cps = unicode::decode_utf8(caption);
  std::vector<std::string> words;
  std::u32string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(unicode::encode_utf8(word));
    word.clear();
  };
  for (char32_t c : cps) {
    const uint8_t f = unicode::bert_flags(c);
    if (f & unicode::kRemoved) continue;
    if (f & (unicode::kBoundary | unicode::kPySpace | unicode::kPunct)) {
      flush();
      continue;
    }
    unicode::append_lower(c, word);
  }
  flush();
  return words;
}

std::vector<std::string> build_word_vocab(const std::vector<std::string>& captions, int64_t min_count,
                                          WordVocabStats* stats) {
  MM_CHECK(min_count >= 1, Value, "vocab build", "min_count must be at least 1, got ", min_count);
  std::map<std::string, int64_t> counts;  // ordered: ties break in byte order
  int64_t total = 0;
  for (size_t i = 0; i < captions.size(); ++i) {
    std::vector<std::string> words;
    try {
      words = caption_words(captions[i]);
    } catch (const Error& e) {
      fail(ErrorKind::Value, "vocab build", "caption ", i + 1, ": ", e.what());
    }
    for (auto& w : words) ++counts[w];
    total += static_cast<int64_t>(words.size());
  }
  std::vector<std::pair<std::string, int64_t>> kept;
  for (auto& [w, n] : counts)
    if (n >= min_count) kept.emplace_back(w, n);  // no word has '<' or '>': they are punctuation
  std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> vocab = {"<pad>", "<unk>", "<start>", "<end>"};
  for (auto& [w, n] : kept) vocab.push_back(w);
  if (stats) *stats = {static_cast<int64_t>(captions.size()), total, static_cast<int64_t>(counts.size()),
                       static_cast<int64_t>(kept.size())};
  return vocab;
}

void write_vocab_txt(const std::vector<std::string>& tokens, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  MM_CHECK(out.good(), Runtime, "vocab build", "cannot write '", path, "'");
  for (const auto& t : tokens) out << t << '\n';
  out.flush();
  MM_CHECK(out.good(), Runtime, "vocab build", "error while writing '", path, "'");
}

WordTokenizer::WordTokenizer(const std::string& vocab_txt) : WordTokenizer(read_vocab_txt(vocab_txt), vocab_txt) {}

WordTokenizer::WordTokenizer(std::vector<std::string> tokens, const std::string& origin) {
  set_vocabulary(std::move(tokens));
  special_.begin = require_token("<start>", origin);
  special_.end = require_token("<end>", origin);
  special_.pad = require_token("<pad>", origin);
  special_.unk = require_token("<unk>", origin);
}

std::vector<int64_t> WordTokenizer::tokenize(std::string_view text) const {
  std::vector<int64_t> ids;
  for (const auto& w : caption_words(text)) {
    const int64_t id = token_to_id(w);
    ids.push_back(id >= 0 ? id : special_.unk);
  }
  return ids;
}

std::vector<std::string> read_captions_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MM_CHECK(in.good(), Runtime, "vocab build", "cannot open captions file '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  std::vector<std::string> captions;
  const size_t first_nl = data.find('\n');
  std::string_view header(data.data(), first_nl == std::string::npos ? data.size() : first_nl);
  if (!header.empty() && header.back() == '\r') header.remove_suffix(1);
  if (header != "filename,caption") {
    size_t pos = 0, line = 0;
    while (pos < data.size()) {
      size_t nl = data.find('\n', pos);
      if (nl == std::string::npos) nl = data.size();
      std::string_view l(data.data() + pos, nl - pos);
      pos = nl + 1;
      ++line;
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      std::string why;
      const int64_t bad = unicode::find_invalid_utf8(l, &why);
      MM_CHECK(bad < 0, Value, "vocab build", path, ":", line, ": invalid UTF-8 at byte ", bad, " of the line: ", why);
      if (!l.empty()) captions.emplace_back(l);
    }
    return captions;
  }
  // RFC 4180: fields separated by ',', records by '\n' (or "\r\n"); a field starting with '"' runs to
  // the next lone '"', with "" standing for one quote.
  size_t i = first_nl == std::string::npos ? data.size() : first_nl + 1;
  size_t line = 2;
  while (i < data.size()) {
    const size_t record_line = line;
    std::vector<std::string> fields(1);
    bool done = false;
    while (!done) {
      if (i < data.size() && data[i] == '"') {
        ++i;
        for (;;) {
          MM_CHECK(i < data.size(), Value, "vocab build", path, ":", record_line,
                   ": a quoted field is not closed before the end of the file");
          if (data[i] == '"') {
            if (i + 1 < data.size() && data[i + 1] == '"') {
              fields.back() += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          line += data[i] == '\n';
          fields.back() += data[i++];
        }
      }
      while (i < data.size() && data[i] != ',' && data[i] != '\n') {
        MM_CHECK(data[i] != '"', Value, "vocab build", path, ":", line,
                 ": a quote inside an unquoted field (quote the whole field and double the quote)");
        fields.back() += data[i++];
      }
      if (i < data.size() && data[i] == ',') {
        fields.emplace_back();
        ++i;
      } else {
        done = true;
        if (i < data.size()) ++i, ++line;  // the '\n'
      }
    }
    if (!fields.back().empty() && fields.back().back() == '\r') fields.back().pop_back();
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    MM_CHECK(fields.size() == 2, Value, "vocab build", path, ":", record_line, ": expected 2 fields (filename,caption), found ",
             fields.size());
    std::string why;
    const int64_t bad = unicode::find_invalid_utf8(fields[1], &why);
    MM_CHECK(bad < 0, Value, "vocab build", path, ":", record_line, ": the caption is not valid UTF-8 (byte ", bad,
             " of the caption): ", why);
    captions.push_back(std::move(fields[1]));
  }
  return captions;
}

}  // namespace mm::data
