// From a config's `data` section (train/config.proto) to the data layer's inputs: the synthetic
// set's options, or the annotation index of each split, with paths resolved against the config
// file's directory.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/datasets.h"
#include "data/image/decode.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "train/config.h"

namespace mm::train {

struct DataSources {
  std::optional<data::SyntheticOptions> synthetic;                 // the embedded default, or
  std::vector<std::pair<std::string, data::DatasetIndex>> splits;  // ("train", index), ("val", ...), ...
  data::DecodeOptions decode;
  data::BadSamplePolicy bad_samples = data::BadSamplePolicy::Error;
  int num_workers = 2;
};

// base_dir: the directory relative paths resolve against (the config file's). Reads every split's
// annotation file (errors name file:line); a config with neither `synthetic` nor `train` is an error.
DataSources data_sources(const config::Data& d, const std::string& base_dir);

}  // namespace mm::train
