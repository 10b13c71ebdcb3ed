#include "train/data_config.h"

#include <filesystem>

#include "runtime/error.h"

namespace mm::train {

namespace {
std::string resolve(const std::string& p, const std::string& base) {
  if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (std::filesystem::path(base) / p).string();
}
}  // namespace

DataSources data_sources(const config::Data& d, const std::string& base_dir) {
  const char* op = "config data";
  DataSources s;
  const bool files = d.has_train() || d.has_val() || d.has_test();
  MM_CHECK(!(d.has_synthetic() && files), Value, op, "give either data.synthetic or data.train/val/test, not both");
  MM_CHECK(d.has_synthetic() || d.has_train(), Value, op, "no data: give data.synthetic { } or data.train { format path }");
  if (d.has_synthetic()) {
    const config::Synthetic& c = d.synthetic();
    data::SyntheticOptions o;
    if (c.has_seed()) o.seed = c.seed();
    if (c.has_num_train()) o.num_train = c.num_train();
    if (c.has_num_val()) o.num_val = c.num_val();
    if (c.has_num_test()) o.num_test = c.num_test();
    if (c.has_image_size()) o.image_size = c.image_size();
    s.synthetic = o;
  }
  const std::pair<const char*, const config::Dataset*> splits[] = {
      {"train", d.has_train() ? &d.train() : nullptr}, {"val", d.has_val() ? &d.val() : nullptr},
      {"test", d.has_test() ? &d.test() : nullptr}};
  for (auto [name, ds] : splits) {
    if (ds == nullptr) continue;
    MM_CHECK(ds->has_format() && ds->has_path(), Value, op, "data.", name, " needs format and path");
    s.splits.emplace_back(name, data::read_dataset(ds->format(), resolve(ds->path(), base_dir),
                                                   resolve(ds->images(), base_dir), ds->split()));
  }
  if (d.has_bad_samples()) {
    MM_CHECK(d.bad_samples() == "error" || d.bad_samples() == "skip", Value, op,
             "data.bad_samples must be error or skip, got '", d.bad_samples(), "'");
    s.bad_samples = d.bad_samples() == "skip" ? data::BadSamplePolicy::Skip : data::BadSamplePolicy::Error;
  }
  if (d.has_max_pixels()) {
    MM_CHECK(d.max_pixels() > 0, Value, op, "data.max_pixels must be positive");
    s.decode.max_pixels = d.max_pixels();
  }
  if (d.has_num_workers()) {
    MM_CHECK(d.num_workers() >= 0, Value, op, "data.num_workers must be >= 0");
    s.num_workers = d.num_workers();
  }
  return s;
}

}  // namespace mm::train
