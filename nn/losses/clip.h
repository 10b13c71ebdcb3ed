// CLIP's symmetric InfoNCE loss and the dual encoder's logits (SPEC §5.1, §5.2).
//
//   logits:  L = exp(logit_scale) · I·Tᵀ (+ bias)                     (SPEC §5.1)
//   CLIP InfoNCE: L = s·I·Tᵀ; ½[CE(L, diag) + CE(Lᵀ, diag)] (row i's target is column i);
//   `reduction: mean_of_directions` (default) or `sum` (seed 001); optional label smoothing.
//
// Source: Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
// Supervision"; the reference implementation is open_clip's ClipLoss (src/open_clip/loss.py), which
// tools/golden/losses.py runs as the oracle. Seed 001 adds the two directions' cross entropies
// instead of averaging them (reduction Sum).
//
// I and T are [B, D] embeddings, already L2-normalised by the caller (the dual encoder does it, as
// in open_clip, whose ClipLoss does not normalise either). logit_scale is the learnable *log* of the
// scale s (initialised to log(1/0.07) in SPEC §5.1): s = exp(logit_scale). A fixed temperature τ
// (seed 001: 0.07) is logit_scale = log(1/τ) held constant.
//
// Numerics: CE works on log_softmax (the row maximum is subtracted before exp), so a scale of 1e4
// with unit-norm embeddings (logits of ±1e4) neither overflows nor gives NaN in float32, and a tiny
// scale gives log B without underflow trouble. Only exp(logit_scale) itself can overflow, for
// logit_scale > ~88 (f32) — a scale no clamp or schedule produces; SPEC §5.1 clamps it to [0, ln 100].
#pragma once

#include "runtime/tensor.h"

namespace mm::nn {

enum class ClipReduction {
  MeanOfDirections,  // ½[CE(L, diag) + CE(Lᵀ, diag)]: open_clip's ClipLoss
  Sum,               // CE(L, diag) + CE(Lᵀ, diag): seed 001
};

struct ClipLossOptions {
  ClipReduction reduction = ClipReduction::MeanOfDirections;
  double label_smoothing = 0.0;  // PyTorch's cross_entropy label_smoothing, in each direction
};

// exp(logit_scale) · image·textᵀ (+ bias): [B_i, D] × [B_t, D] → [B_i, B_t]. logit_scale and bias
// (optional; undefined = none) hold one value each ([] or [1]). Every operand may require grad.
Tensor clip_logits(const Tensor& image, const Tensor& text, const Tensor& logit_scale, const Tensor& bias = {});

// The loss on ready logits L [B, B] (image rows, text columns): CE over rows and over columns with
// target i for row i. Mean over the B rows in each direction.
Tensor clip_loss_from_logits(const Tensor& logits_per_image, const ClipLossOptions& options = {});

// clip_loss_from_logits(clip_logits(image, text, logit_scale), options): image and text [B, D].
Tensor clip_loss(const Tensor& image, const Tensor& text, const Tensor& logit_scale,
                 const ClipLossOptions& options = {});

}  // namespace mm::nn
