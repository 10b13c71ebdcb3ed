// train.precision / train.loss_scale → autocast dtype and GradScaler (train/mixed_precision.h).
#include "train/mixed_precision.h"

#include <cmath>

namespace mm::train {

GradScalerOptions loss_scale_options(const config::LossScale& ls) {
  GradScalerOptions o;
  if (ls.has_init_scale()) o.init_scale = ls.init_scale();
  if (ls.has_growth_factor()) o.growth_factor = ls.growth_factor();
  if (ls.has_backoff_factor()) o.backoff_factor = ls.backoff_factor();
  if (ls.has_growth_interval()) o.growth_interval = ls.growth_interval();
  MM_CHECK(o.init_scale > 0 && std::isfinite(o.init_scale), Value, "config",
           "train.loss_scale.init_scale must be positive and finite, got ", o.init_scale);
  MM_CHECK(o.growth_factor > 1 && std::isfinite(o.growth_factor), Value, "config",
           "train.loss_scale.growth_factor must be > 1, got ", o.growth_factor);
  MM_CHECK(o.backoff_factor > 0 && o.backoff_factor < 1, Value, "config",
           "train.loss_scale.backoff_factor must be in (0, 1), got ", o.backoff_factor);
  MM_CHECK(o.growth_interval >= 1, Value, "config", "train.loss_scale.growth_interval must be at least 1, got ",
           o.growth_interval);
  return o;
}

MixedPrecision make_mixed_precision(const config::Train& train) {
  MixedPrecision mp;
  mp.precision = train.has_precision() ? train.precision() : "f32";
  const std::string& p = mp.precision;
  MM_CHECK(p == "f32" || p == "bf16" || p == "f16", Value, "config", "train.precision '", p,
           "' is unknown (f32 | bf16 | f16)");
  MM_CHECK(!train.has_loss_scale() || p == "f16", Value, "config", "train.loss_scale is set but train.precision is '",
           p, "': loss scaling is used with f16 only");
  if (p == "bf16") mp.low = DType::BF16;
  if (p == "f16") {
    mp.low = DType::F16;
    mp.scaler = GradScaler(loss_scale_options(train.loss_scale()));
  }
  return mp;
}

}  // namespace mm::train
