// Differentiable 2-D convolution: mm::conv2d (PyTorch's torch.nn.functional.conv2d).
#pragma once

#include "autograd/record.h"
#include "ops/conv.h"

namespace mm {

// x [N,C,H,W] or [C,H,W]; weight [O, C/groups, kH, kW]; bias [O] or an undefined Tensor() for none.
// groups == C (with O a multiple of C) is a depthwise convolution.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              std::array<int64_t, 2> stride = {1, 1}, std::array<int64_t, 2> padding = {0, 0},
              std::array<int64_t, 2> dilation = {1, 1}, int64_t groups = 1);

}  // namespace mm
