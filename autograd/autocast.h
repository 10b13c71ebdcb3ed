// Automatic mixed precision (torch.autocast): inside an AutocastGuard(F16 or BF16) the differentiable
// front ends pick each op's compute dtype themselves, so a model written for f32 runs its GEMMs in
// the low dtype while parameters stay f32 (master weights).
//
//   low-precision list — floating inputs (activations, weights, biases) that are not f64 are cast to
//     the low dtype with the differentiable mm::to, and the op runs in it (on CUDA the Half/BFloat16
//     GEMMs of ops/cuda/linalg.cu; the CPU GEMM computes in f32 and rounds the result to the low
//     dtype; conv2d computes in f32 on both backends and rounds its result):
//       matmul, bmm, linear, addmm, conv2d, scaled_dot_product_attention (q, k, v)
//   f32 list — f16/bf16 inputs are cast up to f32 first (results f32):
//       softmax, log_softmax, layer_norm, batch_norm, exp, log, log1p, rsqrt, reciprocal, pow,
//       pow_scalar, softplus, sum (so mean), logsumexp, var, std, norm, and the losses
//       cross_entropy, nll_loss, binary_cross_entropy_with_logits, mse_loss, normalize,
//       cosine_similarity, cdist — these composites run their whole body with autocast off (as
//       PyTorch excludes autocast inside an op it has cast), so cdist's matmul stays f32.
//   lstm — f16/bf16 inputs are cast up to f32 (its weights' dtype: the gates and the cell state stay
//     f32) and the weights are cast once per call to the low dtype for the GEMMs.
//   everything else runs in whatever dtype it gets; binary ops promote (f16 + f32 → f32), cat too.
//
// Gradients: each cast is a recorded node that hands the gradient on, and the engine casts every
// gradient to its input's dtype (autograd/engine.cpp), so parameters receive f32 gradients. Wrap the
// forward and the loss, not backward. (Backward formulas are written almost entirely with raw ops;
// the few that call differentiable functions — pow's, mul's — would follow the f32 list under a
// guard, which changes only their internal precision.)
//
// Thread-local (a loader or evaluation thread is unaffected), off by default; when off each listed
// front end pays one thread-local bool test. f32 as the guard's dtype disables autocast inside it.
// There is no cast cache (PyTorch caches casts of leaf parameters): a parameter used by several ops
// in one forward is cast once per use.
#pragma once

#include "runtime/tensor.h"

namespace mm {

namespace autocast_detail {
inline thread_local bool enabled = false;
inline thread_local DType low = DType::F32;
}  // namespace autocast_detail

// True inside an enabled AutocastGuard on this thread.
inline bool autocast_enabled() { return autocast_detail::enabled; }
// The low dtype (F16 or BF16) while enabled; F32 otherwise.
inline DType autocast_dtype() { return autocast_detail::low; }

// f16 or bf16.
inline bool is_half_dtype(DType d) { return d == DType::F16 || d == DType::BF16; }

// An f32-list front end's test: autocast is enabled and t is f16/bf16. The front end then calls itself
// again with autocast_to_f32 applied (which ends the recursion: the input is f32 then).
inline bool autocast_wants_f32(const Tensor& t) {
  return autocast_detail::enabled && t.defined() && is_half_dtype(t.dtype());
}

// A low-precision-list front end's test (while enabled): t is floating, not f64, not in the low dtype.
inline bool autocast_to_low_needed(const Tensor& t) {
  return t.defined() && is_floating(t.dtype()) && t.dtype() != DType::F64 && t.dtype() != autocast_detail::low;
}

// Enables autocast to `low` (F16 or BF16; F32 disables it) for its scope, restoring the previous
// state on exit (guards nest). Any other dtype is a DType error.
class AutocastGuard {
 public:
  explicit AutocastGuard(DType low);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool prev_enabled_;
  DType prev_low_;
};

// The casts the front ends apply while autocast is enabled (call only then). Undefined tensors, and
// tensors the rule does not apply to (integer, bool, f64; already in the target dtype), pass through.
Tensor autocast_to_low(const Tensor& t);  // floating and not f64 → autocast_dtype()
Tensor autocast_to_f32(const Tensor& t);  // f16 / bf16 → f32

}  // namespace mm
