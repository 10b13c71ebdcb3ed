// Optimizer updates as ops: one fused kernel per update rule, so a step reads and writes each
// parameter and its state once (llm.c's AdamW kernel, torch.optim's `fused=True`), on CPU and CUDA.
// The optimizers themselves (parameter groups, state, schedules) live in train/optim.h; this layer
// only updates tensors in place and never records autograd history.
#pragma once

#include <cstdint>

#include "ops/kernels.h"
#include "ops/math/scalar_math.h"

namespace mm {

// torch.optim.AdamW's hyper-parameters for one step. `step` counts from 1 (the bias corrections
// 1 − βᵗ use it). decoupled_weight_decay = false turns the update into torch.optim.Adam's: the decay
// becomes an L2 term added to the gradient (g ← g + λθ) instead of shrinking θ directly, so it is
// rescaled by the adaptive denominator (the difference Loshchilov & Hutter's AdamW removed).
struct AdamWHyper {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
  int64_t step = 1;
  bool decoupled_weight_decay = true;
};

// torch.optim.SGD's hyper-parameters for one step (dampening 0, maximize off). `step` counts from 1:
// at a parameter's first step the momentum buffer is set to the gradient, as torch creates it.
struct SgdHyper {
  double lr = 1e-3, momentum = 0.0, weight_decay = 0.0;
  bool nesterov = false;
  int64_t step = 1;
};

// ---- kernel signature (backends: ops/cpu/optim.cpp, ops/cuda/optim.cu) ----
// param, grad, exp_avg, exp_avg_sq: same shape, dtype (f32/f64) and device, contiguous.
using AdamWKernel = void (*)(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                             const AdamWHyper& h);
// param, grad and (when h.momentum > 0) momentum_buffer as above; with momentum 0 the buffer is
// undefined and never touched.
using SgdKernel = void (*)(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdHyper& h);

namespace ops {
// One AdamW step in place, exactly torch.optim.AdamW (amsgrad off, maximize off):
//   θ ← θ·(1 − lr·λ)
//   m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²
//   θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
// Checks shapes, dtypes, devices, contiguity and the hyper-parameters' ranges first, naming the
// offending argument; nothing is written when a check fails.
// With h.decoupled_weight_decay = false, torch.optim.Adam: no θ·(1 − lr·λ), and g ← g + λθ first.
void adamw_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, const AdamWHyper& h);

// One SGD step in place, exactly torch.optim.SGD (dampening 0):
//   d ← g + λθ
//   momentum μ > 0:  b ← d at the first step, else b ← μb + d;  d ← d + μb (nesterov) or b
//   θ ← θ − lr·d
// momentum_buffer may be undefined when μ = 0. Checks as adamw_step; nesterov needs μ > 0.
void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdHyper& h);
}  // namespace ops

// The scalars every element uses, computed once per step in double (both backends share them, so
// CPU and CUDA updates agree to rounding). The element update, in the operation order of
// torch.optim.AdamW so f32 results match PyTorch's to rounding.

struct AdamWScalars {
  double decay;      // 1 − lr·λ (AdamW), 1 (Adam)
  double l2;         // λ (Adam), 0 (AdamW)
  double beta1, beta2;
  double step_size;  // lr / (1 − β₁ᵗ)
  double sqrt_bias2;  // √(1 − β₂ᵗ)
  double eps;
};
AdamWScalars adamw_scalars(const AdamWHyper& h);

template <typename T>
MM_HOST_DEVICE inline void adamw_update(T& p, T g, T& m, T& v, const AdamWScalars& s) {
  p *= static_cast<T>(s.decay);
  if (s.l2 != 0) g = g + static_cast<T>(s.l2) * p;  // torch.optim.Adam: grad.add(param, alpha=λ)
  m = m * static_cast<T>(s.beta1) + g * static_cast<T>(1.0 - s.beta1);
  v = v * static_cast<T>(s.beta2) + g * g * static_cast<T>(1.0 - s.beta2);
  T denom = math::sqrt(v) / static_cast<T>(s.sqrt_bias2) + static_cast<T>(s.eps);
  p += -static_cast<T>(s.step_size) * (m / denom);
}

struct SgdScalars {
  double lr, momentum, weight_decay;
  bool nesterov;
  bool first;  // the parameter's first step: the buffer takes d (torch clones it), its old value unread
};
SgdScalars sgd_scalars(const SgdHyper& h);

// torch.optim.SGD's operation order (_single_tensor_sgd). `b` is not read or written when μ = 0.
template <typename T>
MM_HOST_DEVICE inline void sgd_update(T& p, T g, T& b, const SgdScalars& s) {
  T d = g;
  if (s.weight_decay != 0) d = d + static_cast<T>(s.weight_decay) * p;
  if (s.momentum != 0) {
    b = s.first ? d : b * static_cast<T>(s.momentum) + d;
    d = s.nesterov ? d + static_cast<T>(s.momentum) * b : b;
  }
  p = p + static_cast<T>(-s.lr) * d;
}

}  // namespace mm
