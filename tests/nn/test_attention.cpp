// nn::MultiheadAttention and nn::TransformerEncoderLayer against PyTorch's definitions written out
// with functional ops one (batch, head) at a time: parameter names / shapes / init, masks (PyTorch's
// "true = not allowed" convention, bool vs additive, per-head [B·heads, L, S] indexing), layouts,
// the weights-returning and the fused paths, dropout, post-LN / pre-LN, errors and gradients.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "nn/attention.h"
#include "nn/transformer.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "tests/common/expect_error.h"

namespace mm::nn {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<std::string> names(const NamedTensors& v) {
  std::vector<std::string> n;
  for (const auto& [k, t] : v) n.push_back(k);
  return n;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(shape_str(a.shape()), shape_str(b.shape()));
  auto x = a.to_double_vector(), y = b.to_double_vector();
  double m = 0;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_double_vector()) m = std::max(m, std::fabs(v));
  return m;
}

// The additive mask entry for batch b, head h, query l, key s (0, a finite value, or −∞).
using MaskFn = std::function<double(int64_t b, int64_t h, int64_t l, int64_t s)>;

struct RefResult {
  Tensor out;      // [B, L, E]
  Tensor weights;  // [B, heads, L, S]
};

// nn.MultiheadAttention's definition, one (batch, head) pair at a time with 2-D matmuls: no
// reshapes, permutes or mask merging shared with the module. q, k, v are batch-major [B, N, E].
RefResult reference_mha(const MultiheadAttention& m, const Tensor& query, const Tensor& key, const Tensor& value,
                        const MaskFn& mask) {
  const int64_t B = query.size(0), L = query.size(1), S = key.size(1), E = m.embed_dim, H = m.num_heads;
  const int64_t hd = E / H;
  const Tensor& W = m.in_proj_weight;
  const Tensor& bias = m.in_proj_bias;
  auto project = [&](const Tensor& x, int64_t which, int64_t h) {  // x [N, E] → [N, hd]
    const int64_t row = which * E + h * hd;
    Tensor y = matmul(x, transpose(narrow(W, 0, row, hd), 0, 1));
    return bias.defined() ? y + narrow(bias, 0, row, hd) : y;
  };
  TensorList outs, weights;
  for (int64_t b = 0; b < B; ++b) {
    TensorList heads, head_weights;
    for (int64_t h = 0; h < H; ++h) {
      Tensor q = project(select(query, 0, b), 0, h), k = project(select(key, 0, b), 1, h);
      Tensor v = project(select(value, 0, b), 2, h);
      std::vector<double> add(static_cast<size_t>(L * S), 0.0);
      for (int64_t l = 0; l < L; ++l)
        for (int64_t s = 0; s < S; ++s) add[static_cast<size_t>(l * S + s)] = mask ? mask(b, h, l, s) : 0.0;
      Tensor scores = matmul(q, transpose(k, 0, 1)) / std::sqrt(static_cast<double>(hd)) +
                      to(Tensor::from_vector(add, {L, S}), q.dtype());
      Tensor w = softmax(scores, -1);
      heads.push_back(matmul(w, v));
      head_weights.push_back(w);
    }
    outs.push_back(m.out_proj->forward(cat(heads, 1)));
    weights.push_back(stack(head_weights, 0));
  }
  return {stack(outs, 0), stack(weights, 0)};
}

std::shared_ptr<MultiheadAttention> f64_mha(int64_t E, int64_t H, bool batch_first = false, uint64_t seed = 1) {
  manual_seed(seed);
  auto m = std::make_shared<MultiheadAttention>(E, H, 0.0, true, batch_first);
  m->to(DType::F64);
  // Non-zero biases, so that a mix-up of q/k/v blocks or bias slices shows.
  NoGradGuard ng;
  ops::copy_(m->in_proj_bias, ops::randn({3 * E}, DType::F64));
  ops::copy_(m->out_proj->bias, ops::randn({E}, DType::F64));
  return m;
}

Tensor bool_tensor(const std::vector<int>& v, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::Bool);
  for (size_t i = 0; i < v.size(); ++i) t.data<bool>()[i] = v[i] != 0;
  return t;
}

