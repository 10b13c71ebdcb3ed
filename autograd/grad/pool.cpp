// Pooling and its gradients, each a dedicated backward kernel: max pooling routes every output
// gradient to its argmax (saved as indices, so the input itself need not be kept); average pooling
// spreads it evenly over the window (divided by the same divisor as the forward).
#include "autograd/grad/pool.h"

namespace mm {

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, std::array<int64_t, 2> kernel,
                                                  std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                                                  std::array<int64_t, 2> dilation, bool ceil_mode) {
  ops::MaxPool2dResult r = ops::max_pool2d_with_indices(x, kernel, stride, padding, dilation, ceil_mode);
  if (needs_grad({x})) {
    record("max_pool2d", {x}, {r.values, r.indices},
           [idx = saved(r.indices), shape = x.shape(), kernel, stride, padding, dilation, ceil_mode](const GradContext& c) {
             return TensorList{
                 ops::max_pool2d_backward(c.grad(), idx, shape, kernel, stride, padding, dilation, ceil_mode)};
           });
  }
  return {r.values, r.indices};
}

Tensor max_pool2d(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                  std::array<int64_t, 2> padding, std::array<int64_t, 2> dilation, bool ceil_mode) {
  return max_pool2d_with_indices(x, kernel, stride, padding, dilation, ceil_mode).first;
}

Tensor avg_pool2d(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                  std::array<int64_t, 2> padding, bool ceil_mode, bool count_include_pad) {
  Tensor y = ops::avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad);
  if (needs_grad({x})) {
    record("avg_pool2d", {x}, {y},
           [shape = x.shape(), kernel, stride, padding, ceil_mode, count_include_pad](const GradContext& c) {
             return TensorList{
                 ops::avg_pool2d_backward(c.grad(), shape, kernel, stride, padding, ceil_mode, count_include_pad)};
           });
  }
  return y;
}

Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size) {
  Tensor y = ops::adaptive_avg_pool2d(x, output_size);
  if (needs_grad({x})) {
    record("adaptive_avg_pool2d", {x}, {y}, [shape = x.shape(), output_size](const GradContext& c) {
      return TensorList{ops::adaptive_avg_pool2d_backward(c.grad(), shape, output_size)};
    });
  }
  return y;
}

}  // namespace mm
