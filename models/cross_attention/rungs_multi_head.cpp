// Rungs v7–v9 and GatedRung, the base of v9 and everything after it.
#include <cmath>

#include "autograd/functions.h"
#include "models/cross_attention/attention_core.h"
#include "models/cross_attention/rungs.h"
#include "nn/init.h"
#include "ops/creation.h"
#include "runtime/error.h"

namespace mm::models {

// ---- v7 ---------------------------------------------------------------------------------------------

CrossAttentionV7::CrossAttentionV7(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionRung("v7", dim, heads, dropout, ff_dim, true) {
  norm = add_norm("norm", dim);
  to_q = add_linear("to_q", dim, dim);
  to_k = add_linear("to_k", dim, dim);
  to_v = add_linear("to_v", dim, dim);
  to_out = add_linear("to_out", dim, dim);
}

RungOutput CrossAttentionV7::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  // txt = Aᵀ·v_T multiplies [N_t, N_i] by [N_t, hd]: defined only when N_i = N_t. The source wrote
  // it so (SPEC keeps it: "text values both ways"); any other shape is refused rather than repaired.
  MM_CHECK(I.size(1) == T.size(1), Shape, op_name(),
           "v7 reuses the text values for the text outputs (txt = Aᵀ·v_T, as the source), which needs as many "
           "image as text tokens; got ",
           I.size(1), " and ", T.size(1));
  Tensor In = (*norm)(I), Tn = (*norm)(T);
  const double s = 1.0 / std::sqrt(static_cast<double>(dim / heads));
  Tensor a = ladder::attention_weights(ladder::split_heads((*to_q)(In), heads),
                                       ladder::split_heads((*to_k)(Tn), heads), s, m.text);  // [B, H, N_i, N_t]
  Tensor v_t = ladder::split_heads((*to_v)(Tn), heads);
  Tensor img = ladder::merge_heads(matmul(a, v_t));
  Tensor txt = ladder::merge_heads(matmul(transpose(ladder::zero_padded_queries(a, m.image), -2, -1), v_t));
  // The input LayerNorm again on the outputs (the source has no second norm).
  return {(*norm)((*to_out)(img)), (*norm)((*to_out)(txt))};
}

// ---- v8 ---------------------------------------------------------------------------------------------

CrossAttentionV8::CrossAttentionV8(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionRung("v8", dim, heads, dropout, ff_dim, true) {
  norm = add_norm("norm", dim);
  to_q = add_linear("to_q", dim, dim);
  to_k = add_linear("to_k", dim, dim);
  to_v = add_linear("to_v", dim, dim);
  to_out = add_linear("to_out", dim, dim);
  out_norm = add_norm("out_norm", dim);
}

RungOutput CrossAttentionV8::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  Tensor In = (*norm)(I), Tn = (*norm)(T);
  Tensor img = ladder::multihead_attend((*to_q)(In), (*to_k)(Tn), (*to_v)(Tn), heads, m.text, 0.0, false);
  Tensor txt = ladder::multihead_attend((*to_q)(Tn), (*to_k)(In), (*to_v)(In), heads, m.image, 0.0, false);
  return {(*out_norm)((*to_out)(img)), (*out_norm)((*to_out)(txt))};
}

// ---- GatedRung --------------------------------------------------------------------------------------

GatedRung::GatedRung(std::string version, int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionRung(std::move(version), dim, heads, dropout, ff_dim, true) {}

void GatedRung::add_v9_modules(const std::function<void()>& projections) {
  attn_norm = add_norm("attn_norm", dim);
  ffn.ff_norm = add_norm("ff_norm", dim);
  projections();
  to_out = add_linear("to_out", dim, dim);
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(dropout_p));
  ffn.ff_gate = register_module("ff_gate", ladder::ffn_branch(dim, ff_dim, dropout_p));
  ffn.ff_value = register_module("ff_value", ladder::ffn_branch(dim, ff_dim, dropout_p));
  ffn.ff_out = add_linear("ff_out", ff_dim, dim);
}

void GatedRung::add_levels(std::shared_ptr<nn::ModuleList>& projections, std::shared_ptr<nn::ModuleList>& norms,
                           Tensor& weights) {
  constexpr int64_t kLevels = 3;
  projections = register_module("level_projections", std::make_shared<nn::ModuleList>());
  norms = register_module("level_norms", std::make_shared<nn::ModuleList>());
  for (int64_t l = 0; l < kLevels; ++l) projections->push_back(std::make_shared<nn::Linear>(dim, dim));
  for (int64_t l = 0; l < kLevels; ++l) norms->push_back(std::make_shared<nn::LayerNorm>(dim));
  weights = ops::full({kLevels}, 1.0 / kLevels);  // softmax of equal weights: the levels start equal
  register_parameter("level_weights", &weights);
}

Tensor GatedRung::attend(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_real) const {
  return ladder::multihead_attend(q, k, v, heads, key_real, dropout_p, training_);
}

// ---- v9 ---------------------------------------------------------------------------------------------

CrossAttentionV9::CrossAttentionV9(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionV9("v9", dim, heads, dropout, ff_dim) {}

CrossAttentionV9::CrossAttentionV9(std::string version, int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : GatedRung(std::move(version), dim, heads, dropout, ff_dim) {
  add_v9_modules([&] {
    to_q = add_linear("to_q", dim, dim);
    to_k = add_linear("to_k", dim, dim);
    to_v = add_linear("to_v", dim, dim);
  });
}

std::pair<Tensor, Tensor> CrossAttentionV9::attention(const Tensor& In, const Tensor& Tn, const Masks& m) const {
  Tensor img = attend((*to_q)(In), (*to_k)(Tn), (*to_v)(Tn), m.text);
  Tensor txt = attend((*to_q)(Tn), (*to_k)(In), (*to_v)(In), m.image);
  return {img, txt};
}

RungOutput CrossAttentionV9::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  auto [img, txt] = attention((*attn_norm)(I), (*attn_norm)(T), m);
  // No residual to the raw inputs here: the seed notes that adding I and T made v9 untrainable.
  Tensor a_img = project_out(img), a_txt = project_out(txt);
  return {feed_forward(a_img), feed_forward(a_txt)};
}

}  // namespace mm::models
