#include "models/fusion.h"

#include "autograd/functions.h"
#include "nn/containers.h"
#include "nn/init.h"

namespace mm::models {

namespace {

// [B, d] → [B, 1, d]; [B, N, d] unchanged; anything else is an error naming the module and input.
Tensor as_tokens(const Tensor& x, const char* module, const char* what) {
  MM_CHECK(x.defined(), Value, module, what, " is undefined");
  MM_CHECK(x.dim() == 2 || x.dim() == 3, Shape, module, what, " must be [B, d] features or [B, N, d] tokens, got ",
           shape_str(x.shape()));
  return x.dim() == 2 ? unsqueeze(x, 1) : x;
}

// Bool [B, N], true = real token (all true when no mask was given).
Tensor real_mask(const Tensor& tokens, const Tensor& mask, const char* module) {
  const int64_t b = tokens.size(0), n = tokens.size(1);
  if (!mask.defined()) return ops::full({b, n}, 1.0, DType::Bool, tokens.device());
  MM_CHECK(mask.shape() == Shape({b, n}), Shape, module, "text_mask must be [B, N_t] = ", shape_str({b, n}),
           ", got ", shape_str(mask.shape()));
  return mask.dtype() == DType::Bool ? mask : ne(mask, 0.0);
}

// Mean over the real tokens: [B, N, d] → [B, d].
Tensor masked_mean(const Tensor& x, const Tensor& real) {
  Tensor r = to(unsqueeze(real, 2), x.dtype());
  return div(sum(mul(x, r), {1}), sum(r, {1}));
}

void check_batch(const Tensor& i, const Tensor& t, const char* module) {
  MM_CHECK(i.size(0) == t.size(0), Shape, module, "image and text batch sizes differ: ", shape_str(i.shape()),
           " vs ", shape_str(t.shape()));
}

void check_width(const Tensor& x, int64_t dim, const char* module, const char* what) {
  MM_CHECK(x.size(-1) == dim, Shape, module, what, " must have ", dim, " features (the module's width), got ",
           shape_str(x.shape()));
}

}  // namespace

// ---- concat ----

ConcatFusion::ConcatFusion(int64_t image_dim_, int64_t text_dim_)
    : Fusion("ConcatFusion"), image_dim(image_dim_), text_dim(text_dim_) {}

Tensor ConcatFusion::fuse(const FusionInputs& in) {
  const char* m = "ConcatFusion";
  Tensor i = as_tokens(in.image, m, "image"), t = as_tokens(in.text, m, "text");
  check_batch(in.image, in.text, m);
  check_width(in.image, image_dim, m, "image");
  check_width(in.text, text_dim, m, "text");
  return cat({masked_mean(i, real_mask(i, {}, m)), masked_mean(t, real_mask(t, in.text_mask, m))}, -1);
}

// ---- learned weighted sum ----

WeightedSumFusion::WeightedSumFusion(int64_t dim_) : Fusion("WeightedSumFusion"), dim(dim_) {
  image_weight = Tensor::empty({1}, DType::F32, kCPU);
  text_weight = Tensor::empty({1}, DType::F32, kCPU);
  nn::init::normal_(image_weight);
  nn::init::normal_(text_weight);
  register_parameter("image_weight", &image_weight);
  register_parameter("text_weight", &text_weight);
}

Tensor WeightedSumFusion::fuse(const FusionInputs& in) {
  const char* m = "WeightedSumFusion";
  Tensor i = as_tokens(in.image, m, "image"), t = as_tokens(in.text, m, "text");
  check_batch(in.image, in.text, m);
  check_width(in.image, dim, m, "image");
  check_width(in.text, dim, m, "text");
  Tensor a = sigmoid(image_weight), b = sigmoid(text_weight), total = add(a, b);
  return add(mul(masked_mean(i, real_mask(i, {}, m)), div(a, total)),
             mul(masked_mean(t, real_mask(t, in.text_mask, m)), div(b, total)));
}

// ---- attention fusion ----

AttentionFusion::AttentionFusion(int64_t dim_, int64_t attention_dim) : Fusion("AttentionFusion"), dim(dim_) {
  image_proj = register_module("image_proj", std::make_shared<nn::Linear>(dim, attention_dim));
  text_proj = register_module("text_proj", std::make_shared<nn::Linear>(dim, attention_dim));
  attention = register_module("attention", std::make_shared<nn::Linear>(attention_dim, 1));
}

Tensor AttentionFusion::fuse(const FusionInputs& in) {
  const char* m = "AttentionFusion";
  Tensor i = as_tokens(in.image, m, "image"), t = as_tokens(in.text, m, "text");
  check_batch(in.image, in.text, m);
  check_width(in.image, dim, m, "image");
  check_width(in.text, dim, m, "text");
  Tensor ip = masked_mean(i, real_mask(i, {}, m)), tp = masked_mean(t, real_mask(t, in.text_mask, m));
  Tensor w = sigmoid((*attention)(tanh(add((*image_proj)(ip), (*text_proj)(tp)))));  // [B, 1]
  return add(mul(w, ip), mul(1.0 - w, tp));
}

// ---- hierarchical cross-modal attention ----

HierarchicalCrossModalAttention::HierarchicalCrossModalAttention(int64_t hidden_dim_, int64_t num_heads)
    : Fusion("HierarchicalCrossModalAttention"), hidden_dim(hidden_dim_) {
  auto mha = [&] { return std::make_shared<nn::MultiheadAttention>(hidden_dim, num_heads, 0.0, true, true); };
  local_image_attention = register_module("local_image_attention", mha());
  local_text_attention = register_module("local_text_attention", mha());
  text_to_image_attention = register_module("text_to_image_attention", mha());
  image_to_text_attention = register_module("image_to_text_attention", mha());
  output_layer = register_module("output_layer", std::make_shared<nn::Linear>(2 * hidden_dim, hidden_dim));
}

Tensor HierarchicalCrossModalAttention::fuse(const FusionInputs& in) {
  const char* m = "HierarchicalCrossModalAttention";
  Tensor i = as_tokens(in.image, m, "image"), t = as_tokens(in.text, m, "text");
  check_batch(in.image, in.text, m);
  check_width(in.image, hidden_dim, m, "image");
  check_width(in.text, hidden_dim, m, "text");
  Tensor text_real = real_mask(t, in.text_mask, m), image_real = real_mask(i, {}, m);
  Tensor text_pad = logical_not(text_real);  // nn.MultiheadAttention's convention: true = ignore
  Tensor local_i = local_image_attention->forward(i, i, i, {}, false).first;
  Tensor local_t = local_text_attention->forward(t, t, t, text_pad, false).first;
  Tensor t2i = text_to_image_attention->forward(local_t, local_i, local_i, {}, false).first;        // [B, N_t, h]
  Tensor i2t = image_to_text_attention->forward(local_i, local_t, local_t, text_pad, false).first;  // [B, N_i, h]
  return (*output_layer)(cat({masked_mean(i2t, image_real), masked_mean(t2i, text_real)}, -1));
}

// ---- Perceiver-style latent cross-attention ----

LatentSelfAttention::LatentSelfAttention(int64_t dim, int64_t num_heads) : nn::Module("LatentSelfAttention") {
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(dim));
  attention = register_module("attention", std::make_shared<nn::MultiheadAttention>(dim, num_heads, 0.0, true, true));
}

