#include "data/text_file.h"

#include <fstream>
#include <sstream>

#include "runtime/error.h"

namespace mm::data {

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  MM_CHECK(f.good(), Runtime, "data", path, ": cannot open the file");
  std::ostringstream ss;
  ss << f.rdbuf();
  MM_CHECK(!f.bad(), Runtime, "data", path, ": read error");
  std::string s = ss.str();
  if (s.rfind("\xEF\xBB\xBF", 0) == 0) s.erase(0, 3);
  return s;
}

int64_t invalid_utf8_offset(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = p[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return static_cast<int64_t>(i);
    }
    if (i + len > n) return static_cast<int64_t>(i);
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return static_cast<int64_t>(i);
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return static_cast<int64_t>(i);
    i += len;
  }
  return -1;
}

std::vector<CsvRecord> parse_csv(const std::string& text, const std::string& path) {
  std::vector<CsvRecord> out;
  const size_t n = text.size();
  size_t i = 0;
  int64_t line = 1;
  while (i < n) {
    if (text[i] == '\n' || (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {  // empty line
      i += text[i] == '\r' ? 2 : 1;
      ++line;
      continue;
    }
    CsvRecord rec;
    rec.line = line;
    for (;;) {  // one field per iteration
      std::string field;
      if (i < n && text[i] == '"') {
        const int64_t open_line = line;
        ++i;
        for (;;) {
          MM_CHECK(i < n, Value, "data", path, ":", open_line, ": unterminated quoted field (a \" opened here is never closed)");
          if (text[i] == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        MM_CHECK(i >= n || text[i] == ',' || text[i] == '\n' || text[i] == '\r', Value, "data", path, ":", line,
                 ": unexpected text after a closing quote (a quote inside a quoted field must be doubled: \"\")");
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          MM_CHECK(text[i] != '"', Value, "data", path, ":", line,
                   ": a quote inside an unquoted field (quote the whole field and double the quote: \"a \"\"b\"\"\")");
          field += text[i++];
        }
      }
      rec.fields.push_back(std::move(field));
      if (i < n && text[i] == ',') {
        ++i;
        continue;
      }
      if (i < n && text[i] == '\r') {
        MM_CHECK(i + 1 < n && text[i + 1] == '\n', Value, "data", path, ":", line, ": a bare carriage return");
        ++i;
      }
      if (i < n && text[i] == '\n') {
        ++i;
        ++line;
      }
      break;
    }
    out.push_back(std::move(rec));
  }
  return out;
}

nlohmann::json parse_json(const std::string& text, const std::string& path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based, just past the offending character
    const size_t at = e.byte > 0 ? std::min<size_t>(e.byte - 1, text.size()) : 0;
    int64_t line = 1, col = 1;
    for (size_t k = 0; k < at; ++k) {
      if (text[k] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string reason = e.what();
    const size_t colon = reason.find("syntax error");
    fail(ErrorKind::Value, "data", path, ":", line, ":", col, ": invalid JSON: ",
         colon == std::string::npos ? reason : reason.substr(colon));
  }
}

}  // namespace mm::data