// ---- MultiheadAttention: parameters -----------------------------------------------------------------

TEST(MultiheadAttention, ParameterNamesShapesAndPyTorchInit) {
  manual_seed(3);
  MultiheadAttention m(64, 4);
  EXPECT_EQ(names(m.state_dict()), (std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                              "out_proj.bias"}));
  EXPECT_EQ(m.in_proj_weight.shape(), Shape({192, 64}));
  EXPECT_EQ(m.in_proj_bias.shape(), Shape({192}));
  EXPECT_EQ(m.out_proj->weight.shape(), Shape({64, 64}));
  EXPECT_EQ(m.head_dim, 16);
  // xavier_uniform_ on [3E, E]: bound √(6 / (E + 3E)); 12288 draws pin the std within 2%.
  const double bound = std::sqrt(6.0 / (64 + 192));
  EXPECT_LE(max_abs(m.in_proj_weight), bound);
  auto w = m.in_proj_weight.to_double_vector();
  double sq = 0;
  for (double v : w) sq += v * v;
  EXPECT_NEAR(std::sqrt(sq / w.size()), bound / std::sqrt(3.0), 0.02 * bound);
  EXPECT_EQ(max_abs(m.in_proj_bias), 0.0);
  EXPECT_EQ(max_abs(m.out_proj->bias), 0.0);
  // out_proj.weight keeps Linear's U(−1/√E, 1/√E), narrower than the xavier bound here.
  EXPECT_LE(max_abs(m.out_proj->weight), 1.0 / 8.0);
  EXPECT_GT(max_abs(m.out_proj->weight), 0.1);
  MultiheadAttention nb(8, 2, 0.0, /*bias=*/false);
  EXPECT_EQ(names(nb.state_dict()), (std::vector<std::string>{"in_proj_weight", "out_proj.weight"}));
}

TEST(MultiheadAttention, ConstructorErrors) {
  EXPECT_ERROR_CONTAINS(MultiheadAttention(10, 3), ErrorKind::Value, "MultiheadAttention", "divisible by num_heads");
  EXPECT_ERROR_CONTAINS(MultiheadAttention(0, 1), ErrorKind::Value, "MultiheadAttention", "positive");
  EXPECT_ERROR_CONTAINS(MultiheadAttention(4, 2, 1.5), ErrorKind::Value, "MultiheadAttention", "dropout");
}

// ---- MultiheadAttention: forward against the per-head reference ---------------------------------------

