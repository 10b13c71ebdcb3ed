#include "nn/attention.h"

#include <cmath>
#include <limits>

#include "autograd/functions.h"
#include "nn/init.h"
#include "runtime/error.h"
#include "nn/trace.h"

namespace mm::nn {

namespace {

constexpr const char* kName = "MultiheadAttention";
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// [B, N, E] → [B, heads, N, E/heads]: head h owns features [h·hd, (h+1)·hd), as PyTorch's
// q.view(L, B·heads, hd) does (its B·heads index is b·heads + h, which [B, heads] flattens to).
Tensor split_heads(const Tensor& x, int64_t heads) {
  return permute(reshape(x, {x.size(0), x.size(1), heads, x.size(2) / heads}), {0, 2, 1, 3});
}

// [B, heads, N, hd] → [B, N, heads·hd], the inverse of split_heads.
Tensor merge_heads(const Tensor& x) {
  return reshape(permute(x, {0, 2, 1, 3}), {x.size(0), x.size(2), x.size(1) * x.size(3)});
}

void check_mask_dtype(const Tensor& m, const char* what) {
  MM_CHECK(m.dtype() == DType::Bool || is_floating(m.dtype()), DType, kName, what,
           " must be bool (true = not allowed) or floating (added to the scores), got ", dtype_name(m.dtype()));
}

// attn_mask as [1, 1, L, S] or [B, heads, L, S] (PyTorch's 3-D form is [B·heads, L, S], b-major).
Tensor attn_mask_4d(const Tensor& m, int64_t B, int64_t H, int64_t L, int64_t S) {
  check_mask_dtype(m, "attn_mask");
  if (m.dim() == 2) {
    MM_CHECK(m.shape() == (Shape{L, S}), Shape, kName, "2-D attn_mask must be [L, S] = ", shape_str({L, S}),
             ", got ", shape_str(m.shape()));
    return reshape(m, {1, 1, L, S});
  }
  MM_CHECK(m.dim() == 3 && m.shape() == (Shape{B * H, L, S}), Shape, kName,
           "attn_mask must be [L, S] = ", shape_str({L, S}), " or [batch·num_heads, L, S] = ",
           shape_str({B * H, L, S}), ", got ", shape_str(m.shape()));
  return reshape(m, {B, H, L, S});
}

// key_padding_mask [B, S] (unbatched [S]) as [B, 1, 1, S]: one row of keys per batch, for every head
// and query.
Tensor key_padding_mask_4d(const Tensor& m, bool batched, int64_t B, int64_t S) {
  check_mask_dtype(m, "key_padding_mask");
  const Shape want = batched ? Shape{B, S} : Shape{S};
  MM_CHECK(m.shape() == want, Shape, kName, "key_padding_mask must be ", shape_str(want),
           " ([batch, S], or [S] unbatched), got ", shape_str(m.shape()));
  return reshape(m, {B, 1, 1, S});
}

// A bool "not allowed" mask as an additive one (0 / −∞), or a floating mask in the scores' dtype.
Tensor additive(const Tensor& m, DType dtype) {
  if (m.dtype() != DType::Bool) return to(m, dtype);
  return masked_fill(zeros(m.shape(), dtype, m.device()), m, kNegInf);
}

// One mask broadcastable to the scores [B, heads, L, S], in the form mm::scaled_dot_product_attention
// takes: undefined (none), bool with true = the key TAKES PART (the opposite of MHA's bool masks, hence
// the logical_not), or floating and added. Two bool masks stay bool (a position is blocked when either
// blocks it, PyTorch's logical_or); with a floating one, both become additive (PyTorch's masked_fill
// with −∞).
Tensor merged_mask(const Tensor& am, const Tensor& kpm, DType dtype) {
  if (!am.defined() && !kpm.defined()) return {};
  const bool all_bool = (!am.defined() || am.dtype() == DType::Bool) && (!kpm.defined() || kpm.dtype() == DType::Bool);
  if (all_bool) {
    Tensor blocked = !am.defined() ? kpm : !kpm.defined() ? am : logical_or(am, kpm);
    return logical_not(blocked);
  }
  if (!am.defined()) return additive(kpm, dtype);
  if (!kpm.defined()) return additive(am, dtype);
  return additive(am, dtype) + additive(kpm, dtype);
}

// softmax(q·kᵀ/√hd + mask) over the keys, with the fully masked rows set to 0 as
// mm::scaled_dot_product_attention sets them (so both paths of forward agree).
Tensor attention_weights(const Tensor& q, const Tensor& k, const Tensor& mask) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  Tensor scores = matmul(mul(q, scale), transpose(k, -2, -1));  // [B, heads, L, S]
  if (!mask.defined()) return softmax(scores, -1);
  scores = mask.dtype() == DType::Bool ? masked_fill(scores, logical_not(mask), kNegInf) : scores + mask;
  Tensor dead = eq(sum(eq(scores, kNegInf), {-1}, true), static_cast<double>(k.size(-2)));  // [B, heads, L, 1]
  return masked_fill(softmax(masked_fill(scores, dead, 0.0), -1), dead, 0.0);
}

// [N, B, E] / [B, N, E] / [N, E] → [B, N, E].
Tensor to_batch_major(const Tensor& x, bool batched, bool batch_first) {
  if (!batched) return unsqueeze(x, 0);
  return batch_first ? x : transpose(x, 0, 1);
}

}  // namespace

