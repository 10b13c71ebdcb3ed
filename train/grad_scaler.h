// Dynamic loss scaling for f16 training, with the semantics of torch.cuda.amp.GradScaler (torch.amp).
//
// f16 has 5 exponent bits: gradients below ~6e-8 flush to zero. Multiplying the loss by a large scale
// S before backward lifts the gradients into f16's range; they are divided by S again (unscale_)
// before anything reads them (clipping, the optimizer). When S is too large some gradient overflows
// to inf/NaN: that step is skipped (no parameter or optimizer-state change) and S is halved. After
// growth_interval consecutive clean steps S doubles again, so it hovers just below the overflow point.
//
//   scale(loss)        loss · S (S a power of two by default, so scaling and unscaling are exact)
//   unscale_(params)   every defined .grad ← .grad / S; records whether any is inf/NaN and returns
//                      it. Once per step (a second call before update() is an error). The check is
//                      accumulated on the gradients' device: one host sync per call, not one per
//                      tensor.
//   step(opt[, params])  unscale_ first if it was not called this step; then opt.step() unless a
//                      non-finite gradient was found. Returns whether the optimizer stepped.
//   update()           found inf: S ← S · backoff_factor, tracker ← 0; else tracker ← tracker + 1 and,
//                      when it reaches growth_interval, S ← S · growth_factor (if finite), tracker ← 0.
//                      Needs an unscale_ (or step) since the last update().
//
// bf16 has f32's exponent range and needs no scaler: a disabled scaler (enabled = false) passes
// everything through — scale returns the loss, unscale_ returns false without touching gradients,
// step calls opt.step(), update does nothing, state_dict is empty.
//
// The Trainer's step (train/mixed_precision.h shows the whole sequence):
//   loss = ...forward under AutocastGuard...;  scaler.scale(loss).backward();
//   bool inf = scaler.unscale_(opt);   // before clipping: clip the true gradients
//   if (!inf) clip...;  scaler.step(opt);  scaler.update();
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/tensor.h"
#include "train/optim.h"

namespace mm::train {

struct GradScalerOptions {
  double init_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
  bool enabled = true;
};

class GradScaler {
 public:
  // Checks the options (init_scale > 0 and finite, growth_factor > 1, 0 < backoff_factor < 1,
  // growth_interval ≥ 1) when enabled; a Value error names the offending one.
  explicit GradScaler(GradScalerOptions options = {});

  bool enabled() const { return options_.enabled; }
  const GradScalerOptions& options() const { return options_; }
  // The current scale S (1 when disabled, as torch's get_scale()).
  double get_scale() const { return options_.enabled ? scale_ : 1.0; }
  // Consecutive clean steps since the last growth or backoff.
  int64_t growth_tracker() const { return growth_tracker_; }

  // loss · S (differentiable). f16/bf16 losses are multiplied in f32 (promotion with an f32 scalar
  // tensor), so S itself never overflows the loss's dtype; an f64 loss stays f64.
  Tensor scale(const Tensor& loss) const;

  // Divides every defined gradient of `params` by S (replacing .grad, in its dtype) and returns
  // whether any unscaled gradient has an inf or NaN. Once per step: a second call before update() is
  // a Value error. The Optimizer overload takes the parameters of all its groups.
  bool unscale_(const std::vector<Tensor>& params);
  bool unscale_(const Optimizer& opt);

  // Unscales (if not yet done this step), then steps `opt` unless a non-finite gradient was found.
  // Returns whether opt.step() ran. Once per step: a second call before update() is a Value error.
  bool step(Optimizer& opt);
  bool step(Optimizer& opt, const std::vector<Tensor>& params);

  // Adjusts S for the next step (rules above) and ends the step. A Value error when neither unscale_
  // nor step ran since the last update().
  void update();

  // Whether the last unscale_ found a non-finite gradient (false before the first).
  bool found_inf() const { return found_inf_; }

  // Checkpoints: "grad_scaler.scale" (f64, 0-d) and "grad_scaler.growth_tracker" (i64, 0-d); empty
  // when disabled. The hyper-parameters come from the config. load_state_dict checks both keys
  // (present, 0-d, dtype) and a positive finite scale before changing anything; a disabled scaler
  // ignores it. Restores exactly: the resumed run scales as the uninterrupted one.
  std::map<std::string, Tensor> state_dict() const;
  void load_state_dict(const std::map<std::string, Tensor>& state);

  static constexpr const char* kScaleKey = "grad_scaler.scale";
  static constexpr const char* kTrackerKey = "grad_scaler.growth_tracker";

 private:
  enum class Stage { Ready, Unscaled, Stepped };
  GradScalerOptions options_;
  double scale_;
  int64_t growth_tracker_ = 0;
  Stage stage_ = Stage::Ready;
  bool found_inf_ = false;
};

// Every parameter of the optimizer's groups, in group order.
std::vector<Tensor> optimizer_params(const Optimizer& opt);

}  // namespace mm::train
