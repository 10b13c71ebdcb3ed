#include "models/cross_attention/attention_core.h"

#include <cmath>
#include <limits>

#include "autograd/functions.h"
#include "ops/copy.h"
#include "runtime/error.h"

namespace mm::models::ladder {

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// [B, N] → broadcastable against [B, N', N] (rank 3) or [B, H, N', N] (rank 4), masking dimension
// `at` (the last for keys, the second last for queries).
Tensor mask_view(const Tensor& m, int64_t rank, bool keys) {
  const int64_t B = m.size(0), N = m.size(1);
  if (rank == 3) return keys ? reshape(m, {B, 1, N}) : reshape(m, {B, N, 1});
  return keys ? reshape(m, {B, 1, 1, N}) : reshape(m, {B, 1, N, 1});
}
}  // namespace

Tensor real_token_mask(const Tensor& mask, const Tensor& x, const char* op, const char* what) {
  if (!mask.defined()) return {};
  const Shape want{x.size(0), x.size(1)};
  MM_CHECK(mask.shape() == want, Shape, op, what, " must be [batch, tokens] = ", shape_str(want),
           " (true = a real token), got ", shape_str(mask.shape()));
  Tensor m = mask;
  if (m.dtype() != DType::Bool) {
    // 0/1 masks (Hugging Face's attention_mask is int64) are accepted; anything else is a mistake
    // (an additive −inf mask, a length vector) that would silently mean "all real" after ne(·, 0).
    for (double v : ops::to_device(m, kCPU).to_double_vector())
      MM_CHECK(v == 0.0 || v == 1.0, Value, op, what, " must be bool or hold only 0 and 1 (1 = a real token), found ",
               v);
    m = ne(m, 0.0);
  }
  return m.device() == x.device() ? m : ops::to_device(m, x.device());
}

Tensor split_heads(const Tensor& x, int64_t heads) {
  return permute(reshape(x, {x.size(0), x.size(1), heads, x.size(2) / heads}), {0, 2, 1, 3});
}

Tensor merge_heads(const Tensor& x) {
  return reshape(permute(x, {0, 2, 1, 3}), {x.size(0), x.size(2), x.size(1) * x.size(3)});
}

Tensor attention_weights(const Tensor& q, const Tensor& k, double scale, const Tensor& key_real) {
  // The seed's order: matmul, then scale.
  Tensor scores = mul(matmul(q, transpose(k, -2, -1)), scale);
  if (!key_real.defined()) return softmax(scores, -1);
  scores = masked_fill(scores, logical_not(mask_view(key_real, scores.dim(), true)), kNegInf);
  // A batch element without one real key: every row would be softmax(−inf, …) = NaN. Those rows
  // are computed on zeros instead and then zeroed, so their weights are 0 and their gradient too.
  Tensor n_real = sum(to(key_real, scores.dtype()), {1}, true);  // [B, 1]
  Tensor dead = mask_view(eq(n_real, 0.0), scores.dim(), true);  // broadcasts over every row
  return masked_fill(softmax(masked_fill(scores, dead, 0.0), -1), dead, 0.0);
}

Tensor zero_padded_queries(const Tensor& weights, const Tensor& query_real) {
  if (!query_real.defined()) return weights;
  return masked_fill(weights, logical_not(mask_view(query_real, weights.dim(), false)), 0.0);
}

Tensor multihead_attend(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads, const Tensor& key_real,
                        double dropout_p, bool training) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(2) / heads));
  Tensor w = attention_weights(split_heads(q, heads), split_heads(k, heads), scale, key_real);
  w = dropout(w, dropout_p, training);
  return merge_heads(matmul(w, split_heads(v, heads)));
}

Tensor masked_mean(const Tensor& x, const Tensor& real) {
  if (!real.defined()) return mean(x, {1});
  Tensor m = unsqueeze(to(real, x.dtype()), 2);  // [B, N, 1]
  return div(sum(mul(x, m), {1}), clamp_min(sum(m, {1}), 1.0));
}

}  // namespace mm::models::ladder
