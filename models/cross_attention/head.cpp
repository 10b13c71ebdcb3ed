#include "models/cross_attention/head.h"

#include <sstream>

#include "autograd/functions.h"
#include "models/cross_attention/attention_core.h"
#include "ops/creation.h"
#include "runtime/error.h"

namespace mm::models {

namespace {
constexpr const char* kName = "CrossAttentionHead";
}

CrossAttentionHead::CrossAttentionHead(std::shared_ptr<CrossAttentionRung> rung, double temp_init)
    : nn::Module(kName) {
  MM_CHECK(rung != nullptr, Value, kName, "a rung is required");
  MM_CHECK(temp_init > 0, Value, kName, "temp must be positive (it divides the cosines), got ", temp_init);
  temp = ops::full({}, temp_init);
  register_parameter("temp", &temp);
  cross_attention = register_module("cross_attention", std::move(rung));
}

Tensor CrossAttentionHead::logits(const Tensor& image, const Tensor& text) const {
  // cos via F.normalize (eps 1e-12) on each side, then the dot products.
  Tensor sim = matmul(normalize(image, 2.0, -1), transpose(normalize(text, 2.0, -1), 0, 1));
  return div(sim, temp);
}

HeadOutput CrossAttentionHead::pair_fused(const Tensor& image, const Tensor& text) {
  MM_CHECK(image.defined() && text.defined() && image.dim() == 2 && text.dim() == 2 && image.shape() == text.shape(),
           Shape, kName, "pair-fused mode takes image and text embeddings of one shape [batch, dim], got ",
           image.defined() ? shape_str(image.shape()) : "undefined", " and ",
           text.defined() ? shape_str(text.shape()) : "undefined");
  // Pair i = (image i, caption i), each a sequence of one token (the seed's unsqueeze(1)).
  RungOutput r = cross_attention->forward(unsqueeze(image, 1), unsqueeze(text, 1));
  Tensor img = squeeze(r.image, 1), txt = squeeze(r.text, 1);
  return {logits(img, txt), img, txt, r};
}

HeadOutput CrossAttentionHead::token(const Tensor& image_tokens, const Tensor& text_tokens, const Tensor& text_mask,
                                     const Tensor& image_mask) {
  RungOutput r = cross_attention->forward(image_tokens, text_tokens, image_mask, text_mask);
  const std::string op = kName;
  // The rung has validated the masks; convert them the same way for pooling.
  Tensor img = ladder::masked_mean(r.image, ladder::real_token_mask(image_mask, image_tokens, op.c_str(), "image_mask"));
  Tensor txt = ladder::masked_mean(r.text, ladder::real_token_mask(text_mask, text_tokens, op.c_str(), "text_mask"));
  return {logits(img, txt), img, txt, r};
}

std::string CrossAttentionHead::extra_repr() const {
  std::ostringstream s;
  s << "rung=" << cross_attention->version();
  return s.str();
}

}  // namespace mm::models
