#include "models/vit.h"

#include <cmath>

#include "autograd/functions.h"
#include "nn/init.h"
#include "ops/copy.h"
#include "runtime/error.h"

namespace mm::models {

ViTConfig ViTConfig::named(const std::string& name) {
  auto sized = [](int64_t patch, int64_t dim, int64_t heads) {
    ViTConfig c;
    c.patch_size = patch;
    c.hidden_dim = dim;
    c.num_heads = heads;
    c.mlp_dim = 4 * dim;
    return c;
  };
  if (name == "vit_ti_16") return sized(16, 192, 3);
  if (name == "vit_ti_32") return sized(32, 192, 3);
  if (name == "vit_s_16") return sized(16, 384, 6);
  if (name == "vit_s_32") return sized(32, 384, 6);
  if (name == "vit_b_16") return sized(16, 768, 12);
  if (name == "vit_b_32") return sized(32, 768, 12);
  fail(ErrorKind::Value, "ViT", "unknown preset '", name, "' (vit_{ti,s,b}_{16,32})");
}

ViTBlock::ViTBlock(const ViTConfig& c) : Module("EncoderBlock") {
  ln_1 = register_module("ln_1", std::make_shared<nn::LayerNorm>(c.hidden_dim, c.layer_norm_eps));
  self_attention = register_module(
      "self_attention", std::make_shared<nn::MultiheadAttention>(c.hidden_dim, c.num_heads, c.attention_dropout,
                                                                 /*bias=*/true, /*batch_first=*/true));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.dropout));
  ln_2 = register_module("ln_2", std::make_shared<nn::LayerNorm>(c.hidden_dim, c.layer_norm_eps));
  auto fc1 = std::make_shared<nn::Linear>(c.hidden_dim, c.mlp_dim);
  auto fc2 = std::make_shared<nn::Linear>(c.mlp_dim, c.hidden_dim);
  mlp = register_module("mlp", std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
                                   fc1, nn::GELU(), std::make_shared<nn::Dropout>(c.dropout), fc2,
                                   std::make_shared<nn::Dropout>(c.dropout)}));
  // torchvision's MLPBlock init: xavier_uniform weights, N(0, 1e-6) biases.
  for (auto& l : {fc1, fc2}) {
    nn::init::xavier_uniform_(l->weight);
    nn::init::normal_(l->bias, 0.0, 1e-6);
  }
}

Tensor ViTBlock::forward(const Tensor& x) {
  Tensor h = (*ln_1)(x);
  h = (*dropout)(self_attention->forward(h, h, h, {}, /*need_weights=*/false).first);
  Tensor y = add(h, x);
  return add(y, (*mlp)((*ln_2)(y)));
}

ViTEncoder::ViTEncoder(const ViTConfig& c) : Module("Encoder") {
  pos_embedding = Tensor::empty({1, c.num_patches() + 1, c.hidden_dim});
  nn::init::normal_(pos_embedding, 0.0, 0.02);
  register_parameter("pos_embedding", &pos_embedding);
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.dropout));
  auto layers = register_module("layers", std::make_shared<nn::ModuleDict>("Sequential"));
  for (int64_t i = 0; i < c.num_layers; ++i)
    blocks.push_back(layers->add("encoder_layer_" + std::to_string(i), std::make_shared<ViTBlock>(c)));
  ln = register_module("ln", std::make_shared<nn::LayerNorm>(c.hidden_dim, c.layer_norm_eps));
}

Tensor ViTEncoder::forward(const Tensor& x) {
  Tensor h = (*dropout)(add(x, pos_embedding));
  for (auto& b : blocks) h = b->forward(h);
  return (*ln)(h);
}

VisionTransformer::VisionTransformer(ViTConfig c) : ImageTower("VisionTransformer"), config_(c) {
  MM_CHECK(c.patch_size > 0 && c.image_size % c.patch_size == 0, Value, "ViT", "image_size ", c.image_size,
           " must be a multiple of patch_size ", c.patch_size);
  MM_CHECK(c.hidden_dim % c.num_heads == 0, Value, "ViT", "hidden_dim ", c.hidden_dim,
           " must be a multiple of num_heads ", c.num_heads);
  MM_CHECK(c.pooling == "cls" || c.pooling == "mean", Value, "ViT", "pooling must be cls or mean, got ", c.pooling);
  conv_proj = register_module(
      "conv_proj", std::make_shared<nn::Conv2d>(c.in_channels, c.hidden_dim, c.patch_size,
                                                nn::Conv2dOptions{.stride = {c.patch_size, c.patch_size}}));
  // torchvision: conv_proj ~ trunc_normal(std = √(1/fan_in)), zero bias; zero class token.
  nn::init::trunc_normal_(conv_proj->weight, 0.0,
                          std::sqrt(1.0 / static_cast<double>(c.in_channels * c.patch_size * c.patch_size)));
  nn::init::zeros_(conv_proj->bias);
  class_token = ops::zeros({1, 1, c.hidden_dim});
  register_parameter("class_token", &class_token);
  encoder = register_module("encoder", std::make_shared<ViTEncoder>(c));
  if (c.num_classes > 0) {
    auto heads = register_module("heads", std::make_shared<nn::ModuleDict>("Sequential"));
    head = heads->add("head", std::make_shared<nn::Linear>(c.hidden_dim, c.num_classes));
    nn::init::zeros_(head->weight);
    nn::init::zeros_(head->bias);
  }
}

Tensor VisionTransformer::forward_tokens(const Tensor& x) {
  MM_CHECK(x.dim() == 4 && x.shape()[1] == config_.in_channels && x.shape()[2] == config_.image_size &&
               x.shape()[3] == config_.image_size,
           Shape, "ViT", "expected [B, ", config_.in_channels, ", ", config_.image_size, ", ", config_.image_size,
           "] images, got ", shape_str(x.shape()));
  const int64_t b = x.shape()[0];
  // [B, D, h, w] → [B, h·w, D] (row-major over the patch grid), then the class token in front.
  Tensor patches = permute(flatten((*conv_proj)(x), 2), {0, 2, 1});
  Tensor tokens = cat({expand(class_token, {b, 1, config_.hidden_dim}), patches}, 1);
  return encoder->forward(tokens);
}

Tensor VisionTransformer::features(const Tensor& x) {
  Tensor t = forward_tokens(x);
  return config_.pooling == "cls" ? select(t, 1, 0) : mean(slice(t, 1, 1, t.shape()[1]), {1});
}

Tokens VisionTransformer::tokens(const Tensor& x) {
  Tensor t = forward_tokens(x);
  return {slice(t, 1, 1, t.shape()[1]), {}};
}

Tensor VisionTransformer::forward(const Tensor& x) {
  Tensor pooled = features(x);
  return head ? (*head)(pooled) : pooled;
}

}  // namespace mm::models