TEST(MultiheadAttention, CrossAttentionWithBothMasksMatchesTheReference) {
  const int64_t E = 6, H = 3, L = 3, S = 4, B = 2;
  auto m = f64_mha(E, H);
  manual_seed(11);
  Tensor q = ops::randn({L, B, E}, DType::F64), k = ops::randn({S, B, E}, DType::F64);
  Tensor v = ops::randn({S, B, E}, DType::F64);
  // key_padding_mask: batch 1 ignores key 3. attn_mask (bool, true = not allowed): query 0 may not
  // see key 1, query 2 may not see key 0.
  Tensor kpm = bool_tensor({0, 0, 0, 0, 0, 0, 0, 1}, {B, S});
  Tensor am = bool_tensor({0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, {L, S});
  auto [out, w] = m->forward(q, k, v, kpm, true, am, /*average_attn_weights=*/false);
  auto ref = reference_mha(*m, transpose(q, 0, 1), transpose(k, 0, 1), transpose(v, 0, 1),
                           [](int64_t b, int64_t, int64_t l, int64_t s) {
                             bool blocked = (b == 1 && s == 3) || (l == 0 && s == 1) || (l == 2 && s == 0);
                             return blocked ? -kInf : 0.0;
                           });
  EXPECT_EQ(out.shape(), Shape({L, B, E}));
  EXPECT_EQ(w.shape(), Shape({B, H, L, S}));
  EXPECT_LT(max_abs_diff(out, transpose(ref.out, 0, 1)), 1e-12);
  EXPECT_LT(max_abs_diff(w, ref.weights), 1e-12);
  // Averaged weights are the mean over heads.
  auto [out2, w_avg] = m->forward(q, k, v, kpm, true, am);
  EXPECT_EQ(w_avg.shape(), Shape({B, L, S}));
  EXPECT_LT(max_abs_diff(w_avg, mean(ref.weights, {1})), 1e-12);
  EXPECT_EQ(out2.to_double_vector(), out.to_double_vector());
}

TEST(MultiheadAttention, PerHeadFloatMaskIsIndexedBatchMajor) {
  // PyTorch's 3-D attn_mask is [B·heads, L, S] with entry b·heads + h.
  const int64_t E = 4, H = 2, L = 2, S = 3, B = 2;
  auto m = f64_mha(E, H, /*batch_first=*/true, 5);
  manual_seed(12);
  Tensor x = ops::randn({B, L, E}, DType::F64), y = ops::randn({B, S, E}, DType::F64);
  Tensor am = ops::randn({B * H, L, S}, DType::F64);
  auto [out, w] = m->forward(x, y, y, {}, true, am, false);
  auto a = am.to_double_vector();
  auto ref = reference_mha(*m, x, y, y, [&](int64_t b, int64_t h, int64_t l, int64_t s) {
    return a[static_cast<size_t>(((b * H + h) * L + l) * S + s)];
  });
  EXPECT_LT(max_abs_diff(out, ref.out), 1e-12);
  EXPECT_LT(max_abs_diff(w, ref.weights), 1e-12);
}

TEST(MultiheadAttention, SelfAttentionProjectsWithThePackedWeight) {
  const int64_t E = 4, H = 2, L = 3, B = 2;
  auto m = f64_mha(E, H, false, 6);
  manual_seed(13);
  Tensor x = ops::randn({L, B, E}, DType::F64);
  auto [out, w] = m->forward(x, x, x);
  auto ref = reference_mha(*m, transpose(x, 0, 1), transpose(x, 0, 1), transpose(x, 0, 1), nullptr);
  EXPECT_LT(max_abs_diff(out, transpose(ref.out, 0, 1)), 1e-12);
  // The same values through separate tensors (the three-projection path).
  auto [out_sep, w_sep] = m->forward(clone(x), clone(x), clone(x));
  EXPECT_LT(max_abs_diff(out, out_sep), 1e-12);
}

TEST(MultiheadAttention, BatchFirstIsTheTransposedLayout) {
  const int64_t E = 4, H = 2, L = 3, S = 5, B = 2;
  auto m = f64_mha(E, H, false, 7);
  manual_seed(14);
  Tensor q = ops::randn({L, B, E}, DType::F64), k = ops::randn({S, B, E}, DType::F64);
  Tensor kpm = bool_tensor({1, 0, 0, 0, 0, 0, 0, 0, 0, 1}, {B, S});
  auto [out_sf, w_sf] = m->forward(q, k, k, kpm);
  m->batch_first = true;
  auto [out_bf, w_bf] = m->forward(transpose(q, 0, 1), transpose(k, 0, 1), transpose(k, 0, 1), kpm);
  EXPECT_EQ(out_bf.shape(), Shape({B, L, E}));
  EXPECT_EQ(out_bf.to_double_vector(), contiguous(transpose(out_sf, 0, 1)).to_double_vector());
  EXPECT_EQ(w_bf.to_double_vector(), w_sf.to_double_vector());  // weights are [B, L, S] either way
}

TEST(MultiheadAttention, UnbatchedInputIsBatchOfOne) {
  const int64_t E = 4, H = 2, L = 3, S = 4;
  auto m = f64_mha(E, H, false, 8);
  manual_seed(15);
  Tensor q = ops::randn({L, E}, DType::F64), k = ops::randn({S, E}, DType::F64);
  Tensor kpm = bool_tensor({0, 0, 1, 0}, {S});
  auto [out, w] = m->forward(q, k, k, kpm, true, {}, false);
  auto [out1, w1] = m->forward(unsqueeze(q, 1), unsqueeze(k, 1), unsqueeze(k, 1), reshape(kpm, {1, S}), true, {}, false);
  EXPECT_EQ(out.shape(), Shape({L, E}));
  EXPECT_EQ(w.shape(), Shape({H, L, S}));
  EXPECT_LT(max_abs_diff(out, squeeze(out1, 1)), 1e-14);
  EXPECT_LT(max_abs_diff(w, squeeze(w1, 0)), 1e-14);
}

// ---- masks -----------------------------------------------------------------------------------------

TEST(MultiheadAttention, PaddedKeyGetsZeroWeightAndIsAsIfAbsent) {
  const int64_t E = 4, H = 2, L = 3, S = 4, B = 2;
  auto m = f64_mha(E, H, true, 9);
  manual_seed(16);
  Tensor q = ops::randn({B, L, E}, DType::F64), k = ops::randn({B, S, E}, DType::F64);
  Tensor v = ops::randn({B, S, E}, DType::F64);
  Tensor kpm = bool_tensor({0, 0, 0, 1, 0, 0, 0, 0}, {B, S});  // batch 0 ignores key 3
  auto [out, w] = m->forward(q, k, v, kpm, true, {}, false);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t l = 0; l < L; ++l) EXPECT_EQ(w.to_double_vector()[static_cast<size_t>((h * L + l) * S + 3)], 0.0);
  // Batch 0 with key 3 removed altogether gives the same output.
  auto [cut, w_cut] = m->forward(narrow(q, 0, 0, 1), narrow(narrow(k, 0, 0, 1), 1, 0, 3),
                                 narrow(narrow(v, 0, 0, 1), 1, 0, 3));
  EXPECT_LT(max_abs_diff(narrow(out, 0, 0, 1), cut), 1e-12);
  // Batch 1 is untouched by batch 0's mask.
  auto [full, w_full] = m->forward(q, k, v);
  EXPECT_LT(max_abs_diff(narrow(out, 0, 1, 1), narrow(full, 0, 1, 1)), 1e-14);
}

