// Rungs v0–v6: single-head attention with s = dim^-½ (the seed's `self.scale = dim ** -0.5`).
#include <cmath>

#include "autograd/functions.h"
#include "models/cross_attention/attention_core.h"
#include "models/cross_attention/rungs.h"

namespace mm::models {

namespace {

double single_head_scale(int64_t dim) { return 1.0 / std::sqrt(static_cast<double>(dim)); }

// The shared-matrix pattern of v1–v6: A = softmax(qi·ktᵀ·s) over the text keys;
// img = A·vt; txt = Aᵀ·vi, with padded image rows of A left out of the transposed use.
RungOutput shared_attention(const Tensor& qi, const Tensor& kt, const Tensor& vi, const Tensor& vt, double scale,
                            const Tensor& image_real, const Tensor& text_real) {
  Tensor a = ladder::attention_weights(qi, kt, scale, text_real);  // [B, N_i, N_t]
  Tensor img = matmul(a, vt);
  Tensor txt = matmul(transpose(ladder::zero_padded_queries(a, image_real), -2, -1), vi);
  return {img, txt};
}

}  // namespace

// ---- v0 ---------------------------------------------------------------------------------------------

CrossAttentionV0::CrossAttentionV0(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionRung("v0", dim, heads, dropout, ff_dim, false) {}

RungOutput CrossAttentionV0::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  const double s = single_head_scale(dim);
  Tensor img = matmul(ladder::attention_weights(I, T, s, m.text), T);
  Tensor txt = matmul(ladder::attention_weights(T, I, s, m.image), I);
  return {img, txt};
}

// ---- v1 ---------------------------------------------------------------------------------------------

CrossAttentionV1::CrossAttentionV1(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionRung("v1", dim, heads, dropout, ff_dim, false) {}

RungOutput CrossAttentionV1::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  return shared_attention(I, T, I, T, single_head_scale(dim), m.image, m.text);
}

// ---- v2, v3, v5: one LayerNorm, the v1 pattern on In, Tn ---------------------------------------------

CrossAttentionV2::CrossAttentionV2(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionV2("v2", dim, heads, dropout, ff_dim) {}

CrossAttentionV2::CrossAttentionV2(std::string version, int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionRung(std::move(version), dim, heads, dropout, ff_dim, false) {
  norm = add_norm("norm", dim);
}

RungOutput CrossAttentionV2::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  Tensor In = (*norm)(I), Tn = (*norm)(T);
  return shared_attention(In, Tn, In, Tn, single_head_scale(dim), m.image, m.text);
}

// v3 and v5 differ from v2 only in how they combine (heads, dropout and ff_dim are unused by all
// three; the constructor keeps the ladder's one signature).
CrossAttentionV3::CrossAttentionV3(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionV2("v3", dim, heads, dropout, ff_dim) {}

RungOutput CrossAttentionV3::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  RungOutput att = CrossAttentionV2::compute(I, T, m);
  return {add(I, att.image), add(T, att.text)};  // residual to the raw inputs (the seed's v3)
}

CrossAttentionV5::CrossAttentionV5(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionV2("v5", dim, heads, dropout, ff_dim) {}

RungOutput CrossAttentionV5::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  Tensor In = (*norm)(I), Tn = (*norm)(T);
  RungOutput att = shared_attention(In, Tn, In, Tn, single_head_scale(dim), m.image, m.text);
  // At N = 1, A = 1: img = ½In + ½Tn and txt = ½Tn + ½In, the same numbers (addition commutes).
  return {add(mul(In, 0.5), mul(att.image, 0.5)), add(mul(Tn, 0.5), mul(att.text, 0.5))};
}

// ---- v4 ---------------------------------------------------------------------------------------------

CrossAttentionV4::CrossAttentionV4(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionRung("v4", dim, heads, dropout, ff_dim, false) {
  norm = add_norm("norm", dim);
  image_proj = add_linear("image_proj", dim, dim);
  text_proj = add_linear("text_proj", dim, dim);
}

RungOutput CrossAttentionV4::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  Tensor Ip = (*image_proj)((*norm)(I)), Tp = (*text_proj)((*norm)(T));
  return shared_attention(Ip, Tp, Ip, Tp, single_head_scale(dim), m.image, m.text);
}

// ---- v6 ---------------------------------------------------------------------------------------------

CrossAttentionV6::CrossAttentionV6(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionRung("v6", dim, heads, dropout, ff_dim, false) {
  norm = add_norm("norm", dim);
  to_q = add_linear("to_q", dim, dim);
  to_k = add_linear("to_k", dim, dim);
  to_v = add_linear("to_v", dim, dim);
}

RungOutput CrossAttentionV6::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  Tensor In = (*norm)(I), Tn = (*norm)(T);
  return shared_attention((*to_q)(In), (*to_k)(Tn), (*to_v)(In), (*to_v)(Tn), single_head_scale(dim), m.image,
                          m.text);
}

}  // namespace mm::models
