#include "train/config.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <fstream>
#include <sstream>

#include "runtime/error.h"

namespace mm::train {

namespace {

// Collects protobuf's parse errors with their positions (protobuf counts lines and columns from 0).
class Collector : public google::protobuf::io::ErrorCollector {
 public:
  explicit Collector(std::string source) : source_(std::move(source)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    if (first_.empty()) first_ = source_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string source_, first_;
};

}  // namespace

config::Config parse_config(const std::string& text, const std::string& source_name) {
  config::Config cfg;
  Collector errors(source_name);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &cfg))
    fail(ErrorKind::Value, "config", errors.first().empty() ? source_name + ": invalid config" : errors.first());
  return cfg;
}

config::Config load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MM_CHECK(in.good(), Value, "config", "cannot open config file '", path, "'");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace mm::train