TEST(MultiheadAttention, BoolAndAdditiveMasksAgree) {
  const int64_t E = 4, H = 2, L = 3, S = 4, B = 2;
  auto m = f64_mha(E, H, false, 10);
  manual_seed(17);
  Tensor q = ops::randn({L, B, E}, DType::F64), k = ops::randn({S, B, E}, DType::F64);
  Tensor am_bool = bool_tensor({0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0}, {L, S});
  Tensor am_float = masked_fill(zeros({L, S}, DType::F64), am_bool, -kInf);
  Tensor kpm_bool = bool_tensor({0, 0, 0, 1, 1, 0, 0, 0}, {B, S});
  Tensor kpm_float = masked_fill(zeros({B, S}, DType::F64), kpm_bool, -kInf);
  auto [o_bb, w_bb] = m->forward(q, k, k, kpm_bool, true, am_bool);
  for (const auto& [kpm, am] : {std::pair{kpm_float, am_float}, std::pair{kpm_bool, am_float},
                                std::pair{kpm_float, am_bool}}) {
    auto [o, w] = m->forward(q, k, k, kpm, true, am);
    EXPECT_LT(max_abs_diff(o, o_bb), 1e-14);
    EXPECT_LT(max_abs_diff(w, w_bb), 1e-14);
  }
  // A finite additive mask shifts the scores: the reference adds it.
  Tensor am_soft = ops::randn({L, S}, DType::F64);
  auto a = am_soft.to_double_vector();
  auto [o_soft, w_soft] = m->forward(q, k, k, {}, true, am_soft, false);
  auto ref = reference_mha(*m, transpose(q, 0, 1), transpose(k, 0, 1), transpose(k, 0, 1),
                           [&](int64_t, int64_t, int64_t l, int64_t s) { return a[static_cast<size_t>(l * S + s)]; });
  EXPECT_LT(max_abs_diff(w_soft, ref.weights), 1e-12);
}

TEST(MultiheadAttention, FusedPathWithoutWeightsMatches) {
  const int64_t E = 6, H = 2, L = 3, S = 4, B = 2;
  auto m = f64_mha(E, H, true, 11);
  manual_seed(18);
  Tensor q = ops::randn({B, L, E}, DType::F64), k = ops::randn({B, S, E}, DType::F64);
  Tensor kpm = bool_tensor({0, 1, 0, 0, 0, 0, 0, 1}, {B, S});
  for (Tensor am : {bool_tensor({0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0}, {L, S}), ops::randn({B * H, L, S}, DType::F64)}) {
    auto [o_w, w] = m->forward(q, k, k, kpm, true, am);
    auto [o_f, none] = m->forward(q, k, k, kpm, false, am);
    EXPECT_FALSE(none.defined());
    EXPECT_LT(max_abs_diff(o_w, o_f), 1e-12);
  }
}

