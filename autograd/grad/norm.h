// Differentiable normalisation layers: mm::layer_norm and mm::batch_norm (forward and backward
// kernels in ops/norm.cpp; formulas in ops/norm_math.h).
#pragma once

#include "autograd/record.h"
#include "ops/norm.h"

namespace mm {

// PyTorch's F.layer_norm: normalises x over its trailing dims `normalized_shape` (biased variance),
// then scales by weight and shifts by bias (both of shape normalized_shape; undefined = none).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// PyTorch's F.batch_norm over x [N, C, ...]. training: batch statistics per channel, and — when
// running_mean/running_var are given — an in-place update running = (1 − momentum)·running +
// momentum·stat with the unbiased batch variance. eval: the running statistics (required) are used
// and are constants for the gradient. weight/bias [C] optional.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), bool training = true,
                  double momentum = 0.1, double eps = 1e-5);

}  // namespace mm
