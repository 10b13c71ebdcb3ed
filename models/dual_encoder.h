// The dual encoder of SPEC §5.1 (CLIP's architecture): each tower's pooled features go through a
// projection head into a shared embedding space, are L2-normalised, and every image is scored
// against every text:
//
//   logits = exp(logit_scale) · I·Tᵀ (+ logit_bias)
//
// logit_scale is learnable, initialised to log(1/0.07) (CLIP, open_clip) and clamped to
// [0, ln 100] after every optimizer step (clamp_logit_scale; the bound is configurable); or the
// temperature is fixed (seed 001: 0.07) and logit_scale is a constant buffer. SigLIP adds a
// learnable bias, initialised to −10 with logit_scale log 10 (Zhai et al. 2023).
//
// Projection heads: linear (open_clip's text_projection: no bias), linear_ln (Linear then LayerNorm),
// mlp (Linear, GELU, Linear: open_clip's timm "mlp" head) or none (the towers' features are used as
// they are; both towers must then have the same width).
//
// State-dict names: image.<tower>, text.<tower>, image_projection.*, text_projection.*,
// logit_scale, logit_bias, ladder.*, cmpc.W — the towers keep their torchvision / Hugging Face names under
// image./text., as train::Towers does.
#pragma once

#include <memory>
#include <string>

#include "models/cross_attention/head.h"
#include "models/tower.h"
#include "nn/containers.h"
#include "nn/losses/cmpm.h"

namespace mm::models {

struct DualEncoderConfig {
  std::string projection = "linear";  // linear | linear_ln | mlp | none
  int64_t embed_dim = 512;            // ignored with "none"
  int64_t mlp_hidden = 0;             // mlp's hidden width; 0: the tower's feature width
  double init_logit_scale = 2.659260036932778;  // log(1 / 0.07)
  double max_logit_scale = 4.605170185988092;   // ln 100: clamp_logit_scale's upper bound
  double fixed_temperature = 0.0;     // > 0: logits = I·Tᵀ / T, logit_scale not learned
  bool logit_bias = false;            // SigLIP's learnable bias
  double init_logit_bias = -10.0;
  // A cross-attention ladder rung as the alignment head (SPEC §5.3, pair-fused mode): "" for none, or
  // v0 ... v11. Then logits come from the rung (CrossAttentionHead::pair_fused), not from I·Tᵀ.
  std::string ladder_rung;
  int64_t ladder_heads = 8;
  double ladder_dropout = 0.1;
  double ladder_temp = 0.07;  // the head's learnable temperature (a divisor), initial value
  // "pair_fused" (the source's setting: each pair's two embeddings as sequences of length 1) or
  // "token" (the towers' token sequences, projected to embed_dim, through the rung; pooled after).
  std::string ladder_mode = "pair_fused";
  // > 0: seed 004's CMPC classifier W [embedding size, cmpc_classes] lives in the model as "cmpc.W",
  // so that the optimizer, the state dict and checkpoints carry it like any other parameter.
  int64_t cmpc_classes = 0;
};

// One projection head: [B, in] → [B, out] (Sequential, so its children are named 0, 1, 2).
std::shared_ptr<nn::Module> make_projection(const std::string& kind, int64_t in, int64_t out, int64_t mlp_hidden);

struct DualEncoderOutput {
  Tensor image_embeds;  // [B, D], unit rows
  Tensor text_embeds;   // [B, D], unit rows
  Tensor logits_per_image;  // [B_images, B_texts]; logits_per_text is its transpose
};

class DualEncoder : public nn::Module {
 public:
  DualEncoder(std::shared_ptr<ImageTower> image, std::shared_ptr<TextTower> text, DualEncoderConfig config);

  Tensor encode_image(const Tensor& images);  // normalised [B, D]: normalize(project_image(images))
  Tensor encode_text(const Tensor& input_ids, const Tensor& attention_mask);
  // The projected embeddings before L2 normalisation [B, D]: CMPM/CMPC (seed 004) use their norms.
  Tensor project_image(const Tensor& images);
  Tensor project_text(const Tensor& input_ids, const Tensor& attention_mask);
  DualEncoderOutput forward(const Tensor& images, const Tensor& input_ids, const Tensor& attention_mask);
  // The logits of a batch of pairs' embeddings: [B_images, B_texts]. With a ladder head, image i and
  // text i form pair i inside the rung (pair-fused mode), so only a batch of matched pairs is meaningful.
  Tensor logits(const Tensor& image_embeds, const Tensor& text_embeds) const;
  // Retrieval scores of every image against every text, [Ni, Nt] (no gradient): cosines I·Tᵀ, or with
  // a ladder head the cosine of the rung's two outputs for each (image, text) pair run through the rung
  // as its own pair — the head used as a cross-encoder, `chunk` pairs at a time.
  Tensor pair_scores(const Tensor& image_embeds, const Tensor& text_embeds, int64_t chunk = 8192);

  // Token mode of the ladder (config.ladder_mode "token"): each tower's token sequence through its
  // projection (applied per token) → [B, N, embed_dim] with the tower's real-token mask.
  Tokens image_tokens(const Tensor& images);
  Tokens text_tokens(const Tensor& input_ids, const Tensor& attention_mask);
  // The ladder's logits [B, B] of a batch of pairs' token sequences (image i with caption i inside
  // the rung, as in pair-fused mode).
  Tensor token_logits(const Tokens& image, const Tokens& text);
  // Retrieval scores [Ni, Nt] of every image's tokens against every caption's (no gradient): each
  // (image, caption) pair through the rung as its own pair, `chunk` pairs at a time; the cosine of
  // the pooled outputs.
  Tensor token_pair_scores(const Tokens& image, const Tokens& text, int64_t chunk = 256);
  bool token_mode() const { return ladder && config_.ladder_mode == "token"; }
  // After each optimizer step: logit_scale ← clamp(logit_scale, 0, max_logit_scale). No-op with a
  // fixed temperature.
  void clamp_logit_scale();
  double scale() const;  // exp(logit_scale), the current multiplier

  std::shared_ptr<ImageTower> image;
  std::shared_ptr<TextTower> text;
  std::shared_ptr<nn::Module> image_projection, text_projection;
  Tensor logit_scale;  // [] learnable (a buffer when the temperature is fixed)
  Tensor logit_bias;   // [] when config.logit_bias, else undefined
  std::shared_ptr<CrossAttentionHead> ladder;  // when config.ladder_rung is set ("ladder.temp", "ladder.cross_attention.*")
  std::shared_ptr<nn::CMPCLoss> cmpc;          // when config.cmpc_classes > 0 ("cmpc.W")
  const DualEncoderConfig& config() const { return config_; }

 private:
  DualEncoderConfig config_;
};

}  // namespace mm::models
