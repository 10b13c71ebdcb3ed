// Front end of the optimizer-update ops (ops/optim.h): argument checks, then the backend's kernel.
#include "ops/optim.h"

#include <cmath>

namespace mm {

AdamWScalars adamw_scalars(const AdamWHyper& h) {
  double t = static_cast<double>(h.step);
  const bool d = h.decoupled_weight_decay;
  return {d ? 1.0 - h.lr * h.weight_decay : 1.0,
          d ? 0.0 : h.weight_decay,
          h.beta1,
          h.beta2,
          h.lr / (1.0 - std::pow(h.beta1, t)),
          std::sqrt(1.0 - std::pow(h.beta2, t)),
          h.eps};
}

SgdScalars sgd_scalars(const SgdHyper& h) { return {h.lr, h.momentum, h.weight_decay, h.nesterov, h.step == 1}; }

namespace {

using Arg = std::pair<const Tensor*, const char*>;

// Every tensor of an update matches the parameter (shape, dtype, device) and is contiguous, and the
// parameter is floating: checked before any kernel runs, so a failed check writes nothing.
void check_tensors(const char* op, const Tensor& param, std::initializer_list<Arg> args) {
  for (auto [t, name] : args) {
    MM_CHECK(t->defined(), Value, op, name, " is undefined");
    MM_CHECK(t->shape() == param.shape(), Shape, op, name, " has shape ", shape_str(t->shape()), " but param has ",
             shape_str(param.shape()));
    MM_CHECK(t->dtype() == param.dtype(), DType, op, name, " is ", dtype_name(t->dtype()), " but param is ",
             dtype_name(param.dtype()));
    MM_CHECK(t->device() == param.device(), Device, op, name, " is on ", t->device().str(), " but param is on ",
             param.device().str());
    MM_CHECK(t->is_contiguous(), Value, op, name, " must be contiguous (optimizer state is allocated contiguous)");
  }
  MM_CHECK(param.dtype() == DType::F32 || param.dtype() == DType::F64, DType, op,
           "param must be f32 or f64 (keep f32 master weights for lower-precision models), got ",
           dtype_name(param.dtype()));
}

void check_common(const char* op, int64_t step, double lr, double weight_decay) {
  MM_CHECK(step >= 1, Value, op, "step counts from 1, got ", step);
  MM_CHECK(std::isfinite(lr) && lr >= 0, Value, op, "lr must be finite and >= 0, got ", lr);
  MM_CHECK(std::isfinite(weight_decay) && weight_decay >= 0, Value, op, "weight_decay must be >= 0, got ",
           weight_decay);
}

}  // namespace

namespace ops {

void adamw_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, const AdamWHyper& h) {
  const char* op = "adamw_step";
  check_tensors(op, param, {{&param, "param"}, {&grad, "grad"}, {&exp_avg, "exp_avg"}, {&exp_avg_sq, "exp_avg_sq"}});
  check_common(op, h.step, h.lr, h.weight_decay);
  MM_CHECK(h.beta1 >= 0 && h.beta1 < 1, Value, op, "beta1 must be in [0, 1), got ", h.beta1);
  MM_CHECK(h.beta2 >= 0 && h.beta2 < 1, Value, op, "beta2 must be in [0, 1), got ", h.beta2);
  MM_CHECK(h.eps > 0, Value, op, "eps must be > 0, got ", h.eps);
  if (param.numel() == 0) return;
  kernel<AdamWKernel>(OpId::adamw_step, param.device())(param, grad, exp_avg, exp_avg_sq, h);
}

void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdHyper& h) {
  const char* op = "sgd_step";
  MM_CHECK(param.defined(), Value, op, "param is undefined");
  if (h.momentum != 0)
    check_tensors(op, param, {{&param, "param"}, {&grad, "grad"}, {&momentum_buffer, "momentum_buffer"}});
  else
    check_tensors(op, param, {{&param, "param"}, {&grad, "grad"}});
  check_common(op, h.step, h.lr, h.weight_decay);
  MM_CHECK(h.momentum >= 0 && h.momentum < 1, Value, op, "momentum must be in [0, 1), got ", h.momentum);
  MM_CHECK(!h.nesterov || h.momentum > 0, Value, op, "nesterov needs momentum > 0 (as torch.optim.SGD)");
  if (param.numel() == 0) return;
  kernel<SgdKernel>(OpId::sgd_step, param.device())(param, grad, momentum_buffer, h);
}

}  // namespace ops
}  // namespace mm