Tensor LatentSelfAttention::forward(const Tensor& x) {
  Tensor n = (*norm)(x);
  return add(x, attention->forward(n, n, n, {}, false).first);
}

PerceiverFusion::PerceiverFusion(int64_t dim_, int64_t num_latents, int64_t num_heads, int64_t depth)
    : Fusion("PerceiverFusion"), dim(dim_) {
  MM_CHECK(num_latents >= 1 && depth >= 0, Value, "PerceiverFusion", "needs num_latents >= 1 and depth >= 0, got ",
           num_latents, " and ", depth);
  latents = Tensor::empty({num_latents, dim}, DType::F32, kCPU);
  nn::init::normal_(latents);
  register_parameter("latents", &latents);
  latent_norm = register_module("latent_norm", std::make_shared<nn::LayerNorm>(dim));
  input_norm = register_module("input_norm", std::make_shared<nn::LayerNorm>(dim));
  cross_attention =
      register_module("cross_attention", std::make_shared<nn::MultiheadAttention>(dim, num_heads, 0.0, true, true));
  layers = register_module("layers", std::make_shared<nn::ModuleList>());
  for (int64_t l = 0; l < depth; ++l) layers->push_back(std::make_shared<LatentSelfAttention>(dim, num_heads));
}

Tensor PerceiverFusion::fuse(const FusionInputs& in) {
  const char* m = "PerceiverFusion";
  Tensor i = as_tokens(in.image, m, "image"), t = as_tokens(in.text, m, "text");
  check_batch(in.image, in.text, m);
  check_width(in.image, dim, m, "image");
  check_width(in.text, dim, m, "text");
  const int64_t b = i.size(0);
  Tensor tokens = (*input_norm)(cat({i, t}, 1));  // [B, N_i + N_t, d]
  Tensor ignore = cat({logical_not(real_mask(i, {}, m)), logical_not(real_mask(t, in.text_mask, m))}, 1);
  Tensor x = expand(unsqueeze(latents, 0), {b, latents.size(0), dim});
  x = add(x, cross_attention->forward((*latent_norm)(x), tokens, tokens, ignore, false).first);
  for (const nn::ModulePtr& layer : *layers) x = (*layer)(x);
  return mean(x, {1});
}

std::shared_ptr<Fusion> make_fusion(const std::string& name, int64_t dim, int64_t heads) {
  if (name == "concat") return std::make_shared<ConcatFusion>(dim, dim);
  if (name == "weighted_sum") return std::make_shared<WeightedSumFusion>(dim);
  if (name == "attention") return std::make_shared<AttentionFusion>(dim, dim);
  if (name == "hierarchical") return std::make_shared<HierarchicalCrossModalAttention>(dim, heads);
  if (name == "perceiver") return std::make_shared<PerceiverFusion>(dim, 8, heads, 2);
  fail(ErrorKind::Value, "make_fusion", "unknown fusion '", name,
       "'; expected concat | weighted_sum | attention | hierarchical | perceiver");
}

}  // namespace mm::models
