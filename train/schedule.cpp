#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace mm::train {

LrSchedule::LrSchedule(const config::Optim& o, int64_t total_steps)
    : kind_(o.has_schedule() ? o.schedule() : "cosine"),
      lr_(o.has_lr() ? o.lr() : 1e-3),
      total_(total_steps),
      warmup_(o.warmup_steps()) {
  MM_CHECK(total_ >= 1, Value, "LrSchedule", "total steps must be >= 1, got ", total_);
  MM_CHECK(std::isfinite(lr_) && lr_ >= 0, Value, "config", "optim.lr must be >= 0, got ", lr_);
  MM_CHECK(warmup_ >= 0, Value, "config", "optim.warmup_steps must be >= 0, got ", warmup_);
  if (kind_ == "constant") return;
  if (kind_ == "cosine") {
    min_lr_ = o.min_lr();
    MM_CHECK(min_lr_ >= 0 && min_lr_ <= lr_, Value, "config", "optim.min_lr must be in [0, optim.lr = ", lr_, "], got ",
             min_lr_);
    return;
  }
  if (kind_ == "multistep") {
    gamma_ = o.has_gamma() ? o.gamma() : 0.1;
    MM_CHECK(std::isfinite(gamma_) && gamma_ > 0, Value, "config", "optim.gamma must be > 0, got ", gamma_);
    MM_CHECK(o.milestones_size() > 0, Value, "config", "optim.milestones: the multistep schedule needs at least one");
    for (int i = 0; i < o.milestones_size(); ++i) {
      MM_CHECK(o.milestones(i) >= 1 && (i == 0 || o.milestones(i) > o.milestones(i - 1)), Value, "config",
               "optim.milestones must be increasing steps >= 1; milestones[", i, "] is ", o.milestones(i));
      milestones_.push_back(o.milestones(i));
    }
    return;
  }
  if (kind_ == "constant_cooldown") {
    cooldown_ = o.cooldown_steps();
    MM_CHECK(cooldown_ >= 1 && cooldown_ <= total_ - warmup_, Value, "config", "optim.cooldown_steps must be in [1, ",
             total_ - warmup_, "] (the steps after warmup), got ", cooldown_);
    return;
  }
  fail(ErrorKind::Value, "config", "optim.schedule '", kind_,
       "' is not one of cosine | constant | multistep | constant_cooldown");
}

double LrSchedule::lr_at(int64_t step) const {
  if (step < warmup_) return lr_ * static_cast<double>(step + 1) / static_cast<double>(warmup_);
  if (kind_ == "multistep") {
    // One multiplication per milestone passed, as MultiStepLR applies them, so values agree bitwise.
    double v = lr_;
    for (int64_t m : milestones_)
      if (m <= step) v *= gamma_;
    return v;
  }
  if (kind_ == "cosine") {
    const double progress =
        static_cast<double>(step - warmup_) / static_cast<double>(std::max<int64_t>(1, total_ - warmup_));
    return min_lr_ + 0.5 * (lr_ - min_lr_) * (1.0 + std::cos(3.14159265358979323846 * std::min(1.0, progress)));
  }
  if (kind_ == "constant_cooldown" && step >= total_ - cooldown_)
    return lr_ * static_cast<double>(std::max<int64_t>(0, total_ - step)) / static_cast<double>(cooldown_);
  return lr_;
}

}  // namespace mm::train
