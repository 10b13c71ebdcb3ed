// `mmalign ablate` (SPEC §5.3): every rung of the cross-attention ladder trained as the alignment
// head with the same config, seed, data and steps, then compared: parameters, final training loss,
// validation R@1/R@5 both ways, time, and a five-caption probe.
//
// The probe is seed 002's zero-shot check done correctly: the seed scored one unseen image against
// five captions and asked whether the right caption won — but it parsed "v10_x" as v0 and
// re-initialised layers before scoring. Here each rung is scored as trained, on `probe_images` images
// of the test split (the synthetic test split holds attribute combinations never seen in training),
// each against five captions: its own and those of the next four test images with a different
// caption. Reported: the fraction whose own caption scores highest, and the mean gap between its
// score and the best wrong one (cosines of the rung's outputs, DualEncoder::pair_scores).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/config.h"

namespace mm::train {

struct AblationRow {
  std::string rung;
  int64_t head_parameters = 0, total_parameters = 0;
  double final_loss = 0;  // mean of the last 10 steps' training losses
  double i2t_r1 = 0, i2t_r5 = 0, t2i_r1 = 0, t2i_r5 = 0;
  double probe_top1 = 0, probe_gap = 0;
  double seconds = 0;
  nlohmann::json to_json() const;
};

// Trains one run per rung under out_dir/<rung>/ (config_dir: where the config's relative paths
// resolve). Rungs: every one of models::rung_names() when empty.
std::vector<AblationRow> run_ablation(const config::Config& cfg, const std::string& config_dir,
                                      const std::vector<std::string>& rungs, const std::string& out_dir,
                                      int64_t probe_images = 50);

// The table as Markdown (one row per rung).
std::string ablation_table(const std::vector<AblationRow>& rows);

}  // namespace mm::train
