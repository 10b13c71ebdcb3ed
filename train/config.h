// Loading configs: text-format protobuf (.pbtxt) of mmalign.config.Config (train/config.proto).
// A syntax error, an unknown field or a value of the wrong type is an mm::Error naming the file, the
// line and the column.
#pragma once

#include <string>

#include "train/config.pb.h"

namespace mm::train {

namespace config = ::mmalign::config;  // the generated schema types

config::Config load_config(const std::string& path);
config::Config parse_config(const std::string& text, const std::string& source_name = "<string>");
// `--set a.b.c=value`: sets one scalar field (a string value without quotes); an unknown field, a
// repeated or message field, or a value of the wrong type is an error naming the path.
void apply_override(config::Config& cfg, const std::string& assignment);

}  // namespace mm::train
