// Differentiable 2-D pooling: mm::max_pool2d, mm::avg_pool2d, mm::adaptive_avg_pool2d (PyTorch's
// torch.nn.functional versions). Inputs [N,C,H,W] or [C,H,W]. A stride of {0,0} means "equal to the
// kernel size" (PyTorch's default stride=None).
#pragma once

#include <utility>

#include "autograd/record.h"
#include "ops/pool.h"

namespace mm {

Tensor max_pool2d(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride = {0, 0},
                  std::array<int64_t, 2> padding = {0, 0}, std::array<int64_t, 2> dilation = {1, 1},
                  bool ceil_mode = false);
// Values (differentiable) and i64 argmax indices (flat h·W + w within each input plane).
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, std::array<int64_t, 2> kernel,
                                                  std::array<int64_t, 2> stride = {0, 0},
                                                  std::array<int64_t, 2> padding = {0, 0},
                                                  std::array<int64_t, 2> dilation = {1, 1}, bool ceil_mode = false);
Tensor avg_pool2d(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride = {0, 0},
                  std::array<int64_t, 2> padding = {0, 0}, bool ceil_mode = false, bool count_include_pad = true);
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size);

}  // namespace mm
