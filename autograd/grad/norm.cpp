// layer_norm and batch_norm with their gradients: the forward kernels return the statistics (mean,
// rstd) alongside y, and the backward node hands them to one dedicated kernel that computes dx,
// dweight and dbias together (ops/norm_math.h has the formulas and their derivation).
#include "autograd/grad/norm.h"

#include "autograd/autocast.h"

namespace mm {

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  // Autocast's f32 list (autograd/autocast.h): f16/bf16 operands are cast up (the result is f32).
  if (autocast_wants_f32(x) || autocast_wants_f32(weight) || autocast_wants_f32(bias)) [[unlikely]]
    return layer_norm(autocast_to_f32(x), normalized_shape, autocast_to_f32(weight), autocast_to_f32(bias), eps);
  ops::NormOutput r = ops::layer_norm(x, normalized_shape, weight, bias, eps);
  if (needs_grad({x, weight, bias}))
    record("layer_norm", {x, weight, bias}, {r.y},
           [x = saved(x), w = saved(weight), mean = r.mean, rstd = r.rstd, normalized_shape](const GradContext& c) {
             ops::NormGrads g = ops::layer_norm_backward(c.grad(), x, normalized_shape, mean, rstd, w,
                                                         {c.needs_grad(0), c.needs_grad(1), c.needs_grad(2)});
             return TensorList{g.dx, g.dweight, g.dbias};
           });
  return r.y;
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  // Autocast's f32 list: x, weight and bias cast up (the running statistics are f32 buffers already).
  if (autocast_wants_f32(x) || autocast_wants_f32(weight) || autocast_wants_f32(bias)) [[unlikely]]
    return batch_norm(autocast_to_f32(x), running_mean, running_var, autocast_to_f32(weight), autocast_to_f32(bias),
                      training, momentum, eps);
  ops::NormOutput r = ops::batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps);
  // The running statistics are buffers, not inputs of the gradient: only x, weight and bias are recorded.
  if (needs_grad({x, weight, bias}))
    record("batch_norm", {x, weight, bias}, {r.y},
           [x = saved(x), w = saved(weight), mean = r.mean, rstd = r.rstd, training](const GradContext& c) {
             ops::NormGrads g = ops::batch_norm_backward(c.grad(), x, mean, rstd, w, training,
                                                         {c.needs_grad(0), c.needs_grad(1), c.needs_grad(2)});
             return TensorList{g.dx, g.dweight, g.dbias};
           });
  return r.y;
}

}  // namespace mm
