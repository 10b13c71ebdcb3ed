// 2-D convolution (no autograd): conv2d and its backward kernel, PyTorch semantics (cross-correlation,
// stride, zero padding, dilation, groups including depthwise). The differentiable mm::conv2d is in
// autograd/grad/conv.h.
//
// Shapes: x [N,C,H,W] (or unbatched [C,H,W]), weight [O, C/groups, kH, kW], bias [O] (optional),
// out [N,O,OH,OW] with OH = (H + 2·pH − dH·(kH−1) − 1) / sH + 1 (floor), likewise OW.
#pragma once

#include <array>

#include "ops/kernels.h"
#include "runtime/macros.h"

namespace mm {

struct Conv2dParams {
  std::array<int64_t, 2> stride = {1, 1};
  std::array<int64_t, 2> padding = {0, 0};
  std::array<int64_t, 2> dilation = {1, 1};
  int64_t groups = 1;
};

// Validated geometry of one convolution; an unbatched input is seen as N = 1. Plain data (passed by
// value to CUDA kernels).
struct Conv2dGeometry {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input
  int64_t O = 0, kH = 0, kW = 0;       // weight [O, C/groups, kH, kW]
  int64_t OH = 0, OW = 0;              // output spatial size
  int64_t sH = 1, sW = 1, pH = 0, pW = 0, dH = 1, dW = 1;
  int64_t groups = 1;
  bool batched = true;  // input was [N,C,H,W] (false: [C,H,W])

  MM_HOST_DEVICE int64_t Cg() const { return C / groups; }          // input channels per group
  MM_HOST_DEVICE int64_t Og() const { return O / groups; }          // output channels per group
  MM_HOST_DEVICE int64_t P() const { return OH * OW; }              // output pixels per channel
  MM_HOST_DEVICE int64_t K() const { return Cg() * kH * kW; }       // GEMM reduction length per group
  // Each output channel sees exactly one input channel: a direct loop beats im2col + GEMM.
  MM_HOST_DEVICE bool depthwise() const { return groups > 1 && Cg() == 1; }
  // 1x1, stride 1, no padding: the input plane already is the im2col matrix.
  MM_HOST_DEVICE bool pointwise() const { return kH == 1 && kW == 1 && sH == 1 && sW == 1 && pH == 0 && pW == 0; }
};

// Checks every argument (ranks, shapes, groups, dtypes, devices, stride/padding/dilation ranges) and
// returns the geometry. `op` names the caller in error messages.
Conv2dGeometry conv2d_geometry(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p,
                               const char* op);

// Kernels see contiguous tensors of one dtype (f32 or f64): x [N,C,H,W], weight [O,Cg,kH,kW],
// bias [O] or null, out [N,O,OH,OW].
using Conv2dKernel = void (*)(const Tensor& x, const Tensor& weight, const Tensor* bias, const Conv2dGeometry& g,
                              Tensor& out);
// Gradients of conv2d given grad_out [N,O,OH,OW]. Each output pointer may be null (not needed);
// non-null ones are allocated (contiguous) by the front end and fully overwritten by the kernel.
// Deterministic: the weight gradient is summed over the batch in a fixed order.
using Conv2dBackwardKernel = void (*)(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                                      const Conv2dGeometry& g, Tensor* grad_x, Tensor* grad_weight,
                                      Tensor* grad_bias);

namespace ops {

// bias may be an undefined Tensor(). f16/bf16 inputs are computed in f32 and returned in their dtype.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p = {});

struct Conv2dGrads {
  Tensor input, weight, bias;  // undefined where not requested
};
// needs = {input, weight, bias}; a bias gradient is the sum of grad_out over N, OH, OW.
Conv2dGrads conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Conv2dParams& p,
                            std::array<bool, 3> needs);

}  // namespace ops
}  // namespace mm
