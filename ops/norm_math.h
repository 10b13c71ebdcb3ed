// The scalar math of layer_norm and batch_norm, shared by the CPU loops (ops/cpu/norm.cpp) and the
// CUDA kernels (ops/cuda/norm.cu). Backends differ only in how they iterate and reduce.
//
// Forward, over the n elements of one row (layer_norm) or one channel (batch_norm):
//   μ = Σx / n,   σ² = Σ(x − μ)² / n  (biased),   rstd = 1 / √(σ² + eps)
//   x̂ = (x − μ)·rstd,   y = x̂·w + b
//
// Backward. With g = dy·w (the gradient reaching x̂):
//   ∂x̂_j/∂x_i = rstd·(δ_ij − 1/n) − (x_j − μ)·rstd³·(x_i − μ)/n = rstd·(δ_ij − 1/n − x̂_i·x̂_j/n)
// (μ and σ² both depend on every x_i; the second term is the σ² path), so
//   dx_i = Σ_j g_j·∂x̂_j/∂x_i = rstd·(g_i − mean(g) − x̂_i·mean(g·x̂))
//   dw = Σ dy·x̂,   db = Σ dy   (summed over rows for layer_norm, within the channel for batch_norm)
// These are the equations of Ioffe & Szegedy, "Batch Normalization" (2015), §3, collapsed into one
// expression; layer_norm (Ba et al. 2016) is the same algebra over the other axis. In batch_norm's
// eval mode μ and rstd are the running statistics — constants — so dx = g·rstd.
#pragma once

#include "ops/math/scalar_math.h"

namespace mm::norm {

template <typename Acc>
MM_HOST_DEVICE MM_INLINE Acc rstd(Acc biased_var, Acc eps) {
  return Acc(1) / math::sqrt(biased_var + eps);
}

// y = (x − μ)·rstd·w + b
template <typename Acc>
MM_HOST_DEVICE MM_INLINE Acc affine(Acc x, Acc mean, Acc rstd, Acc w, Acc b) {
  return (x - mean) * rstd * w + b;
}

// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), with g = dy·w.
template <typename Acc>
MM_HOST_DEVICE MM_INLINE Acc dx(Acc g, Acc xhat, Acc rstd, Acc mean_g, Acc mean_gxhat) {
  return rstd * (g - mean_g - xhat * mean_gxhat);
}

// Running-statistics update (PyTorch): running = (1 − m)·running + m·stat, where the variance
// stat is the unbiased one, σ²·n/(n − 1) (n > 1 is checked by the front end).
template <typename Acc>
MM_HOST_DEVICE MM_INLINE Acc running_update(Acc running, Acc stat, Acc momentum) {
  return (Acc(1) - momentum) * running + momentum * stat;
}

}  // namespace mm::norm
