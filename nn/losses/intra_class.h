// Intra-class constraint: pulls embeddings of the same identity together (SPEC §5.2).
//
//   intra-class constraint: mean squared distance between same-label embeddings (seed 004)
//
// Source: seed 004's `constraints_old(features, labels)`:
//   L = Σ_{i≠j, yᵢ=yⱼ} ‖xᵢ − xⱼ‖² / #{(i, j): i ≠ j, yᵢ = yⱼ}
// over ordered pairs, and 0 when no two rows share a label (the seed returns 0.0 there too).
// The squared distances are ‖xᵢ‖² + ‖xⱼ‖² − 2xᵢ·xⱼ (seed 004's pairwise_distance, one matmul, no
// [N, N, D] temporary, no square root: smooth everywhere, duplicates included). Its rounding error is
// ~1e-7·‖x‖² in float32, negligible against a mean over pairs.
#pragma once

#include "runtime/tensor.h"

namespace mm::nn {

// x [N, D] embeddings of one modality, labels [N] integer. Returns the 0-d loss.
Tensor intra_class_loss(const Tensor& x, const Tensor& labels);

}  // namespace mm::nn
