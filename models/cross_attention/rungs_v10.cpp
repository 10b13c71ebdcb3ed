// Rungs v10_1–v10_4 and v10_6: v9 plus one mechanism each (the level rungs v10_5 and v11 are in
// rungs_levels.cpp).
#include "autograd/functions.h"
#include "models/cross_attention/attention_core.h"
#include "models/cross_attention/rungs.h"
#include "runtime/error.h"

namespace mm::models {

// ---- v10_1: per-modality Q/K/V ------------------------------------------------------------------------

CrossAttentionV10_1::CrossAttentionV10_1(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : GatedRung("v10_1", dim, heads, dropout, ff_dim) {
  add_v9_modules([&] {
    image_to_q = add_linear("image_to_q", dim, dim);
    image_to_k = add_linear("image_to_k", dim, dim);
    image_to_v = add_linear("image_to_v", dim, dim);
    text_to_q = add_linear("text_to_q", dim, dim);
    text_to_k = add_linear("text_to_k", dim, dim);
    text_to_v = add_linear("text_to_v", dim, dim);
  });
}

RungOutput CrossAttentionV10_1::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  Tensor In = (*attn_norm)(I), Tn = (*attn_norm)(T);
  Tensor img = attend((*image_to_q)(In), (*text_to_k)(Tn), (*text_to_v)(Tn), m.text);
  Tensor txt = attend((*text_to_q)(Tn), (*image_to_k)(In), (*image_to_v)(In), m.image);
  return {feed_forward(project_out(img)), feed_forward(project_out(txt))};
}

// ---- v10_2: cross gates ---------------------------------------------------------------------------------

CrossAttentionV10_2::CrossAttentionV10_2(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionV9("v10_2", dim, heads, dropout, ff_dim) {
  auto gate = [&] {
    return std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
        std::make_shared<nn::Linear>(2 * dim, dim), std::make_shared<nn::ActivationModule>(nn::Activation::Sigmoid)});
  };
  image_gate = register_module("image_gate", gate());
  text_gate = register_module("text_gate", gate());
  gate_norm = add_norm("gate_norm", 2 * dim);
}

RungOutput CrossAttentionV10_2::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  auto [img, txt] = attention((*attn_norm)(I), (*attn_norm)(T), m);
  Tensor a_img = project_out(img), a_txt = project_out(txt);
  // The gate sees the attended features next to the raw inputs of the same modality.
  a_img = mul(a_img, (*image_gate)((*gate_norm)(cat({a_img, I}, -1))));
  a_txt = mul(a_txt, (*text_gate)((*gate_norm)(cat({a_txt, T}, -1))));
  return {feed_forward(a_img), feed_forward(a_txt)};
}

// ---- v10_3: context layers --------------------------------------------------------------------------------

CrossAttentionV10_3::CrossAttentionV10_3(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionV9("v10_3", dim, heads, dropout, ff_dim) {
  auto context = [&] {
    return std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
        std::make_shared<nn::Linear>(dim, dim), nn::GELU(), std::make_shared<nn::Linear>(dim, dim)});
  };
  image_context = register_module("image_context", context());
  text_context = register_module("text_context", context());
}

RungOutput CrossAttentionV10_3::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  auto [img, txt] = attention((*image_context)((*attn_norm)(I)), (*text_context)((*attn_norm)(T)), m);
  return {feed_forward(project_out(img)), feed_forward(project_out(txt))};
}

// ---- v10_4: fused K/V ---------------------------------------------------------------------------------------

CrossAttentionV10_4::CrossAttentionV10_4(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionV10_4("v10_4", dim, heads, dropout, ff_dim) {}

CrossAttentionV10_4::CrossAttentionV10_4(std::string version, int64_t dim, int64_t heads, double dropout,
                                         int64_t ff_dim)
    : GatedRung(std::move(version), dim, heads, dropout, ff_dim) {
  add_v9_modules([&] {
    to_q = add_linear("to_q", dim, dim);
    to_kv = add_linear("to_kv", dim, 2 * dim);
  });
}

Tensor CrossAttentionV10_4::fused_attend(const Tensor& xq, const Tensor& xkv, const Tensor& key_real) const {
  // torch.chunk(to_kv(x), 2, dim=-1): k is the first d features, v the last d; both are split into
  // heads afterwards, so each head has its own K and V slice.
  TensorList kv = chunk((*to_kv)(xkv), 2, -1);
  return attend((*to_q)(xq), kv[0], kv[1], key_real);
}

RungOutput CrossAttentionV10_4::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  Tensor In = (*attn_norm)(I), Tn = (*attn_norm)(T);
  Tensor img = fused_attend(In, Tn, m.text), txt = fused_attend(Tn, In, m.image);
  return {feed_forward(project_out(img)), feed_forward(project_out(txt))};
}

// ---- v10_6: contrastive similarity added to the features ---------------------------------------------------

CrossAttentionV10_6::CrossAttentionV10_6(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionV9("v10_6", dim, heads, dropout, ff_dim) {
  contrast_proj = add_linear("contrast_proj", dim, dim);
}

RungOutput CrossAttentionV10_6::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  const int64_t n_i = I.size(1), n_t = T.size(1);
  // a_img [B, N_i, d] + S [B, N_i, N_t] broadcasts only when N_t is 1 or d (and a_txt + Sᵀ when N_i
  // is 1 or d): the source ran at N = 1 only, where S is one number per pair. Say so instead of
  // failing inside add().
  MM_CHECK((n_t == 1 || n_t == dim) && (n_i == 1 || n_i == dim), Shape, op_name(),
           "v10_6 adds the similarity matrix S [B, N_i, N_t] to the features [B, N, d] by broadcasting (as the "
           "source), which needs N_i and N_t each to be 1 or d = ", dim, "; got N_i = ", n_i, ", N_t = ", n_t);
  auto [img, txt] = attention((*attn_norm)(I), (*attn_norm)(T), m);
  Tensor a_img = project_out(img), a_txt = project_out(txt);
  Tensor ci = normalize((*contrast_proj)(a_img), 2.0, -1), ct = normalize((*contrast_proj)(a_txt), 2.0, -1);
  Tensor s = mul(matmul(ci, transpose(ct, -2, -1)), 0.1);  // [B, N_i, N_t]
  // Padded tokens take no part in S (our choice; the source had no masks).
  s = ladder::zero_padded_queries(s, m.image);
  if (m.text.defined()) s = masked_fill(s, logical_not(unsqueeze(m.text, 1)), 0.0);
  a_img = add(a_img, s);
  a_txt = add(a_txt, transpose(s, -2, -1));
  return {feed_forward(a_img), feed_forward(a_txt)};
}

}  // namespace mm::models
