// `mmalign train --config F [--set k=v]... [--out DIR] [--resume auto|DIR]`: trains (train/trainer.h),
// then evaluates on the validation and test splits and writes eval.json into the run directory.
// SIGINT/SIGTERM: the trainer writes a checkpoint and the program exits with 128 + the signal number
// (the shell's convention), without the final evaluation.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "apps/commands.h"
#include "train/checkpoint.h"
#include "train/report.h"
#include "train/trainer.h"

namespace mm::app {

int run_train(const TrainArgs& a) {
  MM_CHECK(!a.resume.empty() || train::list_checkpoints(a.out).empty(), Value, "train", a.out,
           " already holds checkpoints of a run: continue it with --resume auto, or give a new --out");
  train::config::Config cfg = train::load_config(a.config);
  for (const std::string& kv : a.overrides) train::apply_override(cfg, kv);
  const auto t0 = std::chrono::steady_clock::now();
  train::Trainer trainer(cfg, std::filesystem::path(a.config).parent_path().string(), a.out);
  if (a.resume == "auto") {
    std::vector<std::string> warnings;
    const std::string dir = train::latest_valid_checkpoint(a.out, &warnings);
    if (trainer.rank() == 0) {
      for (const std::string& w : warnings) std::cerr << "mmalign train: warning: " << w << "\n";
      if (dir.empty()) std::cerr << "mmalign train: no valid checkpoint in " << a.out << "; starting from step 0\n";
    }
    if (!dir.empty())
      trainer.resume(dir);
  } else if (!a.resume.empty()) {
    trainer.resume(a.resume);
  }
  const train::StopReason reason = trainer.run();
  if (reason == train::StopReason::Signal) return 128 + trainer.signal_received();
  nlohmann::json results = nlohmann::json::array();
  const bool synthetic = cfg.data().has_synthetic();
  for (const char* split : {"val", "test"}) {
    if (!synthetic && !(split == std::string("val") ? cfg.data().has_val() : cfg.data().has_test())) continue;
    nlohmann::json e = trainer.evaluate(split);  // collective under mpirun: every rank evaluates a shard
    if (trainer.rank() != 0) continue;
    std::printf("%s: %s\n", split, e.dump().c_str());
    trainer.record_metrics(e);
    results.push_back(e);
  }
  if (trainer.rank() != 0) return 0;  // rank 0 writes the run directory
  trainer.write_gallery(synthetic || cfg.data().has_val() ? "val" : "train");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ofstream(std::filesystem::path(a.out) / "eval.json") << nlohmann::json{{"results", results}, {"seconds", secs}}.dump(2) << "\n";
  const std::string report = train::write_report(a.out);
  std::printf("done in %.0f s; run directory %s; report %s\n", secs, a.out.c_str(), report.c_str());
  return 0;
}

}  // namespace mm::app
