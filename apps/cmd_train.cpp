// `mmalign train --config F [--set k=v]... [--out DIR]`: trains (train/trainer.h), then evaluates on
// the validation and test splits and writes eval.json into the run directory.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "apps/commands.h"
#include "train/trainer.h"

namespace mm::app {

int run_train(const TrainArgs& a) {
  train::config::Config cfg = train::load_config(a.config);
  for (const std::string& kv : a.overrides) train::apply_override(cfg, kv);
  const auto t0 = std::chrono::steady_clock::now();
  train::Trainer trainer(cfg, std::filesystem::path(a.config).parent_path().string(), a.out);
  trainer.run();
  nlohmann::json results = nlohmann::json::array();
  const bool synthetic = cfg.data().has_synthetic();
  for (const char* split : {"val", "test"}) {
    if (!synthetic && !(split == std::string("val") ? cfg.data().has_val() : cfg.data().has_test())) continue;
    nlohmann::json e = trainer.evaluate(split);
    std::printf("%s: %s\n", split, e.dump().c_str());
    results.push_back(e);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ofstream(std::filesystem::path(a.out) / "eval.json") << nlohmann::json{{"results", results}, {"seconds", secs}}.dump(2) << "\n";
  std::printf("done in %.0f s; run directory %s\n", secs, a.out.c_str());
  return 0;
}

}  // namespace mm::app