TEST(MultiheadAttention, QueryWithNoAllowedKeyGetsZeroWeightsAndTheOutputBias) {
  // PyTorch 1.x gives NaN here; mmalign follows scaled_dot_product_attention (PyTorch ≥ 2.5): 0.
  const int64_t E = 4, H = 2, L = 2, S = 3, B = 1;
  auto m = f64_mha(E, H, false, 12);
  manual_seed(19);
  Tensor q = ops::randn({L, B, E}, DType::F64), k = ops::randn({S, B, E}, DType::F64);
  Tensor am = bool_tensor({1, 1, 1, 0, 1, 0}, {L, S});  // query 0 sees nothing
  for (bool need : {true, false}) {
    auto [out, w] = m->forward(q, k, k, {}, need, am);
    EXPECT_LT(max_abs_diff(select(out, 0, 0), reshape(m->out_proj->bias, {1, E})), 1e-14);
    if (need) {
      EXPECT_EQ(max_abs(select(w, 1, 0)), 0.0);
      EXPECT_NEAR(sum(select(w, 1, 1)).item(), 1.0, 1e-14);
    }
  }
}

TEST(MultiheadAttention, DropoutActsOnTheWeightsInTrainingOnly) {
  const int64_t E = 4, H = 2, L = 6, S = 8, B = 2;
  manual_seed(20);
  auto m = std::make_shared<MultiheadAttention>(E, H, 0.5, true, false);
  m->to(DType::F64);
  Tensor q = ops::randn({L, B, E}, DType::F64), k = ops::randn({S, B, E}, DType::F64);
  m->eval();
  auto [o_eval, w_eval] = m->forward(q, k, k, {}, true, {}, false);
  auto [o_eval2, w_eval2] = m->forward(q, k, k, {}, true, {}, false);
  EXPECT_EQ(o_eval.to_double_vector(), o_eval2.to_double_vector());
  m->train();
  auto [o_train, w_train] = m->forward(q, k, k, {}, true, {}, false);
  // Every returned weight is dropped (0) or kept and scaled by 1/(1 − p) = 2.
  auto we = w_eval.to_double_vector(), wt = w_train.to_double_vector();
  int dropped = 0;
  for (size_t i = 0; i < we.size(); ++i) {
    if (wt[i] == 0.0) {
      ++dropped;
      continue;
    }
    EXPECT_NEAR(wt[i], 2.0 * we[i], 1e-14);
  }
  EXPECT_GT(dropped, 40);  // of 192, about half
  EXPECT_LT(dropped, 152);
  // The output is computed from those dropped-out weights.
  auto ref = reference_mha(*m, transpose(q, 0, 1), transpose(k, 0, 1), transpose(k, 0, 1), nullptr);
  EXPECT_GT(max_abs_diff(o_train, transpose(ref.out, 0, 1)), 1e-3);
}

TEST(MultiheadAttention, ShapeAndDtypeErrors) {
  MultiheadAttention m(4, 2);
  Tensor q = ops::randn({3, 2, 4}), k = ops::randn({5, 2, 4});
  EXPECT_ERROR_CONTAINS(m.forward(ops::randn({3, 2, 2, 4}), k, k), ErrorKind::Shape, "MultiheadAttention", "query");
  EXPECT_ERROR_CONTAINS(m.forward(q, ops::randn({5, 4}), ops::randn({5, 4})), ErrorKind::Shape, "same rank");
  EXPECT_ERROR_CONTAINS(m.forward(ops::randn({3, 2, 6}), k, k), ErrorKind::Shape, "embed_dim = 4");
  EXPECT_ERROR_CONTAINS(m.forward(q, k, ops::randn({4, 2, 4})), ErrorKind::Shape, "same shape");
  EXPECT_ERROR_CONTAINS(m.forward(q, ops::randn({5, 3, 4}), ops::randn({5, 3, 4})), ErrorKind::Shape, "batch size");
  EXPECT_ERROR_CONTAINS(m.forward(q, k, k, zeros({2, 4}, DType::Bool)), ErrorKind::Shape, "key_padding_mask",
                        "[2,5]");
  EXPECT_ERROR_CONTAINS(m.forward(q, k, k, {}, true, zeros({5, 3}, DType::Bool)), ErrorKind::Shape, "attn_mask",
                        "[3,5]");
  EXPECT_ERROR_CONTAINS(m.forward(q, k, k, {}, true, zeros({2, 3, 5})), ErrorKind::Shape, "attn_mask", "[4,3,5]");
  EXPECT_ERROR_CONTAINS(m.forward(q, k, k, {}, true, zeros({3, 5}, DType::I64)), ErrorKind::DType, "attn_mask", "bool");
  EXPECT_ERROR_CONTAINS(m.forward(q), ErrorKind::Value, "MultiheadAttention", "single-tensor");
}

