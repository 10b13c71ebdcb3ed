// softmax / log_softmax: the backward needs only the forward output y (not x), and runs as one
// fused kernel per slice (ops::softmax_backward), saving the temporaries of a composed formula.
#include "autograd/grad/softmax.h"

#include "autograd/autocast.h"

namespace mm {

// Both are on autocast's f32 list (autograd/autocast.h): f16/bf16 inputs are cast up first.
Tensor softmax(const Tensor& x, int64_t dim) {
  if (autocast_wants_f32(x)) [[unlikely]]
    return softmax(autocast_to_f32(x), dim);
  Tensor y = ops::softmax(x, dim);
  if (needs_grad({x}))
    record("softmax", {x}, {y}, [dim, y = saved(y)](const GradContext& c) {
      // dy_i/dx_j = y_i (δ_ij − y_j)  ⇒  gx = y ⊙ (g − Σ g ⊙ y)
      return TensorList{ops::softmax_backward(c.grad(), y, dim)};
    });
  return y;
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  if (autocast_wants_f32(x)) [[unlikely]]
    return log_softmax(autocast_to_f32(x), dim);
  Tensor y = ops::log_softmax(x, dim);
  if (needs_grad({x}))
    record("log_softmax", {x}, {y}, [dim, y = saved(y)](const GradContext& c) {
      // dy_i/dx_j = δ_ij − softmax_j  ⇒  gx = g − exp(y) Σ g
      return TensorList{ops::log_softmax_backward(c.grad(), y, dim)};
    });
  return y;
}

}  // namespace mm
