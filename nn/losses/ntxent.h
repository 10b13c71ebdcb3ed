// NT-Xent, the normalised temperature-scaled cross-entropy loss of SimCLR (SPEC §5.2).
//
//   NT-Xent: SimCLR loss over 2B views, temperature τ
//
// Source: Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual Representations"
// (SimCLR), eq. 1: with z = [z1; z2] (2B rows, each L2-normalised here) and sᵢⱼ = zᵢ·zⱼ/τ,
//   ℓ(i, j) = −log( exp(sᵢⱼ) / Σ_{k≠i} exp(sᵢₖ) ),   L = (1/2B) Σ_k [ℓ(k, k+B) + ℓ(k+B, k)],
// i.e. the mean over all 2B rows of a cross entropy whose target is the other view of the same item
// and whose row excludes the self-similarity. The self term is removed by filling sᵢᵢ with −∞ before
// log_softmax (exp(−∞) = 0 exactly; no large finite stand-in that a tiny τ could overtake).
// Seed 002 names it as the InfoNCE variant of SimCLR.
#pragma once

#include "runtime/tensor.h"

namespace mm::nn {

// z1, z2 [B, D]: two views (or two modalities) of B items, row i of each a positive pair.
// temperature τ > 0 (SimCLR's default 0.5). Returns the 0-d loss.
Tensor ntxent_loss(const Tensor& z1, const Tensor& z2, double temperature = 0.5);

}  // namespace mm::nn