TEST(MultiheadAttention, GradcheckThroughInputsParametersAndAdditiveMask) {
  const int64_t E = 4, H = 2, L = 2, S = 3, B = 2;
  auto m = f64_mha(E, H, false, 21);
  manual_seed(22);
  Tensor q = ops::randn({L, B, E}, DType::F64).set_requires_grad(), k = ops::randn({S, B, E}, DType::F64).set_requires_grad();
  Tensor v = ops::randn({S, B, E}, DType::F64).set_requires_grad();
  Tensor am = ops::randn({B * H, L, S}, DType::F64).set_requires_grad();
  Tensor kpm = bool_tensor({0, 0, 1, 0, 0, 0}, {B, S});
  TensorList inputs{q, k, v, am, m->in_proj_weight, m->in_proj_bias, m->out_proj->weight, m->out_proj->bias};
  auto r = gradcheck(
      [&](const TensorList& in) {
        auto [out, w] = m->forward(in[0], in[1], in[2], kpm, true, in[3], false);
        return TensorList{out, w};
      },
      inputs);
  EXPECT_TRUE(r.passed) << r.message;
  auto fused = gradcheck(
      [&](const TensorList& in) { return TensorList{m->forward(in[0], in[0], in[0], kpm, false).first}; },
      {ops::randn({S, B, E}, DType::F64).set_requires_grad(), m->in_proj_weight});
  EXPECT_TRUE(fused.passed) << fused.message;
}

// ---- TransformerEncoderLayer ------------------------------------------------------------------------

TEST(TransformerEncoderLayer, ChildrenAndParameterNamesFollowPyTorch) {
  TransformerEncoderLayer layer(8, 2, 16);
  std::vector<std::string> children;
  for (const auto& [name, c] : layer.named_children()) children.push_back(name);
  EXPECT_EQ(children, (std::vector<std::string>{"self_attn", "linear1", "dropout", "linear2", "norm1", "norm2",
                                                "dropout1", "dropout2"}));
  EXPECT_EQ(names(layer.state_dict()),
            (std::vector<std::string>{"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                                      "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
                                      "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"}));
  EXPECT_EQ(layer.linear1->weight.shape(), Shape({16, 8}));
  EXPECT_EQ(layer.linear2->weight.shape(), Shape({8, 16}));
  EXPECT_DOUBLE_EQ(layer.dropout->p, 0.1);  // PyTorch's default
  EXPECT_DOUBLE_EQ(layer.norm1->eps, 1e-5);
  TransformerEncoderLayer defaults(4, 1);
  EXPECT_EQ(defaults.linear1->weight.shape(), Shape({2048, 4}));
  EXPECT_ERROR_CONTAINS(TransformerEncoderLayer(8, 2, 16, 0.1, "tanh"), ErrorKind::Value, "TransformerEncoderLayer",
                        "relu/gelu");
  EXPECT_ERROR_CONTAINS(TransformerEncoderLayer(8, 3), ErrorKind::Value, "divisible");
}

struct EncoderCase {
  bool norm_first;
  const char* activation;
  bool batch_first;
};
void PrintTo(const EncoderCase& c, std::ostream* os) {
  *os << (c.norm_first ? "pre-LN " : "post-LN ") << c.activation << (c.batch_first ? " batch_first" : " seq_first");
}

