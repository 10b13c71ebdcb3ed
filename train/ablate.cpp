#include "train/ablate.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "models/cross_attention/rung.h"
#include "train/trainer.h"

namespace mm::train {

namespace fs = std::filesystem;

nlohmann::json AblationRow::to_json() const {
  return {{"rung", rung},           {"head_parameters", head_parameters}, {"total_parameters", total_parameters},
          {"final_loss", final_loss}, {"i2t_r1", i2t_r1},                 {"i2t_r5", i2t_r5},
          {"t2i_r1", t2i_r1},         {"t2i_r5", t2i_r5},                 {"probe_top1", probe_top1},
          {"probe_gap", probe_gap},   {"seconds", seconds}};
}

namespace {

// The probe of run_ablation's header comment.
void probe(Trainer& t, const DataSources& sources, int64_t n_images, AblationRow& row) {
  AlignmentModel& m = t.bundle();
  ImageTextData test(sources, "test");
  std::vector<int64_t> t2i;
  const std::vector<std::string> all = test.all_captions(&t2i);
  const int64_t ni = std::min<int64_t>(n_images, test.num_images());
  MM_CHECK(ni >= 1, Value, "ablate", "the test split has no image for the probe");
  NoGradGuard ng;
  m.model->eval();
  int64_t correct = 0;
  double gap = 0;
  for (int64_t i = 0; i < ni; ++i) {
    std::vector<std::string> candidates{test.captions(i).front()};
    for (int64_t j = 1; static_cast<int64_t>(candidates.size()) < 5 && j < test.num_images(); ++j) {
      const std::string& c = test.captions((i + j) % test.num_images()).front();
      if (std::find(candidates.begin(), candidates.end(), c) == candidates.end()) candidates.push_back(c);
    }
    // Through the head in either ladder mode (score_pairs).
    const std::vector<double> s =
        score_pairs(m, 1, [&](int64_t) { return test.image(i); }, candidates).to_double_vector();
    double best_wrong = -1e300;
    for (size_t k = 1; k < s.size(); ++k) best_wrong = std::max(best_wrong, s[k]);
    correct += s[0] > best_wrong;
    gap += s[0] - best_wrong;
  }
  m.model->train();
  row.probe_top1 = static_cast<double>(correct) / static_cast<double>(ni);
  row.probe_gap = gap / static_cast<double>(ni);
}

}  // namespace

std::vector<AblationRow> run_ablation(const config::Config& cfg, const std::string& config_dir,
                                      const std::vector<std::string>& rungs_in, const std::string& out_dir,
                                      int64_t probe_images) {
  const std::vector<std::string> rungs = rungs_in.empty() ? models::rung_names() : rungs_in;
  for (const std::string& r : rungs) {
    const auto& known = models::rung_names();
    MM_CHECK(std::find(known.begin(), known.end(), r) != known.end(), Value, "ablate", "unknown rung '", r,
             "' (v0 ... v9, v10_1 ... v10_6, v11)");
  }
  const bool has_val = cfg.data().has_synthetic() || cfg.data().has_val();
  std::vector<AblationRow> rows;
  for (const std::string& rung : rungs) {
    config::Config c = cfg;
    c.mutable_head()->mutable_ladder()->set_rung(rung);
    const auto t0 = std::chrono::steady_clock::now();
    Trainer t(c, config_dir, (fs::path(out_dir) / rung).string());
    t.run();
    AblationRow row;
    row.rung = rung;
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    row.head_parameters = t.model().ladder->num_parameters();
    row.total_parameters = t.model().num_parameters();
    const auto& h = t.history();
    const size_t tail = std::min<size_t>(10, h.size());
    for (size_t k = h.size() - tail; k < h.size(); ++k) row.final_loss += h[k].loss / static_cast<double>(tail);
    const nlohmann::json v = t.evaluate(has_val ? "val" : "train");
    row.i2t_r1 = v["i2t_r1"];
    row.i2t_r5 = v["i2t_r5"];
    row.t2i_r1 = v["t2i_r1"];
    row.t2i_r5 = v["t2i_r5"];
    if (cfg.data().has_synthetic() || cfg.data().has_test()) probe(t, data_sources(t.bundle().config.data(), config_dir), probe_images, row);
    std::printf("ablate: %s done in %.0f s\n", rung.c_str(), row.seconds);
    std::fflush(stdout);
    rows.push_back(row);
    nlohmann::json all = nlohmann::json::array();
    for (const AblationRow& r : rows) all.push_back(r.to_json());
    std::ofstream(fs::path(out_dir) / "ablation.json") << all.dump(2) << "\n";
    std::ofstream(fs::path(out_dir) / "ablation.md") << ablation_table(rows);
  }
  return rows;
}

std::string ablation_table(const std::vector<AblationRow>& rows) {
  std::string out =
      "| rung | head params | total params | final train loss | val i→t R@1 | R@5 | val t→i R@1 | R@5 | probe top-1 (of 5) | probe gap | time (s) |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  char buf[400];
  for (const AblationRow& r : rows) {
    std::snprintf(buf, sizeof buf, "| %s | %lld | %lld | %.4f | %.3f | %.3f | %.3f | %.3f | %.2f | %+.3f | %.0f |\n",
                  r.rung.c_str(), static_cast<long long>(r.head_parameters), static_cast<long long>(r.total_parameters),
                  r.final_loss, r.i2t_r1, r.i2t_r5, r.t2i_r1, r.t2i_r5, r.probe_top1, r.probe_gap, r.seconds);
    out.append(buf);
  }
  return out;
}

}  // namespace mm::train
