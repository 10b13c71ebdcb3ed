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
// 1 − βᵗ use it).
struct AdamWHyper {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
  int64_t step = 1;
};

// ---- kernel signature (backends: ops/cpu/optim.cpp, ops/cuda/optim.cu) ----
// param, grad, exp_avg, exp_avg_sq: same shape, dtype (f32/f64) and device, contiguous.
using AdamWKernel = void (*)(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                             const AdamWHyper& h);

namespace ops {
// One AdamW step in place, exactly torch.optim.AdamW (amsgrad off, maximize off):
//   θ ← θ·(1 − lr·λ)
//   m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²
//   θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
// Checks shapes, dtypes, devices, contiguity and the hyper-parameters' ranges first, naming the
// offending argument; nothing is written when a check fails.
void adamw_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, const AdamWHyper& h);
}  // namespace ops

// The scalars every element uses, computed once per step in double (both backends share them, so
// CPU and CUDA updates agree to rounding). The element update, in the operation order of
// torch.optim.AdamW so f32 results match PyTorch's to rounding.

struct AdamWScalars {
  double decay;      // 1 − lr·λ
  double beta1, beta2;
  double step_size;  // lr / (1 − β₁ᵗ)
  double sqrt_bias2;  // √(1 − β₂ᵗ)
  double eps;
};
AdamWScalars adamw_scalars(const AdamWHyper& h);

template <typename T>
MM_HOST_DEVICE inline void adamw_update(T& p, T g, T& m, T& v, const AdamWScalars& s) {
  p *= static_cast<T>(s.decay);
  m = m * static_cast<T>(s.beta1) + g * static_cast<T>(1.0 - s.beta1);
  v = v * static_cast<T>(s.beta2) + g * g * static_cast<T>(1.0 - s.beta2);
  T denom = math::sqrt(v) / static_cast<T>(s.sqrt_bias2) + static_cast<T>(s.eps);
  p += -static_cast<T>(s.step_size) * (m / denom);
}

}  // namespace mm
