// The level rungs: v10_5 (v9 + 3 levels) and v11 (the levels with v10_4's fused K/V).
#include "autograd/functions.h"
#include "models/cross_attention/rungs.h"

namespace mm::models {

namespace {

// Level ℓ's view of x: level_norms.ℓ(level_projections.ℓ(x)).
Tensor level_view(const nn::ModuleList& projections, const nn::ModuleList& norms, size_t l, const Tensor& x) {
  return (*norms[l])((*projections[l])(x));
}

// Σℓ softmax(level_weights)ℓ · xs[ℓ].
Tensor weighted_sum(const Tensor& level_weights, const TensorList& xs) {
  Tensor w = softmax(level_weights, 0);
  Tensor out;
  for (size_t l = 0; l < xs.size(); ++l) {
    Tensor term = mul(xs[l], select(w, 0, static_cast<int64_t>(l)));
    out = out.defined() ? add(out, term) : term;
  }
  return out;
}

}  // namespace

// ---- v10_5 ----------------------------------------------------------------------------------------------

CrossAttentionV10_5::CrossAttentionV10_5(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionV9("v10_5", dim, heads, dropout, ff_dim) {
  add_levels(level_projections, level_norms, level_weights);
}

RungOutput CrossAttentionV10_5::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  TensorList imgs, txts;
  for (size_t l = 0; l < level_projections->size(); ++l) {
    Tensor Il = level_view(*level_projections, *level_norms, l, I);
    Tensor Tl = level_view(*level_projections, *level_norms, l, T);
    auto [img, txt] = attention((*attn_norm)(Il), (*attn_norm)(Tl), m);
    imgs.push_back(img);
    txts.push_back(txt);
  }
  Tensor a_img = project_out(weighted_sum(level_weights, imgs));
  Tensor a_txt = project_out(weighted_sum(level_weights, txts));
  return {feed_forward(a_img), feed_forward(a_txt)};
}

// ---- v11 ------------------------------------------------------------------------------------------------

CrossAttentionV11::CrossAttentionV11(int64_t dim, int64_t heads, double dropout, int64_t ff_dim)
    : CrossAttentionV10_4("v11", dim, heads, dropout, ff_dim) {
  add_levels(level_projections, level_norms, level_weights);
}

RungOutput CrossAttentionV11::compute(const Tensor& I, const Tensor& T, const Masks& m) {
  TensorList imgs, txts;
  for (size_t l = 0; l < level_projections->size(); ++l) {
    Tensor In = (*attn_norm)(level_view(*level_projections, *level_norms, l, I));
    Tensor Tn = (*attn_norm)(level_view(*level_projections, *level_norms, l, T));
    // to_out per level and no dropout after it (SPEC's v11).
    imgs.push_back((*to_out)(fused_attend(In, Tn, m.text)));
    txts.push_back((*to_out)(fused_attend(Tn, In, m.image)));
  }
  return {feed_forward(weighted_sum(level_weights, imgs)), feed_forward(weighted_sum(level_weights, txts))};
}

}  // namespace mm::models
