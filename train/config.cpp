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

void apply_override(config::Config& cfg, const std::string& assignment) {
  using google::protobuf::FieldDescriptor;
  const size_t eq = assignment.find('=');
  MM_CHECK(eq != std::string::npos && eq > 0, Value, "config", "--set '", assignment, "': expected path.to.field=value");
  const std::string path = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  google::protobuf::Message* msg = &cfg;
  size_t begin = 0;
  for (;;) {
    const size_t dot = path.find('.', begin);
    const std::string name = path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
    const FieldDescriptor* f = msg->GetDescriptor()->FindFieldByName(name);
    MM_CHECK(f != nullptr, Value, "config", "--set ", path, ": ", msg->GetDescriptor()->name(), " has no field '", name, "'");
    MM_CHECK(!f->is_repeated(), Value, "config", "--set ", path, ": '", name, "' is a repeated field; edit the config file");
    if (dot == std::string::npos) {
      MM_CHECK(f->type() != FieldDescriptor::TYPE_MESSAGE, Value, "config", "--set ", path, ": '", name,
               "' is a message; set one of its fields");
      // Strings are given bare on the command line (--set data.train.path=x.csv); the text format wants
      // them quoted, so quote (and escape) them here.
      std::string text = value;
      if (f->type() == FieldDescriptor::TYPE_STRING) {
        text.assign(1, '"');
        for (char c : value) {
          if (c == '"' || c == '\\') text.push_back('\\');
          text.push_back(c);
        }
        text.push_back('"');
      }
      MM_CHECK(google::protobuf::TextFormat::ParseFieldValueFromString(text, f, msg), Value, "config", "--set ", path,
               ": '", value, "' is not a valid ", f->type_name());
      return;
    }
    MM_CHECK(f->type() == FieldDescriptor::TYPE_MESSAGE, Value, "config", "--set ", path, ": '", name,
             "' is not a message");
    msg = msg->GetReflection()->MutableMessage(msg, f);
    begin = dot + 1;
  }
}

}  // namespace mm::train
