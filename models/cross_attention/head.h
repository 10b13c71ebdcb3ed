// CrossAttentionHead: a ladder rung plus the learnable temperature, turning image and text
// embeddings into the B×B logits of a contrastive loss (SPEC §5.3, "Two modes").
//
//   logits[i, j] = cos(image_out_i, text_out_j) / temp     (temp: init 0.07, a divisor, as the seed)
//
// pair_fused(image [B, d], text [B, d]) — the source's setting: image i and its own caption i are
//   sequences of length 1 (run as one batch of B pairs). Every softmax over one key is 1, so the rung
//   cannot attend: v0/v1 give image_out = text and text_out = image (a dual encoder with the roles
//   swapped, logits = the dual encoder's transposed), and v5, v7 give identical image and text
//   outputs (every logit 1/temp). Reproduced faithfully (tests/models/test_ladder_modes.cpp).
// token(image_tokens [B, N_i, d], text_tokens [B, N_t, d], text_mask [B, N_t], image_mask [B, N_i])
//   — attention over real token sequences; each side is then pooled by the mean over its real tokens
//   (padded positions excluded; the mean rather than a first-token read-out, because the ladder's
//   outputs have no [CLS] position of their own and the image side has none at all).
//
// Note both modes pair image i only with caption i inside the rung; logits[i, j≠i] compare outputs of
// two different pairs' forwards.
//
// Parameters: "temp", then the rung under "cross_attention." (the seed's ImageTextMatchingModel
// attribute), e.g. "cross_attention.to_q.weight".
#pragma once

#include <memory>

#include "models/cross_attention/rung.h"

namespace mm::models {

struct HeadOutput {
  Tensor logits;        // [B, B]
  Tensor image, text;   // the pooled rung outputs [B, d]
  RungOutput sequences; // the rung's outputs before pooling ([B, 1, d] in pair-fused mode)
};

class CrossAttentionHead : public nn::Module {
 public:
  explicit CrossAttentionHead(std::shared_ptr<CrossAttentionRung> rung, double temp_init = 0.07);

  HeadOutput pair_fused(const Tensor& image, const Tensor& text);
  HeadOutput token(const Tensor& image_tokens, const Tensor& text_tokens, const Tensor& text_mask = {},
                   const Tensor& image_mask = {});
  using nn::Module::forward;

  std::string extra_repr() const override;

  Tensor temp;  // 0-d
  std::shared_ptr<CrossAttentionRung> cross_attention;

 private:
  Tensor logits(const Tensor& image, const Tensor& text) const;
};

}  // namespace mm::models