MultiheadAttention::MultiheadAttention(int64_t E, int64_t heads, double p, bool bias, bool bf)
    : Module(kName), embed_dim(E), num_heads(heads), head_dim(heads > 0 ? E / heads : 0), dropout(p),
      batch_first(bf) {
  MM_CHECK(E > 0 && heads > 0, Value, kName, "embed_dim and num_heads must be positive, got ", E, ", ", heads);
  MM_CHECK(E % heads == 0, Value, kName, "embed_dim (", E, ") must be divisible by num_heads (", heads, ")");
  MM_CHECK(p >= 0.0 && p <= 1.0, Value, kName, "dropout must be in [0, 1], got ", p);
  // torch.nn.MultiheadAttention._reset_parameters: xavier_uniform_ on the packed [3E, E] weight (fans
  // E and 3E), zero in_proj_bias and out_proj.bias; out_proj.weight keeps Linear's default.
  in_proj_weight = Tensor::empty({3 * E, E});
  init::xavier_uniform_(in_proj_weight);
  register_parameter("in_proj_weight", &in_proj_weight);
  if (bias) {
    in_proj_bias = zeros({3 * E});
    register_parameter("in_proj_bias", &in_proj_bias);
  }
  out_proj = register_module("out_proj", std::make_shared<Linear>(E, E, bias));
  if (bias) init::zeros_(out_proj->bias);
}

// x·W_iᵀ + b_i with block i (0: q, 1: k, 2: v) of the packed in_proj_weight / in_proj_bias.
Tensor MultiheadAttention::in_projection(const Tensor& x, int64_t i) const {
  auto block = [&](const Tensor& t) { return t.defined() ? narrow(t, 0, i * embed_dim, embed_dim) : Tensor(); };
  return linear(x, block(in_proj_weight), block(in_proj_bias));
}

std::pair<Tensor, Tensor> MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                      const Tensor& key_padding_mask, bool need_weights,
                                                      const Tensor& attn_mask, bool average_attn_weights) {
  MM_CHECK(query.dim() == 2 || query.dim() == 3, Shape, kName, "query must be [L, B, E], [B, L, E] (batch_first) "
           "or unbatched [L, E], got ", shape_str(query.shape()));
  MM_CHECK(key.dim() == query.dim() && value.dim() == query.dim(), Shape, kName, "query ", shape_str(query.shape()),
           ", key ", shape_str(key.shape()), " and value ", shape_str(value.shape()), " must have the same rank");
  const bool batched = query.dim() == 3;
  const Tensor q_in = to_batch_major(query, batched, batch_first);  // [B, L, E]
  const Tensor k_in = to_batch_major(key, batched, batch_first);    // [B, S, E]
  const Tensor v_in = to_batch_major(value, batched, batch_first);  // [B, S, E]
  const int64_t B = q_in.size(0), L = q_in.size(1), S = k_in.size(1), E = embed_dim;
  MM_CHECK(q_in.size(2) == E && k_in.size(2) == E && v_in.size(2) == E, Shape, kName, "query ",
           shape_str(query.shape()), ", key ", shape_str(key.shape()), " and value ", shape_str(value.shape()),
           " must all end in embed_dim = ", E);
  MM_CHECK(k_in.shape() == v_in.shape() && k_in.size(0) == B, Shape, kName, "key ", shape_str(key.shape()),
           " and value ", shape_str(value.shape()), " must have the same shape, and query ", shape_str(query.shape()),
           " the same batch size");

  const Tensor kpm = key_padding_mask.defined() ? key_padding_mask_4d(key_padding_mask, batched, B, S) : Tensor();
  const Tensor am = attn_mask.defined() ? attn_mask_4d(attn_mask, B, num_heads, L, S) : Tensor();
  const Tensor mask = merged_mask(am, kpm, query.dtype());

  // Self-attention (one tensor for all three) projects once with the packed weight, as PyTorch does.
  TensorList qkv = query.same(key) && key.same(value)
                       ? chunk(linear(q_in, in_proj_weight, in_proj_bias), 3, -1)
                       : TensorList{in_projection(q_in, 0), in_projection(k_in, 1), in_projection(v_in, 2)};
  const Tensor q = split_heads(qkv[0], num_heads), k = split_heads(qkv[1], num_heads);
  const Tensor v = split_heads(qkv[2], num_heads);

  // FLOPs for `mmalign summary`: the three input projections and the two attention matmuls (out_proj
  // reports its own).
  trace_flops(2.0 * embed_dim * embed_dim * (B * L + 2.0 * B * S) + 4.0 * B * L * S * embed_dim);

  // nn.MultiheadAttention: dropout_p = 0 outside training.
  const double p = training_ ? dropout : 0.0;
  Tensor heads_out, weights;  // [B, heads, L, hd], [B, heads, L, S]
  if (need_weights) {
    weights = mm::dropout(attention_weights(q, k, mask), p);  // p = 0: the weights themselves
    heads_out = matmul(weights, v);
  } else {
    heads_out = scaled_dot_product_attention(q, k, v, mask, p);
  }
  Tensor out = (*out_proj)(merge_heads(heads_out));  // [B, L, E]
  out = !batched ? squeeze(out, 0) : batch_first ? out : transpose(out, 0, 1);
  if (weights.defined()) {
    if (average_attn_weights) weights = mean(weights, {1});  // PyTorch: sum over heads / num_heads
    if (!batched) weights = squeeze(weights, 0);
  }
  return {out, weights};
}

}  // namespace mm::nn
