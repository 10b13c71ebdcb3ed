// mmalign tokenize: encode a text, or each line of a file, with a WordPiece, byte-level BPE or
// word-level vocabulary, and print the ids (one line per text) or one JSON object.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/commands.h"
#include "data/tokenizers/tokenizer.h"
#include "runtime/error.h"

namespace mm::app {

namespace {

// The lines of a file: split at '\n', a trailing '\r' dropped; a final newline does not add an
// empty line. Empty lines are kept so that output line i belongs to input line i.
std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MM_CHECK(in.good(), Runtime, "tokenize", "cannot open '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    std::string line = data.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    pos = nl + 1;
  }
  return lines;
}

}  // namespace

int run_tokenize(const TokenizeArgs& a) {
  auto tok = data::make_tokenizer(a.tokenizer, a.vocab, a.merges);
  const std::vector<std::string> texts = a.has_text ? std::vector<std::string>{a.text} : read_lines(a.file);
  std::vector<data::Encoding> encodings;
  encodings.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    try {
      encodings.push_back(tok->encode(texts[i], a.max_len));
    } catch (const Error& e) {
      if (a.has_text) throw;
      // The message names the byte offset within the line; prefix file:line (without repeating the op).
      std::string msg = e.what();
      if (msg.rfind(e.op() + ": ", 0) == 0) msg = msg.substr(e.op().size() + 2);
      fail(e.kind(), "tokenize", a.file, ":", i + 1, ": ", msg);
    }
  }
  if (a.json) {
    nlohmann::ordered_json j;
    j["tokenizer"] = a.tokenizer;
    j["input_ids"] = nlohmann::json::array();
    j["attention_mask"] = nlohmann::json::array();
    j["tokens"] = nlohmann::json::array();
    for (const auto& e : encodings) {
      j["input_ids"].push_back(e.ids);
      j["attention_mask"].push_back(e.attention_mask);
      j["tokens"].push_back(e.tokens);
    }
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::ostringstream out;
  for (const auto& e : encodings) {
    for (size_t k = 0; k < e.ids.size(); ++k) out << (k ? " " : "") << e.ids[k];
    out << "\n";
  }
  std::cout << out.str();
  return 0;
}

}  // namespace mm::app
