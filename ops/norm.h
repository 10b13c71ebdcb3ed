// Normalisation layers (no autograd): layer_norm and batch_norm with fused forward kernels that also
// return the statistics (mean, rstd = 1/√(var + eps)) and dedicated backward kernels that compute
// dx, dweight and dbias together. Formulas: ops/norm_math.h. Differentiable versions:
// autograd/grad/norm.h.
#pragma once

#include <array>

#include "ops/kernels.h"

namespace mm {

// Kernels see contiguous tensors in one compute dtype (f32 or f64). An undefined weight means 1, an
// undefined bias 0; an undefined output of a backward kernel is not computed.
//
// layer_norm: x [rows, D] → y [rows, D], mean [rows], rstd [rows].
using LayerNormKernel = void (*)(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor& y,
                                 Tensor& mean, Tensor& rstd);
// dx [rows, D], dweight [D], dbias [D] from dy [rows, D] and the saved statistics.
using LayerNormBackwardKernel = void (*)(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                         const Tensor& weight, Tensor& dx, Tensor& dweight, Tensor& dbias);
// batch_norm: x [N, C, S] (S = product of the spatial dims) → y [N, C, S], mean [C], rstd [C].
// training: batch statistics; running_mean/var [C] (when defined) are updated in place with the
// unbiased variance. eval: the running statistics are used (and returned as mean/rstd).
using BatchNormKernel = void (*)(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                 const Tensor& running_mean, const Tensor& running_var, bool training,
                                 double momentum, double eps, Tensor& y, Tensor& mean, Tensor& rstd);
// dx [N, C, S], dweight [C], dbias [C]; `training` says whether mean/rstd depended on x.
using BatchNormBackwardKernel = void (*)(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                         const Tensor& weight, bool training, Tensor& dx, Tensor& dweight,
                                         Tensor& dbias);

// For the backends (ops/cpu/norm.cpp, ops/cuda/norm.cu): the data of an optional tensor (weight,
// bias, a backward output), nullptr when it is undefined.
template <typename T>
const T* opt_data(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <typename T>
T* opt_mut(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

namespace ops {

// The normalised output and the statistics the backward pass needs (compute dtype: f32 for
// f32/f16/bf16 inputs, f64 for f64).
struct NormOutput {
  Tensor y, mean, rstd;
};
struct NormGrads {
  Tensor dx, dweight, dbias;  // undefined where not requested
};
// Which of (x, weight, bias) need a gradient.
using NormNeeds = std::array<bool, 3>;

// PyTorch's layer_norm: normalises over the trailing dims `normalized_shape` (biased variance);
// weight/bias (shape normalized_shape) optional.
NormOutput layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                      double eps = 1e-5);
NormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Shape& normalized_shape, const Tensor& mean,
                              const Tensor& rstd, const Tensor& weight, NormNeeds needs);

// PyTorch's batch_norm over x [N, C, ...]: statistics per channel C over N and the spatial dims.
// running_mean/running_var: both or neither; required in eval mode; updated in place in training.
NormOutput batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                      const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, bool training, NormNeeds needs);

}  // namespace ops
}  // namespace mm
