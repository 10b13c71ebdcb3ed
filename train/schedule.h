// Learning-rate schedules (SPEC §7), from the config's `optim` section and the run's total steps.
// Every schedule starts with the same linear warmup: step s < warmup_steps gets lr·(s + 1)/warmup_steps
// (so the first step already moves, and the last warmup step reaches lr). After it:
//   constant           lr
//   multistep          lr · gamma^(number of milestones <= s), like torch.optim.lr_scheduler.MultiStepLR
//                      with milestones counted in steps from 0 (warmup included)
//   cosine (default)   min_lr + (lr − min_lr)·(1 + cos(π·p))/2, p = (s − warmup)/(total − warmup)
//                      clamped to [0, 1] — torch's CosineAnnealingLR(T_max = total − warmup) started
//                      when warmup ends
//   constant_cooldown  lr, then over the last cooldown_steps a linear decay: lr·(total − s)/cooldown
//                      (the warmup's mirror image: the first cooldown step still has lr, the last
//                      lr/cooldown, and the end of the run, s = total, would be 0)
// `step` is the number of optimizer steps already taken (0 for the first). The returned value is
// the base lr; each parameter group multiplies it by its lr_multiplier (train/optim.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/config.h"

namespace mm::train {

class LrSchedule {
 public:
  // Errors name the bad field: an unknown schedule, a negative lr / warmup / cooldown, milestones
  // that do not increase, gamma <= 0, min_lr outside [0, lr], a cooldown longer than the steps after
  // warmup, total_steps < 1.
  LrSchedule(const config::Optim& o, int64_t total_steps);

  double lr_at(int64_t step) const;

  const std::string& kind() const { return kind_; }
  double peak_lr() const { return lr_; }

 private:
  std::string kind_;
  double lr_, gamma_ = 0.1, min_lr_ = 0.0;
  int64_t total_, warmup_, cooldown_ = 0;
  std::vector<int64_t> milestones_;
};

}  // namespace mm::train
