// Losses on pairs and on pairs of scores: the contrastive pair loss and margin ranking (SPEC §5.2).
//
//   contrastive pair (Hadsell): (1−Y)·½D² + Y·½max(0, m−D)², Y = 1 for a negative pair
//   (seed 000's convention)
//   margin ranking: max(0, −y(x₁−x₂) + m) (PyTorch semantics)
//
// Sources: Hadsell, Chopra & LeCun 2006, "Dimensionality Reduction by Learning an Invariant
// Mapping", with seed 000's ContrastiveLoss labels (1 = negative pair, 0 = positive pair);
// torch.nn.functional.margin_ranking_loss.
#pragma once

#include "autograd/grad/loss.h"
#include "runtime/tensor.h"

namespace mm::nn {

// x1, x2 [N, D]; y [N] (any real or integer dtype; 0 = matching pair, 1 = non-matching; values in
// between weight the two terms). D = ‖x1 − x2‖₂ per row. margin m ≥ 0. Reduction over the N pairs
// (Mean: seed 000's torch.mean). ½D² is computed as ½Σ(x1 − x2)², without the square root, so a pair
// of identical points has a finite (zero) gradient in that term.
Tensor contrastive_pair_loss(const Tensor& x1, const Tensor& x2, const Tensor& y, double margin = 1.0,
                             Reduction reduction = Reduction::Mean);

// As torch.nn.functional.margin_ranking_loss: x1, x2 and y must have the same number of dimensions
// (PyTorch's rule) and broadcast together; y is ±1 (1: x1 should rank higher). Differentiable in x1,
// x2 (and y, as in PyTorch).
Tensor margin_ranking_loss(const Tensor& x1, const Tensor& x2, const Tensor& y, double margin = 0.0,
                           Reduction reduction = Reduction::Mean);

}  // namespace mm::nn
