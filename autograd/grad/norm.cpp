// layer_norm and batch_norm with their gradients: the forward kernels return the statistics (mean,
// rstd) alongside y, and the backward node hands them to one dedicated kernel that computes dx,
// dweight and dbias together (ops/norm_math.h has the formulas and their derivation).
#include "autograd/grad/norm.h"

namespace mm {

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
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
