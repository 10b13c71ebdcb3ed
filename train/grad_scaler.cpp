// GradScaler (train/grad_scaler.h): torch.amp.GradScaler's rules.
#include "train/grad_scaler.h"

#include <cmath>

#include "autograd/functions.h"
#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace mm::train {

namespace {
constexpr const char* kOp = "GradScaler";
}  // namespace

std::vector<Tensor> optimizer_params(const Optimizer& opt) {
  std::vector<Tensor> r;
  for (const ParamGroup& g : opt.groups())
    for (const auto& [name, p] : g.params) r.push_back(p);
  return r;
}

GradScaler::GradScaler(GradScalerOptions options) : options_(options), scale_(options.init_scale) {
  if (!options_.enabled) return;
  MM_CHECK(options_.init_scale > 0 && std::isfinite(options_.init_scale), Value, kOp,
           "init_scale must be positive and finite, got ", options_.init_scale);
  MM_CHECK(options_.growth_factor > 1.0 && std::isfinite(options_.growth_factor), Value, kOp,
           "growth_factor must be > 1, got ", options_.growth_factor);
  MM_CHECK(options_.backoff_factor > 0.0 && options_.backoff_factor < 1.0, Value, kOp,
           "backoff_factor must be in (0, 1), got ", options_.backoff_factor);
  MM_CHECK(options_.growth_interval >= 1, Value, kOp, "growth_interval must be at least 1, got ",
           options_.growth_interval);
}

Tensor GradScaler::scale(const Tensor& loss) const {
  MM_CHECK(loss.defined(), Value, kOp, "scale: the loss is undefined");
  if (!options_.enabled) return loss;
  MM_CHECK(is_floating(loss.dtype()), DType, kOp, "scale: the loss must be floating, got ", dtype_name(loss.dtype()));
  // An f32 scalar tensor: f16/bf16 losses promote to f32 (65536 is not an f16 value), f64 stays f64.
  return mul(loss, ops::scalar_tensor(scale_, DType::F32, loss.device()));
}

bool GradScaler::unscale_(const std::vector<Tensor>& params) {
  if (!options_.enabled) return false;
  MM_CHECK(stage_ == Stage::Ready, Value, kOp,
           "unscale_ was already called this step (or step ran); call update() before the next unscale_");
  NoGradGuard no_grad;
  // Accumulated per device without reading anything back: inf·0 = NaN and NaN·0 = NaN, so
  // Σ (g/S)·0 is 0 exactly when every unscaled element is finite. One host read per device at the end.
  std::vector<std::pair<Device, Tensor>> flags;
  for (const Tensor& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    MM_CHECK(is_floating(g.dtype()), DType, kOp, "unscale_: a gradient has the non-floating dtype ",
             dtype_name(g.dtype()));
    // 1/S in the gradient's dtype: exact for a power-of-two S (f32's exponent reaches 2^-126).
    const Tensor inv = ops::scalar_tensor(1.0 / scale_, g.dtype(), g.device());
    const Tensor u = ops::binary(OpId::mul, g, inv);
    const Tensor zero = ops::scalar_tensor(0.0, DType::F32, g.device());
    const Tensor f = ops::sum(ops::binary(OpId::mul, ops::to_dtype(u, DType::F32), zero));
    p.set_grad(u);
    auto it = flags.begin();
    while (it != flags.end() && it->first != g.device()) ++it;
    if (it == flags.end())
      flags.emplace_back(g.device(), f);
    else
      it->second = ops::binary(OpId::add, it->second, f);
  }
  bool inf = false;
  for (const auto& [dev, f] : flags) inf = inf || !std::isfinite(f.to_double_vector()[0]);
  found_inf_ = inf;
  stage_ = Stage::Unscaled;
  return inf;
}

bool GradScaler::unscale_(const Optimizer& opt) { return unscale_(optimizer_params(opt)); }

bool GradScaler::step(Optimizer& opt) { return step(opt, optimizer_params(opt)); }

bool GradScaler::step(Optimizer& opt, const std::vector<Tensor>& params) {
  if (!options_.enabled) {
    opt.step();
    return true;
  }
  MM_CHECK(stage_ != Stage::Stepped, Value, kOp, "step was already called this step; call update() first");
  if (stage_ == Stage::Ready) unscale_(params);
  stage_ = Stage::Stepped;
  if (found_inf_) return false;  // parameters and optimizer state untouched
  opt.step();
  return true;
}

void GradScaler::update() {
  if (!options_.enabled) return;
  MM_CHECK(stage_ != Stage::Ready, Value, kOp,
           "update: no gradients were checked since the last update (call unscale_ or step first)");
  if (found_inf_) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
  } else if (++growth_tracker_ >= options_.growth_interval) {
    const double grown = scale_ * options_.growth_factor;
    if (std::isfinite(grown)) scale_ = grown;
    growth_tracker_ = 0;
  }
  stage_ = Stage::Ready;
}

std::map<std::string, Tensor> GradScaler::state_dict() const {
  if (!options_.enabled) return {};
  return {{kScaleKey, Tensor::from_vector<double>({scale_}, {})},
          {kTrackerKey, Tensor::from_vector<int64_t>({growth_tracker_}, {})}};
}

void GradScaler::load_state_dict(const std::map<std::string, Tensor>& state) {
  if (!options_.enabled) return;
  auto get = [&](const char* key, DType dt) -> Tensor {
    auto it = state.find(key);
    MM_CHECK(it != state.end(), Value, kOp, "load_state_dict: missing key ", key,
             state.empty() ? " (the state is empty: saved from a run without loss scaling?)" : "");
    MM_CHECK(it->second.dim() == 0 && it->second.dtype() == dt, Value, kOp, "load_state_dict: ", key,
             " must be a 0-d ", dtype_name(dt), " tensor, got ", it->second.str());
    return it->second;
  };
  const double scale = get(kScaleKey, DType::F64).to_double_vector()[0];
  const Tensor tracker = ops::contiguous(ops::to_device(get(kTrackerKey, DType::I64), kCPU));
  const int64_t t = tracker.data<int64_t>()[0];
  MM_CHECK(scale > 0 && std::isfinite(scale), Value, kOp, "load_state_dict: ", kScaleKey,
           " must be positive and finite, got ", scale);
  MM_CHECK(t >= 0, Value, kOp, "load_state_dict: ", kTrackerKey, " must be non-negative, got ", t);
  scale_ = scale;
  growth_tracker_ = t;
  stage_ = Stage::Ready;
  found_inf_ = false;
}

}  // namespace mm::train
