// Vision Transformer with torchvision's structure and parameter names (torchvision.models.
// VisionTransformer): conv_proj (patch embedding), class_token, encoder.pos_embedding, pre-LN blocks
// encoder.layers.encoder_layer_N.{ln_1, self_attention (nn.MultiheadAttention), ln_2, mlp.0, mlp.3},
// encoder.ln, and an optional classifier heads.head. A torchvision state dict loads as is (strict).
//
// Feature mode: forward(x) → the class token after encoder.ln (pooling "cls", torchvision's) or the
// mean of the patch tokens (pooling "mean"). Token mode: forward_tokens(x) → every token [B, 1+N, D].
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/attention.h"
#include "nn/containers.h"
#include "nn/layers.h"
#include "models/tower.h"

namespace mm::models {

struct ViTConfig {
  int64_t image_size = 224, patch_size = 16, in_channels = 3;
  int64_t num_layers = 12, num_heads = 12, hidden_dim = 768, mlp_dim = 3072;
  double dropout = 0.0, attention_dropout = 0.0, layer_norm_eps = 1e-6;
  std::string pooling = "cls";  // "cls" | "mean"
  int64_t num_classes = 0;      // 0: no heads.head
  // "vit_ti_16", "vit_s_16", "vit_b_16", and the /32 variants (DeiT-Ti/S sizes and ViT-B).
  static ViTConfig named(const std::string& name);
  int64_t num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
};

class ViTBlock : public nn::Module {
 public:
  explicit ViTBlock(const ViTConfig& c);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::LayerNorm> ln_1, ln_2;
  std::shared_ptr<nn::MultiheadAttention> self_attention;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Sequential> mlp;
};

// torchvision's Encoder: pos_embedding, dropout, layers.encoder_layer_N, ln.
class ViTEncoder : public nn::Module {
 public:
  explicit ViTEncoder(const ViTConfig& c);
  Tensor forward(const Tensor& x) override;  // x: [B, 1 + N, D] with the class token
  Tensor pos_embedding;                       // [1, 1 + N, D]
  std::shared_ptr<nn::Dropout> dropout;
  std::vector<std::shared_ptr<ViTBlock>> blocks;
  std::shared_ptr<nn::LayerNorm> ln;
};

class VisionTransformer : public ImageTower {
 public:
  explicit VisionTransformer(ViTConfig config);
  Tensor forward(const Tensor& x) override;  // pooled [B, D] (or logits)
  Tensor forward_tokens(const Tensor& x);    // [B, 1 + N, D] after encoder.ln
  Tensor features(const Tensor& images) override;
  Tokens tokens(const Tensor& images) override;  // the patch tokens [B, N, D] (class token left out)
  int64_t feature_dim() const override { return config_.hidden_dim; }
  bool is_head_key(const std::string& key) const override { return key.rfind("heads.", 0) == 0; }
  const ViTConfig& config() const { return config_; }

  std::shared_ptr<nn::Conv2d> conv_proj;
  Tensor class_token;  // [1, 1, D]
  std::shared_ptr<ViTEncoder> encoder;
  std::shared_ptr<nn::Linear> head;  // heads.head; null without a classifier

 private:
  ViTConfig config_;
};

}  // namespace mm::models
