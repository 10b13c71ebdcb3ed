// 2-D pooling (no autograd): max_pool2d (with argmax indices), avg_pool2d, adaptive_avg_pool2d and
// their backward kernels, PyTorch semantics. The differentiable versions are in autograd/grad/pool.h.
//
// Inputs are [N,C,H,W] or unbatched [C,H,W]; every (n, c) plane is pooled independently, so kernels
// see the input as `planes` = N·C planes of H×W.
#pragma once

#include <array>

#include "ops/kernels.h"
#include "runtime/macros.h"

namespace mm {

// Plain data (passed by value to CUDA kernels).
struct Pool2dGeometry {
  int64_t planes = 0;       // N·C
  int64_t H = 0, W = 0;     // input plane
  int64_t OH = 0, OW = 0;   // output plane
  int64_t kH = 1, kW = 1, sH = 1, sW = 1, pH = 0, pW = 0, dH = 1, dW = 1;
  bool count_include_pad = true;  // avg_pool2d only
};

// [N,C,OH,OW] for a [N,C,H,W] input, [C,OH,OW] for [C,H,W].
Shape pool2d_output_shape(const Shape& x, const Pool2dGeometry& g);

// Window geometry of max_pool2d / avg_pool2d for an input of shape `x` ([N,C,H,W] or [C,H,W]).
// `stride` {0,0} means "equal to the kernel" (PyTorch's stride=None). Checks ranks, sizes and the
// padding <= kernel/2 rule; `op` names the caller.
Pool2dGeometry pool2d_geometry(const Shape& x, std::array<int64_t, 2> kernel_size, std::array<int64_t, 2> stride,
                               std::array<int64_t, 2> padding, std::array<int64_t, 2> dilation, bool ceil_mode,
                               const char* op);
Pool2dGeometry adaptive_pool2d_geometry(const Shape& x, std::array<int64_t, 2> output_size, const char* op);

// ---- window math shared by the CPU loops and the CUDA kernels ----

// Adaptive pooling bins (PyTorch's formula): output cell o of `out` covers input [start, end) with
// start = floor(o·in/out), end = ceil((o+1)·in/out). Bins overlap when in is not a multiple of out.
MM_HOST_DEVICE inline int64_t adaptive_start(int64_t o, int64_t in, int64_t out) { return (o * in) / out; }
MM_HOST_DEVICE inline int64_t adaptive_end(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

// avg_pool2d window of output (oh, ow) clipped to the input, and the divisor PyTorch uses: the
// window's size counted against the input plus padding (count_include_pad), or only its real input
// elements. The padded window is also clipped at H + pad: with ceil_mode the last window may stick
// out past the padding, and that part is never counted.
struct AvgWindow {
  int64_t h0, h1, w0, w1;  // [h0, h1) × [w0, w1) inside the input
  int64_t divisor;
};
MM_HOST_DEVICE inline AvgWindow avg_window(const Pool2dGeometry& g, int64_t oh, int64_t ow) {
  int64_t h0 = oh * g.sH - g.pH, w0 = ow * g.sW - g.pW;
  int64_t h1 = h0 + g.kH < g.H + g.pH ? h0 + g.kH : g.H + g.pH;
  int64_t w1 = w0 + g.kW < g.W + g.pW ? w0 + g.kW : g.W + g.pW;
  int64_t padded = (h1 - h0) * (w1 - w0);
  h0 = h0 > 0 ? h0 : 0;
  w0 = w0 > 0 ? w0 : 0;
  h1 = h1 < g.H ? h1 : g.H;
  w1 = w1 < g.W ? w1 : g.W;
  int64_t real = (h1 - h0) * (w1 - w0);
  return {h0, h1, w0, w1, g.count_include_pad ? padded : real};
}

// First and one-past-last window tap j (position start + j·dilation) that falls inside [0, len).
struct TapRange {
  int64_t lo, hi;
};
MM_HOST_DEVICE inline TapRange tap_range(int64_t start, int64_t kernel, int64_t dilation, int64_t len) {
  int64_t lo = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  int64_t hi = len - start <= 0 ? 0 : (len - start + dilation - 1) / dilation;
  hi = hi < kernel ? hi : kernel;
  return {lo, hi > lo ? hi : lo};
}

// Outputs o in [lo, hi) whose window (start o·stride − pad, `span` input positions long) can touch
// input position i: o·stride − pad ≤ i ≤ o·stride − pad + span − 1. Used by the gather-style
// backward kernels (each input pixel sums the gradients of the windows that read it).
MM_HOST_DEVICE inline TapRange windows_touching(int64_t i, int64_t stride, int64_t pad, int64_t span, int64_t out) {
  int64_t a = i + pad - span + 1;  // o·stride ≥ a
  int64_t lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  int64_t hi = (i + pad) / stride + 1;  // o·stride ≤ i + pad
  hi = hi < out ? hi : out;
  return {lo, hi > lo ? hi : lo};
}

// Kernels see contiguous tensors in f32 or f64; outputs are allocated contiguous by the front end.
// max: values and i64 indices (flat h·W + w within the input plane, as PyTorch).
using MaxPool2dKernel = void (*)(const Tensor& x, const Pool2dGeometry& g, Tensor& out, Tensor& indices);
// grad_x (zeroed by the kernel) receives grad_out at each output's argmax.
using MaxPool2dBackwardKernel = void (*)(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g,
                                         Tensor& grad_x);
// avg_pool2d and adaptive_avg_pool2d (the op id tells which geometry rule applies).
using AvgPool2dKernel = void (*)(OpId op, const Tensor& x, const Pool2dGeometry& g, Tensor& out);
using AvgPool2dBackwardKernel = void (*)(OpId op, const Tensor& grad_out, const Pool2dGeometry& g, Tensor& grad_x);

namespace ops {

struct MaxPool2dResult {
  Tensor values;
  Tensor indices;  // i64, same shape as values; -1 marks a window that lies entirely in the padding
};
MaxPool2dResult max_pool2d_with_indices(const Tensor& x, std::array<int64_t, 2> kernel_size,
                                        std::array<int64_t, 2> stride = {0, 0}, std::array<int64_t, 2> padding = {0, 0},
                                        std::array<int64_t, 2> dilation = {1, 1}, bool ceil_mode = false);
// Gradient of max_pool2d w.r.t. an input of shape `input_shape`: each grad_out element goes to its
// argmax. Indices are checked to lie in [-1, H·W) (-1: no input element, no gradient).
Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& input_shape,
                           std::array<int64_t, 2> kernel_size, std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                           std::array<int64_t, 2> dilation, bool ceil_mode);
Tensor avg_pool2d(const Tensor& x, std::array<int64_t, 2> kernel_size, std::array<int64_t, 2> stride = {0, 0},
                  std::array<int64_t, 2> padding = {0, 0}, bool ceil_mode = false, bool count_include_pad = true);
Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, std::array<int64_t, 2> kernel_size,
                           std::array<int64_t, 2> stride, std::array<int64_t, 2> padding, bool ceil_mode,
                           bool count_include_pad);
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size);
Tensor adaptive_avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, std::array<int64_t, 2> output_size);

}  // namespace ops
}  // namespace mm
