// Fusion modules (SPEC §5.4; seeds 000 and 002): ways to combine an image representation and a text
// representation into one vector. Each takes either pooled features [B, d] or token sequences
// [B, N, d] (text tokens with a key padding mask, true = a real token) and returns [B, out_dim].
//
//   ConcatFusion                 [i, t] along the feature axis (no parameters); token inputs are
//                                mean-pooled first (over real tokens).
//   WeightedSumFusion            wᵢ = σ(a)/(σ(a) + σ(b)), wₜ = 1 − wᵢ; out = wᵢ·i + wₜ·t (a, b scalars,
//                                init N(0, 1) as the seed's torch.randn(1)).
//   AttentionFusion              w = σ(attention(tanh(image_proj(i) + text_proj(t)))) ∈ (0, 1) per row;
//                                out = w·i + (1 − w)·t. SPEC's formula (tanh of the sum); the seed
//                                applies tanh to each projection before adding — see docs/FUSION.md.
//   HierarchicalCrossModalAttention
//                                self-attention within each modality (local_image_attention,
//                                local_text_attention), then both cross directions (text queries
//                                attend to image keys/values and image queries to text), each
//                                direction mean-pooled over its queries, concatenated, output_layer
//                                Lin(2h, h).
//   PerceiverFusion              learned latents [L, h] attend to the concatenated image and text
//                                tokens (cross_attention), then `depth` latent self-attention layers;
//                                pre-LayerNorm residual blocks; output: the latents' mean [B, h].
//
// Pooled features are treated as sequences of length 1 per sample. (The seed passed [B, d] tensors
// straight to a sequence-first nn.MultiheadAttention, which reads them as ONE unbatched sequence of
// length B — attention across the samples of a batch. We keep samples independent.)
#pragma once

#include <memory>

#include "nn/attention.h"
#include "nn/containers.h"
#include "nn/layers.h"
#include "nn/module.h"

namespace mm::models {

// A fusion module's inputs: image and text, each [B, d] or [B, N, d]; text_mask [B, N_t] (bool or
// 0/1, true = real token) or undefined (all real). Image tokens have no padding.
struct FusionInputs {
  Tensor image, text, text_mask;
};

class Fusion : public nn::Module {
 public:
  using nn::Module::Module;
  virtual Tensor fuse(const FusionInputs& in) = 0;  // [B, out_dim]
  virtual int64_t out_dim() const = 0;
};

class ConcatFusion : public Fusion {
 public:
  ConcatFusion(int64_t image_dim, int64_t text_dim);
  Tensor fuse(const FusionInputs& in) override;
  int64_t out_dim() const override { return image_dim + text_dim; }
  int64_t image_dim, text_dim;
};

class WeightedSumFusion : public Fusion {
 public:
  explicit WeightedSumFusion(int64_t dim);
  Tensor fuse(const FusionInputs& in) override;
  int64_t out_dim() const override { return dim; }
  int64_t dim;
  Tensor image_weight, text_weight;  // [1] each
};

class AttentionFusion : public Fusion {
 public:
  AttentionFusion(int64_t dim, int64_t attention_dim);
  Tensor fuse(const FusionInputs& in) override;
  int64_t out_dim() const override { return dim; }
  int64_t dim;
  std::shared_ptr<nn::Linear> image_proj, text_proj, attention;
};

class HierarchicalCrossModalAttention : public Fusion {
 public:
  HierarchicalCrossModalAttention(int64_t hidden_dim, int64_t num_heads);
  Tensor fuse(const FusionInputs& in) override;
  int64_t out_dim() const override { return hidden_dim; }
  int64_t hidden_dim;
  std::shared_ptr<nn::MultiheadAttention> local_image_attention, local_text_attention;
  std::shared_ptr<nn::MultiheadAttention> text_to_image_attention;  // text queries, image keys/values
  std::shared_ptr<nn::MultiheadAttention> image_to_text_attention;  // image queries, text keys/values
  std::shared_ptr<nn::Linear> output_layer;
};

// One latent self-attention layer of PerceiverFusion: x + attention(norm(x)).
class LatentSelfAttention : public nn::Module {
 public:
  LatentSelfAttention(int64_t dim, int64_t num_heads);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::MultiheadAttention> attention;
};

class PerceiverFusion : public Fusion {
 public:
  PerceiverFusion(int64_t dim, int64_t num_latents, int64_t num_heads, int64_t depth);
  Tensor fuse(const FusionInputs& in) override;
  int64_t out_dim() const override { return dim; }
  int64_t dim;
  Tensor latents;  // [num_latents, dim], N(0, 1) as the seed
  std::shared_ptr<nn::LayerNorm> latent_norm, input_norm;  // pre-LN of the cross-attention's two sides
  std::shared_ptr<nn::MultiheadAttention> cross_attention;
  std::shared_ptr<nn::ModuleList> layers;  // LatentSelfAttention × depth
};

// "concat" | "weighted_sum" | "attention" | "hierarchical" | "perceiver"; dim is the (shared) feature
// width (ConcatFusion: both sides'), heads for the attention-based ones.
std::shared_ptr<Fusion> make_fusion(const std::string& name, int64_t dim, int64_t heads = 8);

}  // namespace mm::models
