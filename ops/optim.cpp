// Front end of the optimizer-update ops (ops/optim.h): argument checks, then the backend's kernel.
#include "ops/optim.h"

#include <cmath>

namespace mm {

AdamWScalars adamw_scalars(const AdamWHyper& h) {
  double t = static_cast<double>(h.step);
  return {1.0 - h.lr * h.weight_decay, h.beta1, h.beta2, h.lr / (1.0 - std::pow(h.beta1, t)),
          std::sqrt(1.0 - std::pow(h.beta2, t)), h.eps};
}

namespace ops {

void adamw_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, const AdamWHyper& h) {
  const char* op = "adamw_step";
  const std::pair<const Tensor*, const char*> args[] = {
      {&param, "param"}, {&grad, "grad"}, {&exp_avg, "exp_avg"}, {&exp_avg_sq, "exp_avg_sq"}};
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
  MM_CHECK(h.step >= 1, Value, op, "step counts from 1, got ", h.step);
  MM_CHECK(std::isfinite(h.lr) && h.lr >= 0, Value, op, "lr must be finite and >= 0, got ", h.lr);
  MM_CHECK(h.beta1 >= 0 && h.beta1 < 1, Value, op, "beta1 must be in [0, 1), got ", h.beta1);
  MM_CHECK(h.beta2 >= 0 && h.beta2 < 1, Value, op, "beta2 must be in [0, 1), got ", h.beta2);
  MM_CHECK(h.eps > 0, Value, op, "eps must be > 0, got ", h.eps);
  MM_CHECK(std::isfinite(h.weight_decay) && h.weight_decay >= 0, Value, op, "weight_decay must be >= 0, got ",
           h.weight_decay);
  if (param.numel() == 0) return;
  kernel<AdamWKernel>(OpId::adamw_step, param.device())(param, grad, exp_avg, exp_avg_sq, h);
}

}  // namespace ops
}  // namespace mm
