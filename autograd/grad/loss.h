// Losses and distances: cross_entropy, nll_loss, binary_cross_entropy_with_logits, mse_loss,
// normalize, cosine_similarity, cdist.
//
// All are composites (op table: Composite) written with differentiable framework ops, so they run on
// every backend their parts run on and their gradients come from the parts' backward formulas (mm::norm
// gives 0 at a zero norm, like PyTorch). Only cdist's matmul form records a node of its own.
// Semantics follow torch.nn.functional; differences are stated at each function.
#pragma once

#include <cstdint>

#include "autograd/record.h"

namespace mm {

// How per-element losses are combined: None keeps them, Mean averages, Sum adds.
enum class Reduction { None, Mean, Sum };

// Cross entropy of unnormalised `logits` against `target`, = nll_loss(log_softmax(logits, 1), ...)
// plus label smoothing. Shapes (class dim is 1, as in PyTorch):
//   logits [N,C] or [N,C,d1,...] or unbatched [C];
//   target either class indices (integer dtype) [N] / [N,d1,...] / [] with values in [0,C) or
//          ignore_index, or class probabilities (floating) with logits' shape.
// Class indices: loss_n = (1-ε)·(−lp[n,t_n]) + ε/C·Σ_c(−lp[n,c]) for targets ≠ ignore_index, 0 for
// ignored ones; Mean divides by the number of non-ignored targets (NaN when all are ignored, as in
// PyTorch). Probabilities: loss_n = −Σ_c lp[n,c]·((1-ε)·y[n,c] + ε/C); Mean divides by N·d1·...
// A target index outside [0,C) (other than ignore_index) is an Index error naming the value.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean,
                     int64_t ignore_index = -100, double label_smoothing = 0.0);

// Negative log-likelihood: −log_probs[n, target_n] (0 where target == ignore_index); shapes as for
// cross_entropy with class-index targets. Mean divides by the number of non-ignored targets.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean,
                int64_t ignore_index = -100);

// Binary cross entropy on logits x against targets y (same shape, values in [0,1]):
//   loss = (1−y)·x − w·logsigmoid(x),   w = 1 + (pos_weight − 1)·y
// which for pos_weight = 1 is max(x,0) − x·y + log1p(exp(−|x|)): stable for any x (no exp overflow,
// no log(0)). pos_weight (optional, undefined = 1) broadcasts against x, typically shape [C] for the
// last dimension. Differentiable in x, y and pos_weight.
Tensor binary_cross_entropy_with_logits(const Tensor& x, const Tensor& y, Reduction reduction = Reduction::Mean,
                                        const Tensor& pos_weight = {});

// Mean squared error (x − y)². x and y must have the same shape (PyTorch broadcasts with a warning; a
// mismatch here is a Shape error, since it is nearly always a bug).
Tensor mse_loss(const Tensor& x, const Tensor& y, Reduction reduction = Reduction::Mean);

// x / max(‖x‖_p, eps) along dim (torch.nn.functional.normalize); ‖·‖_p is mm::norm (any p, ±inf).
// A zero vector maps to zero with gradient 1/eps (the norm's own gradient is 0 there, as in PyTorch).
Tensor normalize(const Tensor& x, double p = 2.0, int64_t dim = 1, double eps = 1e-12);

// Σ_dim a·b / (max(‖a‖₂, eps) · max(‖b‖₂, eps)); a and b broadcast; dim is removed.
// Each norm is clamped separately, as PyTorch does since 1.13 (pytorch/pytorch#31378, which replaced
// the older max(‖a‖·‖b‖, eps); kept by #104771 in aten/src/ATen/native/Distance.cpp). PyTorch clamps
// under no_grad, so its gradient ignores the clamp; ours differentiates the clamp (zero gradient
// through a clamped norm). The two agree whenever both norms exceed eps.
Tensor cosine_similarity(const Tensor& a, const Tensor& b, int64_t dim = 1, double eps = 1e-8);

// Pairwise p-norm distances: a [...,P,M], b [...,R,M] (batch dims broadcast) → [...,P,R] with
// out[..,i,j] = ‖a[..,i,:] − b[..,j,:]‖_p. p ≥ 0 (p = 0 counts differing coordinates), or +infinity.
// p = 2 follows PyTorch's default compute mode: when P > 25 or R > 25 it uses
// sqrt(clamp(‖a‖² + ‖b‖² − 2·a·bᵀ, 0)) with a matmul (no [P,R,M] temporary in the forward), otherwise
// — and for every other p — mm::norm of the [...,P,R,M] differences. Gradients follow PyTorch's
// cdist_backward: computed from the exact differences and 0 where a distance is 0 (identical points
// give a zero gradient, not NaN). One difference: for p = ∞, tied maxima share the gradient evenly
// (mm::norm's rule) where PyTorch gives each the full gradient.
Tensor cdist(const Tensor& a, const Tensor& b, double p = 2.0);

}  // namespace mm
