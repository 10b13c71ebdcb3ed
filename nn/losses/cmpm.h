// Cross-modal projection losses of Zhang & Lu 2018, "Deep Cross-Modal Projection Learning for
// Image-Text Matching" (ECCV), as seed 004 uses them (SPEC §5.2).
//
//   CMPM: q = mask/rowsum(mask) (same-label mask); p = softmax(I·T̂ᵀ); L = mean Σ p·log(p/(q+ε))
//   (ε = 1e-8) for i→t plus t→i (Zhang & Lu 2018)
//   CMPC: W with unit-norm class columns, no bias; logits = ((I·T̂)T̂)·W and ((T·Î)Î)·W; CE on
//   identity labels, image + text
//
// Notation: I, T [B, D] image and text embeddings (not normalised: the projections use the raw
// embedding onto the other modality's unit vector, X̂ = X/‖X‖ row-wise); labels [B] identity ids;
// mask[i, j] = (labels[i] == labels[j]).
//
// CMPM: i→t uses p = softmax(I·T̂ᵀ) row-wise, t→i uses softmax(T·Îᵀ); each direction is the mean over
// rows of Σⱼ pᵢⱼ (log pᵢⱼ − log(qᵢⱼ + ε)), with log p from log_softmax (never log of a softmax, so a
// probability that underflows to 0 contributes 0, not NaN), and the two directions are added.
// q is the paper's normalised true matching distribution (row sums of the mask, which count the
// diagonal, so q is defined for every batch, a batch of one and all-equal labels included). Seed
// 004's code divides by the mask's L2 row norm instead; SPEC §5.2 and the paper use the row sum.
//
// CMPC: image rows are projected onto their own pair's text direction, (Iᵢ·T̂ᵢ)T̂ᵢ, and classified
// with W_norm = W / ‖W‖ (each of the C columns of W [D, C] scaled to unit norm); likewise text onto
// Îᵢ. Loss = CE_mean(image logits, labels) + CE_mean(text logits, labels). Labels must lie in [0, C).
#pragma once

#include <cstdint>

#include "nn/module.h"
#include "runtime/tensor.h"

namespace mm::nn {

Tensor cmpm_loss(const Tensor& image, const Tensor& text, const Tensor& labels, double epsilon = 1e-8);

// W [D, C] is passed in (it is learnable: see CMPCLoss for a module that owns it).
Tensor cmpc_loss(const Tensor& image, const Tensor& text, const Tensor& labels, const Tensor& W);

// The CMPC classifier as a module: one parameter "W" [feature_size, num_classes] (seed 004's name and
// layout), xavier_uniform-initialised as in seed 004. forward(image, text, labels) = cmpc_loss.
class CMPCLoss : public Module {
 public:
  CMPCLoss(int64_t feature_size, int64_t num_classes);
  Tensor forward(const Tensor& image, const Tensor& text, const Tensor& labels);
  using Module::forward;  // the single-tensor one stays visible (and is an error: three inputs are needed)
  std::string extra_repr() const override;
  int64_t feature_size, num_classes;
  Tensor W;
};

}  // namespace mm::nn
