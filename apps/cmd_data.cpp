// `mmalign data synth`: writes the synthetic set (data/synthetic.h) in the captions.csv format.
// `mmalign data check`: opens every image and caption of a config's data (data/check.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "data/check.h"
#include "data/synthetic.h"
#include "runtime/error.h"
#include "train/data_config.h"

namespace mm::app {

int run_data_synth(const DataSynthArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  data::SyntheticOptions o;
  o.seed = a.seed;
  o.image_size = a.image_size;
  o.num_test = std::max<int64_t>(1, a.n / 20);
  o.num_val = std::max<int64_t>(1, a.n / 20);
  o.num_train = a.n - o.num_test - o.num_val;
  data::SyntheticSet set(o);
  data::write_synthetic(set, a.out);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %lld train, %lld val, %lld test images (%lldx%lld) and captions to %s/{train,val,test} in %.1f s\n",
              static_cast<long long>(o.num_train), static_cast<long long>(o.num_val),
              static_cast<long long>(o.num_test), static_cast<long long>(o.image_size),
              static_cast<long long>(o.image_size), a.out.c_str(), s);
  return 0;
}

}  // namespace mm::app

// ---- mmalign data check ----

namespace mm::app {

namespace {
nlohmann::json summary_json(const data::Summary& s) {
  return {{"count", s.count}, {"min", s.min}, {"mean", s.mean}, {"median", s.median}, {"max", s.max}};
}
void print_summary(const char* what, const data::Summary& s) {
  std::printf("    %-16s min %g  median %g  mean %.1f  max %g\n", what, s.min, s.median, s.mean, s.max);
}
}  // namespace

int run_data_check(const DataCheckArgs& a) {
  const train::config::Config cfg = train::load_config(a.config);
  MM_CHECK(cfg.has_data(), Value, "data check", a.config, ": the config has no data section");
  const train::DataSources src =
      train::data_sources(cfg.data(), std::filesystem::path(a.config).parent_path().string());
  std::vector<data::DatasetReport> reports;
  if (src.synthetic) {  // generated in memory: every sample is valid by construction; report the counts
    data::SyntheticSet set(*src.synthetic);
    for (data::Split s : {data::Split::Train, data::Split::Val, data::Split::Test}) {
      data::DatasetReport r;
      r.name = data::split_name(s);
      std::vector<double> words, chars, sides;
      for (const auto& sample : set.samples(s)) {
        words.push_back(1.0 + static_cast<double>(std::count(sample.caption.begin(), sample.caption.end(), ' ')));
        chars.push_back(static_cast<double>(sample.caption.size()));
        sides.push_back(static_cast<double>(src.synthetic->image_size));
      }
      r.images = r.captions = static_cast<int64_t>(set.samples(s).size());
      r.caption_words = data::summarise(words);
      r.caption_chars = data::summarise(chars);
      r.image_width = r.image_height = data::summarise(sides);
      reports.push_back(r);
    }
  } else {
    for (const auto& [name, index] : src.splits) reports.push_back(data::check_dataset(name, index, src.decode));
  }
  int64_t bad = 0;
  for (const auto& r : reports) bad += static_cast<int64_t>(r.bad.size());
  const bool fails = bad > 0 && src.bad_samples == data::BadSamplePolicy::Error;
  if (a.json) {
    nlohmann::json j;
    j["config"] = a.config;
    j["passed"] = !fails;
    j["bad_samples_policy"] = src.bad_samples == data::BadSamplePolicy::Error ? "error" : "skip";
    j["splits"] = nlohmann::json::array();
    for (const auto& r : reports) {
      nlohmann::json b = nlohmann::json::array();
      for (const auto& s : r.bad) b.push_back({{"file", s.file}, {"where", s.where}, {"reason", s.reason}});
      j["splits"].push_back({{"split", r.name}, {"images", r.images}, {"captions", r.captions}, {"bad", b},
                             {"caption_words", summary_json(r.caption_words)},
                             {"caption_chars", summary_json(r.caption_chars)},
                             {"image_width", summary_json(r.image_width)},
                             {"image_height", summary_json(r.image_height)}});
    }
    std::cout << j.dump(2) << "\n";
  } else {
    for (const auto& r : reports) {
      std::printf("%s: %lld images, %lld captions, %zu bad\n", r.name.c_str(), static_cast<long long>(r.images),
                  static_cast<long long>(r.captions), r.bad.size());
      print_summary("caption words", r.caption_words);
      print_summary("caption chars", r.caption_chars);
      print_summary("image width", r.image_width);
      print_summary("image height", r.image_height);
      for (const auto& s : r.bad) std::printf("  BAD %s (%s): %s\n", s.file.c_str(), s.where.c_str(), s.reason.c_str());
    }
    std::printf("%lld bad sample(s); policy %s: %s\n", static_cast<long long>(bad),
                src.bad_samples == data::BadSamplePolicy::Error ? "error" : "skip", fails ? "FAILED" : "ok");
  }
  return fails ? 1 : 0;
}

}  // namespace mm::app
