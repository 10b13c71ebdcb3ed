// SigLIP's pairwise sigmoid loss (SPEC §5.2).
//
//   SigLIP: −(1/B) Σᵢⱼ log σ(zᵢⱼ(s·Iᵢ·Tⱼ + b)), z = +1 on the diagonal, −1 elsewhere;
//   init s = log 10, b = −10.
//
// Source: Zhai et al. 2023, "Sigmoid Loss for Language Image Pre-Training"; the reference
// implementation is open_clip's SigLipLoss (src/open_clip/loss.py, single process), which
// tools/golden/losses.py runs as the oracle.
//
// As in CLIP, I and T [B, D] are normalised by the caller and logit_scale is the learnable log of
// the scale: the logits are clip_logits(I, T, logit_scale, logit_bias) = exp(logit_scale)·I·Tᵀ + b.
// "init s = log 10" is that logit_scale parameter (scale 10); b starts at −10, so that at
// initialisation the B² − B negative pairs do not swamp the loss.
//
// Numerics: log σ is mm::logsigmoid, computed as min(x, 0) − log1p(e^−|x|), never log(σ(x)), so a
// logit of ±1e4 gives the exact linear tail (−1e4 for a badly wrong pair, 0 for a right one) with no
// overflow and no log(0).
#pragma once

#include <cmath>

#include "runtime/tensor.h"

namespace mm::nn {

inline const double kSiglipInitLogitScale = std::log(10.0);
inline constexpr double kSiglipInitLogitBias = -10.0;

// image, text [B, D]; logit_scale and logit_bias one value each ([] or [1]); logit_bias may be
// undefined (no bias). Returns the 0-d loss.
Tensor siglip_loss(const Tensor& image, const Tensor& text, const Tensor& logit_scale, const Tensor& logit_bias = {});

}  // namespace mm::nn
