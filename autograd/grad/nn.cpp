// dropout, scaled_dot_product_attention and lstm, composed from differentiable framework ops (see
// nn.h for the semantics). Nothing here records a node of its own: every gradient comes from the
// parts (mul, matmul, softmax, sigmoid, tanh, where, ...).
#include "autograd/grad/nn.h"

#include <cmath>
#include <limits>
#include <vector>

#include "autograd/autocast.h"
#include "autograd/grad/creation.h"
#include "autograd/grad/elementwise.h"
#include "autograd/grad/linalg.h"
#include "autograd/grad/reduce.h"
#include "autograd/grad/shape.h"
#include "autograd/grad/shape_copy.h"
#include "autograd/grad/softmax.h"

#include "ops/common/broadcast.h"

namespace mm {

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  check_floating(x, "dropout", "input");
  MM_CHECK(p >= 0.0 && p <= 1.0, Value, "dropout", "probability must be in [0, 1], got ", p);
  if (!training || p == 0.0) return x;
  if (p == 1.0) return mul(x, 0.0);  // every element dropped; 1/(1−p) would be ∞
  // Scale the 0/1 mask once (it needs no gradient), then one recorded mul: dx = g · mask/(1−p).
  Tensor keep = ops::bernoulli(x.shape(), 1.0 - p, x.dtype(), x.device(), gen);
  return mul(x, mul(keep, 1.0 / (1.0 - p)));
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask,
                                    double dropout_p, bool is_causal, std::optional<double> scale, Generator* gen) {
  // Autocast's low-precision list (autograd/autocast.h): q, k, v in the low dtype. The softmax inside
  // then runs in f32 (f32 list) and the weights are cast down again for the product with v.
  if (autocast_enabled() && (autocast_to_low_needed(q) || autocast_to_low_needed(k) || autocast_to_low_needed(v)))
      [[unlikely]]
    return scaled_dot_product_attention(autocast_to_low(q), autocast_to_low(k), autocast_to_low(v), attn_mask,
                                        dropout_p, is_causal, scale, gen);
  const char* op = "scaled_dot_product_attention";
  check_floating(q, op, "query");
  check_floating(k, op, "key");
  check_floating(v, op, "value");
  MM_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype(), DType, op, "query, key and value must have the same "
           "dtype, got ", dtype_name(q.dtype()), ", ", dtype_name(k.dtype()), ", ", dtype_name(v.dtype()));
  MM_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2, Shape, op,
           "query, key and value must be at least 2-D, got ", shape_str(q.shape()), ", ", shape_str(k.shape()),
           ", ", shape_str(v.shape()));
  MM_CHECK(q.size(-1) == k.size(-1), Shape, op, "query ", shape_str(q.shape()), " and key ", shape_str(k.shape()),
           " have different embedding sizes (last dimension)");
  MM_CHECK(k.size(-2) == v.size(-2), Shape, op, "key ", shape_str(k.shape()), " and value ", shape_str(v.shape()),
           " have different sequence lengths (dimension -2)");
  MM_CHECK(dropout_p >= 0.0 && dropout_p <= 1.0, Value, op, "dropout_p must be in [0, 1], got ", dropout_p);
  const int64_t L = q.size(-2), S = k.size(-2), E = q.size(-1);
  const double s = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(E));

  // Scale q rather than the scores: L·E multiplications instead of L·S.
  Tensor scores = matmul(mul(q, s), transpose(k, -2, -1));  // [..., L, S]

  Tensor allowed;  // bool, true = the key takes part
  if (attn_mask.defined()) {
    MM_CHECK(broadcasts_to(attn_mask.shape(), scores.shape()), Shape, op, "attn_mask ", shape_str(attn_mask.shape()),
             " must broadcast to the attention scores [..., L, S] = ", shape_str(scores.shape()));
    if (attn_mask.dtype() == DType::Bool) {
      allowed = attn_mask;
    } else {
      MM_CHECK(is_floating(attn_mask.dtype()), DType, op, "attn_mask must be bool (true = take part) or floating (added "
               "to the scores), got ", dtype_name(attn_mask.dtype()));
      scores = scores + to(attn_mask, scores.dtype());
    }
  }
  if (is_causal) {
    Tensor causal = tril_mask(L, S, 0, q.device());
    allowed = allowed.defined() ? logical_and(allowed, causal) : causal;
  }
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (allowed.defined()) scores = masked_fill(scores, logical_not(allowed), neg_inf);

  Tensor weights;
  if (attn_mask.defined() || is_causal) {
    // Rows with every score −∞ would give softmax 0/0 = NaN (and NaN gradients reaching q and k).
    // Give those rows finite scores, then zero their weights: output 0, gradient 0.
    Tensor dead = eq(sum(eq(scores, neg_inf), {-1}, true), static_cast<double>(S));  // [..., L, 1]
    weights = masked_fill(softmax(masked_fill(scores, dead, 0.0), -1), dead, 0.0);
  } else {
    weights = softmax(scores, -1);
  }
  if (dropout_p > 0.0) weights = dropout(weights, dropout_p, true, gen);
  return matmul(weights, v);
}

