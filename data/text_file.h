// Reading the text files data sets come in, with errors that name the file, the line and the reason:
// whole-file reads, UTF-8 validation, an RFC 4180 CSV reader (quoted fields with commas, doubled
// quotes and newlines inside), tab-separated lines, and JSON with line:column positions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mm::data {

// The file's bytes; a UTF-8 byte-order mark at the start is dropped. Missing/unreadable → mm::Error.
std::string read_text_file(const std::string& path);

// The byte offset of the first invalid UTF-8 sequence in s (overlong forms, surrogates and code
// points above U+10FFFF are invalid), or -1 when s is valid.
int64_t invalid_utf8_offset(std::string_view s);

struct CsvRecord {
  std::vector<std::string> fields;
  int64_t line = 0;  // 1-based line where the record starts
};

// RFC 4180: fields separated by commas, records by LF or CRLF; a field in double quotes may hold
// commas, line breaks and "" for a quote. A quote inside an unquoted field, text after a closing
// quote, or an unterminated quote is an error naming path:line. Empty lines are skipped.
std::vector<CsvRecord> parse_csv(const std::string& text, const std::string& path);

// Parses JSON; a syntax error names path:line:column and the parser's reason.
nlohmann::json parse_json(const std::string& text, const std::string& path);

}  // namespace mm::data