class EncoderFormula : public ::testing::TestWithParam<EncoderCase> {};

// The layer against its formulas written with functional ops and the reference attention.
TEST_P(EncoderFormula, MatchesTheWrittenOutFormula) {
  const auto c = GetParam();
  const int64_t E = 4, H = 2, F = 6, S = 3, B = 2;
  manual_seed(30);
  TransformerEncoderLayer layer(E, H, F, 0.0, c.activation, 1e-6, c.batch_first, c.norm_first);
  layer.to(DType::F64);
  {
    NoGradGuard ng;  // LayerNorm's 1 / 0 and MHA's zero biases would hide a mix-up
    for (auto& [name, p] : layer.named_parameters()) ops::copy_(p, ops::randn(p.shape(), DType::F64));
  }
  Tensor x = ops::randn({B, S, E}, DType::F64);  // batch-major for the reference
  Tensor kpm = bool_tensor({0, 0, 1, 0, 0, 0}, {B, S});
  Tensor causal = bool_tensor({0, 1, 1, 0, 0, 1, 0, 0, 0}, {S, S});
  auto mask = [](int64_t b, int64_t, int64_t l, int64_t s) { return (s > l || (b == 0 && s == 2)) ? -kInf : 0.0; };
  auto act = [&](const Tensor& t) { return std::string(c.activation) == "gelu" ? gelu(t) : relu(t); };
  auto ln = [&](const LayerNorm& n, const Tensor& t) { return layer_norm(t, {E}, n.weight, n.bias, 1e-6); };
  auto sa = [&](const Tensor& t) { return reference_mha(*layer.self_attn, t, t, t, mask).out; };
  auto ff = [&](const Tensor& t) {
    return linear(act(linear(t, layer.linear1->weight, layer.linear1->bias)), layer.linear2->weight,
                  layer.linear2->bias);
  };
  Tensor want;
  if (c.norm_first) {
    Tensor h = x + sa(ln(*layer.norm1, x));
    want = h + ff(ln(*layer.norm2, h));
  } else {
    Tensor h = ln(*layer.norm1, x + sa(x));
    want = ln(*layer.norm2, h + ff(h));
  }
  Tensor got = c.batch_first ? layer.forward(x, causal, kpm) : transpose(layer.forward(transpose(x, 0, 1), causal, kpm), 0, 1);
  EXPECT_LT(max_abs_diff(got, want), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(PostAndPreLN, EncoderFormula,
                         ::testing::Values(EncoderCase{false, "relu", false}, EncoderCase{true, "gelu", true},
                                           EncoderCase{false, "gelu", true}, EncoderCase{true, "relu", false}));

TEST(TransformerEncoderLayer, DropoutOnlyInTrainingAndSingleTensorForward) {
  manual_seed(31);
  TransformerEncoderLayer layer(4, 2, 8, 0.5);
  Tensor x = ops::randn({3, 2, 4});
  layer.eval();
  Tensor a = layer(x), b = layer.forward(x, {}, {});
  EXPECT_EQ(a.to_double_vector(), b.to_double_vector());
  layer.train();
  EXPECT_GT(max_abs_diff(layer(x), a), 1e-3);
}

TEST(TransformerEncoderLayer, Gradcheck) {
  manual_seed(32);
  for (bool norm_first : {false, true}) {
    TransformerEncoderLayer layer(4, 2, 6, 0.0, norm_first ? "gelu" : "relu", 1e-5, false, norm_first);
    layer.to(DType::F64);
    Tensor x = ops::randn({3, 2, 4}, DType::F64).set_requires_grad();
    Tensor kpm = bool_tensor({0, 0, 0, 0, 1, 0}, {2, 3});
    TensorList inputs{x};
    for (const Tensor& p : layer.parameters()) inputs.push_back(p);
    auto r = gradcheck([&](const TensorList& in) { return TensorList{layer.forward(in[0], {}, kpm)}; }, inputs);
    EXPECT_TRUE(r.passed) << (norm_first ? "pre-LN: " : "post-LN: ") << r.message;
  }
}

}  // namespace
}  // namespace mm::nn
