// conv2d and its gradient. The backward is one fused kernel (ops::conv2d_backward) computing the
// input, weight and bias gradients that are needed: grad_x = col2im(Wᵀ · grad_out),
// grad_W = Σ_n grad_out[n] · im2col(x[n])ᵀ, grad_b = Σ_{n,p} grad_out (see ops/cpu/conv.cpp).
#include "autograd/grad/conv.h"

#include "autograd/autocast.h"

namespace mm {

namespace {

Tensor conv2d_f(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  Tensor y = ops::conv2d(x, weight, bias, p);
  if (needs_grad({x, weight, bias})) {
    record("conv2d", {x, weight, bias}, {y},
           [x = saved(x), w = saved(weight), has_bias = bias.defined(), p](const GradContext& c) {
             ops::Conv2dGrads g =
                 ops::conv2d_backward(c.grad(), x, w, p, {c.needs_grad(0), c.needs_grad(1), has_bias && c.needs_grad(2)});
             return TensorList{g.input, g.weight, g.bias};
           });
  }
  return y;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::array<int64_t, 2> stride,
              std::array<int64_t, 2> padding, std::array<int64_t, 2> dilation, int64_t groups) {
  Conv2dParams p{stride, padding, dilation, groups};
  // Autocast's low-precision list (autograd/autocast.h): input, weight and bias in the low dtype.
  if (autocast_enabled()) [[unlikely]]
    return conv2d_f(autocast_to_low(x), autocast_to_low(weight), autocast_to_low(bias), p);
  return conv2d_f(x, weight, bias, p);
}

}  // namespace mm