std::tuple<Tensor, Tensor, Tensor> lstm(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                                        const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                                        const Tensor& lengths, bool reverse) {
  // Autocast (autograd/autocast.h): f16/bf16 operands are cast up to f32 so the gates and the cell state
  // stay f32; the weights go to the low dtype once, below, for the GEMMs.
  if (autocast_enabled() && (autocast_wants_f32(x) || autocast_wants_f32(h0) || autocast_wants_f32(c0) ||
                             autocast_wants_f32(w_ih) || autocast_wants_f32(w_hh) || autocast_wants_f32(b_ih) ||
                             autocast_wants_f32(b_hh))) [[unlikely]]
    return lstm(autocast_to_f32(x), autocast_to_f32(h0), autocast_to_f32(c0), autocast_to_f32(w_ih),
                autocast_to_f32(w_hh), autocast_to_f32(b_ih), autocast_to_f32(b_hh), lengths, reverse);
  const char* op = "lstm";
  check_floating(x, op, "input");
  check_floating(h0, op, "h0");
  check_floating(c0, op, "c0");
  check_floating(w_ih, op, "w_ih");
  check_floating(w_hh, op, "w_hh");
  for (const Tensor* t : {&h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh})
    MM_CHECK(!t->defined() || t->dtype() == x.dtype(), DType, op, "all tensors must have the input's dtype ",
             dtype_name(x.dtype()), ", got ", dtype_name(t->dtype()));
  MM_CHECK(x.dim() == 3, Shape, op, "input must be [T, B, I] (sequence first), got ", shape_str(x.shape()));
  const int64_t T = x.size(0), B = x.size(1), I = x.size(2);
  MM_CHECK(h0.dim() == 2 && h0.size(0) == B, Shape, op, "h0 must be [B, H] with B = ", B, ", got ",
           shape_str(h0.shape()));
  const int64_t H = h0.size(1);
  MM_CHECK(c0.shape() == h0.shape(), Shape, op, "c0 ", shape_str(c0.shape()), " must have h0's shape ",
           shape_str(h0.shape()));
  MM_CHECK(w_ih.shape() == (Shape{4 * H, I}), Shape, op, "w_ih must be [4H, I] = ", shape_str({4 * H, I}), ", got ",
           shape_str(w_ih.shape()));
  MM_CHECK(w_hh.shape() == (Shape{4 * H, H}), Shape, op, "w_hh must be [4H, H] = ", shape_str({4 * H, H}), ", got ",
           shape_str(w_hh.shape()));
  for (const Tensor* bias : {&b_ih, &b_hh}) {
    if (!bias->defined()) continue;
    check_floating(*bias, op, "bias");
    MM_CHECK(bias->shape() == (Shape{4 * H}), Shape, op, "biases must be [4H] = ", shape_str({4 * H}), ", got ",
             shape_str(bias->shape()));
  }
  Tensor len;  // i64 [B, 1] on x's device
  if (lengths.defined()) {
    MM_CHECK(!is_floating(lengths.dtype()) && lengths.dtype() != DType::Bool, DType, op,
             "lengths must have an integer dtype, got ", dtype_name(lengths.dtype()));
    MM_CHECK(lengths.shape() == (Shape{B}), Shape, op, "lengths must be [B] = ", shape_str({B}), ", got ",
             shape_str(lengths.shape()));
    Tensor host = ops::contiguous(ops::to_dtype(ops::to_device(lengths, kCPU), DType::I64));
    for (int64_t b = 0; b < B; ++b) {
      int64_t n = host.data<int64_t>()[b];
      MM_CHECK(n >= 0 && n <= T, Value, op, "lengths[", b, "] = ", n, " is outside [0, T] = [0, ", T, "]");
    }
    len = reshape(ops::to_device(host, x.device()), {B, 1});
  }
  if (T == 0) return {zeros({0, B, H}, x.dtype(), x.device()), h0, c0};

  // The input projection of every step at once: [T, B, 4H], biases folded in.
  // Under autocast the matmuls would cast their weight operand at every step: cast once here instead.
  Tensor xw = matmul(x, transpose(autocast_enabled() ? autocast_to_low(w_ih) : w_ih, 0, 1));
  if (b_ih.defined()) xw = xw + b_ih;
  if (b_hh.defined()) xw = xw + b_hh;
  Tensor w_hh_t = transpose(autocast_enabled() ? autocast_to_low(w_hh) : w_hh, 0, 1);

  Tensor h = h0, c = c0;
  TensorList outputs(static_cast<size_t>(T));
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = reverse ? T - 1 - s : s;
    TensorList gates = chunk(select(xw, 0, t) + matmul(h, w_hh_t), 4, 1);  // i, f, g, o: [B, H] each
    Tensor i = sigmoid(gates[0]), f = sigmoid(gates[1]), g = tanh(gates[2]), o = sigmoid(gates[3]);
    Tensor c_next = f * c + i * g;
    Tensor h_next = o * tanh(c_next);
    if (len.defined()) {
      // Sequences already finished (t ≥ length) keep their state and output 0.
      Tensor active = gt(len, static_cast<double>(t));  // [B, 1]
      h = where(active, h_next, h);
      c = where(active, c_next, c);
      outputs[static_cast<size_t>(t)] = where(active, h_next, 0.0);
    } else {
      h = h_next;
      c = c_next;
      outputs[static_cast<size_t>(t)] = h_next;
    }
  }
  return {stack(outputs, 0), h, c};
}

}  // namespace mm
