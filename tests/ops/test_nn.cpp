// dropout, scaled_dot_product_attention and lstm: typed errors, and the behaviours the forward cases
// cannot pin down (dropout's statistics and reproducibility, gradients of fully masked attention rows,
// identity returns).
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "tests/common/expect_error.h"

namespace mm {
namespace {

Tensor f32(const Shape& s, double v = 0.5) { return ops::full(s, v, DType::F32); }

TEST(NnErrors, Dropout) {
  EXPECT_ERROR_CONTAINS(dropout(f32({3}), 1.5), ErrorKind::Value, "dropout: probability must be in [0, 1], got 1.5");
  EXPECT_ERROR_CONTAINS(dropout(f32({3}), -0.1), ErrorKind::Value, "probability");
  EXPECT_ERROR_CONTAINS(dropout(ops::full({3}, 1, DType::I64), 0.5), ErrorKind::DType, "floating");
}

TEST(NnErrors, Attention) {
  EXPECT_ERROR_CONTAINS(scaled_dot_product_attention(f32({2, 3, 4}), f32({2, 5, 3}), f32({2, 5, 2})), ErrorKind::Shape,
                        "different embedding sizes");
  EXPECT_ERROR_CONTAINS(scaled_dot_product_attention(f32({2, 3, 4}), f32({2, 5, 4}), f32({2, 6, 2})), ErrorKind::Shape,
                        "different sequence lengths");
  EXPECT_ERROR_CONTAINS(scaled_dot_product_attention(f32({4}), f32({5, 4}), f32({5, 2})), ErrorKind::Shape,
                        "at least 2-D");
  EXPECT_ERROR_CONTAINS(scaled_dot_product_attention(f32({3, 4}), f32({5, 4}), f32({5, 2}), f32({3, 4})),
                        ErrorKind::Shape, "attn_mask [3,4] must broadcast to the attention scores");
  EXPECT_ERROR_CONTAINS(scaled_dot_product_attention(f32({3, 4}), f32({5, 4}), f32({5, 2}), ops::full({3, 5}, 1, DType::I64)),
                        ErrorKind::DType, "attn_mask must be bool");
  EXPECT_ERROR_CONTAINS(scaled_dot_product_attention(f32({3, 4}), ops::full({5, 4}, 1, DType::F64), f32({5, 2})),
                        ErrorKind::DType, "same dtype");
  EXPECT_ERROR_CONTAINS(scaled_dot_product_attention(f32({3, 4}), f32({5, 4}), f32({5, 2}), {}, 2.0), ErrorKind::Value,
                        "dropout_p");
}

TEST(NnErrors, Lstm) {
  // T=2, B=3, I=4, H=5
  Tensor x = f32({2, 3, 4}), h = f32({3, 5}), wih = f32({20, 4}), whh = f32({20, 5}), b = f32({20});
  EXPECT_ERROR_CONTAINS(lstm(f32({3, 4}), h, h, wih, whh), ErrorKind::Shape, "lstm: input must be [T, B, I]");
  EXPECT_ERROR_CONTAINS(lstm(x, f32({2, 5}), h, wih, whh), ErrorKind::Shape, "h0 must be [B, H] with B = 3");
  EXPECT_ERROR_CONTAINS(lstm(x, h, f32({3, 4}), wih, whh), ErrorKind::Shape, "c0 [3,4] must have h0's shape [3,5]");
  EXPECT_ERROR_CONTAINS(lstm(x, h, h, f32({20, 3}), whh), ErrorKind::Shape,
                        "w_ih must be [4H, I] = [20,4], got [20,3]");
  EXPECT_ERROR_CONTAINS(lstm(x, h, h, wih, f32({16, 5})), ErrorKind::Shape, "w_hh must be [4H, H] = [20,5]");
  EXPECT_ERROR_CONTAINS(lstm(x, h, h, wih, whh, f32({16})), ErrorKind::Shape, "biases must be [4H] = [20]");
  EXPECT_ERROR_CONTAINS(lstm(x, h, h, wih, whh, b, b, Tensor::from_vector<int64_t>({1, 3, 2}, {3})), ErrorKind::Value,
                        "lengths[1] = 3 is outside [0, T] = [0, 2]");
  EXPECT_ERROR_CONTAINS(lstm(x, h, h, wih, whh, b, b, Tensor::from_vector<int64_t>({1, 2}, {2})), ErrorKind::Shape,
                        "lengths must be [B] = [3]");
  EXPECT_ERROR_CONTAINS(lstm(x, h, h, wih, whh, b, b, f32({3})), ErrorKind::DType,
                        "lengths must have an integer dtype");
  EXPECT_ERROR_CONTAINS(lstm(x, h, h, ops::full({20, 4}, 1, DType::F64), whh), ErrorKind::DType, "input's dtype f32");
}

TEST(NnSemantics, DropoutIdentityZerosAndStatistics) {
  Tensor x = randn({1000}, DType::F32).set_requires_grad();
  EXPECT_TRUE(dropout(x, 0.5, false).same(x));  // eval: the same tensor, nothing recorded
  EXPECT_TRUE(dropout(x, 0.0, true).same(x));
  Tensor z = dropout(x, 1.0, true);
  EXPECT_EQ(z.to_double_vector(), std::vector<double>(1000, 0.0));
  EXPECT_TRUE(z.requires_grad());

  // About p of the elements are dropped; the kept ones are scaled by 1/(1−p); same seed, same mask.
  Tensor ones = ops::ones({20000}, DType::F32);
  manual_seed(7);
  std::vector<double> a = dropout(ones, 0.25, true).to_double_vector();
  manual_seed(7);
  std::vector<double> b = dropout(ones, 0.25, true).to_double_vector();
  EXPECT_EQ(a, b);
  double dropped = 0;
  for (double v : a) {
    if (v == 0) dropped += 1;
    else EXPECT_FLOAT_EQ(v, 1 / 0.75);
  }
  EXPECT_NEAR(dropped / 20000, 0.25, 0.015);  // ~5 standard deviations

  // The gradient is the same scaled mask.
  manual_seed(9);
  Tensor y = dropout(x, 0.5, true);
  sum(y).backward();
  std::vector<double> yv = y.to_double_vector(), xv = x.to_double_vector(), g = x.grad().to_double_vector();
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i], yv[i] == 0 && xv[i] != 0 ? 0.0 : 2.0);
}

TEST(NnSemantics, FullyMaskedAttentionRowsGiveZerosAndFiniteGradients) {
  Tensor q = randn({2, 3, 4}, DType::F64).set_requires_grad();
  Tensor k = randn({2, 5, 4}, DType::F64).set_requires_grad();
  Tensor v = randn({2, 5, 3}, DType::F64).set_requires_grad();
  Tensor mask = ops::full({3, 5}, 1, DType::Bool);
  for (int j = 0; j < 5; ++j) mask.data<bool>()[5 + j] = false;  // query row 1 sees no key
  Tensor out = scaled_dot_product_attention(q, k, v, mask);
  std::vector<double> o = out.to_double_vector();
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(o[(b * 3 + 1) * 3 + c], 0.0);
  sum(out).backward();
  for (const Tensor& t : {q, k, v})
    for (double g : t.grad().to_double_vector()) EXPECT_TRUE(std::isfinite(g));
  std::vector<double> gq = q.grad().to_double_vector();
  for (int b = 0; b < 2; ++b)
    for (int e = 0; e < 4; ++e) EXPECT_EQ(gq[(b * 3 + 1) * 4 + e], 0.0);

  // An additive −inf mask that removes every key behaves the same.
  Tensor fmask = ops::full({3, 5}, 0.0, DType::F64);
  for (int j = 0; j < 5; ++j) fmask.data<double>()[j] = -INFINITY;  // query row 0
  std::vector<double> o2 = scaled_dot_product_attention(q, k, v, fmask).to_double_vector();
  for (int c = 0; c < 3; ++c) EXPECT_EQ(o2[c], 0.0);
  for (double x : o2) EXPECT_TRUE(std::isfinite(x));
}

TEST(NnSemantics, LstmEmptySequenceAndZeroLengths) {
  Tensor h = randn({2, 3}, DType::F32), w1 = randn({12, 4}, DType::F32), w2 = randn({12, 3}, DType::F32);
  auto [out, hn, cn] = lstm(ops::zeros({0, 2, 4}), h, h, w1, w2);
  EXPECT_EQ(out.shape(), (Shape{0, 2, 3}));
  EXPECT_TRUE(hn.same(h));
  // length 0: the state is h0/c0 and every output is 0
  auto [out2, hn2, cn2] = lstm(randn({3, 2, 4}, DType::F32), h, h, w1, w2, {}, {},
                               Tensor::from_vector<int64_t>({0, 3}, {2}));
  std::vector<double> o = out2.to_double_vector(), hv = h.to_double_vector(), hv2 = hn2.to_double_vector();
  for (int t = 0; t < 3; ++t)
    for (int u = 0; u < 3; ++u) EXPECT_EQ(o[(t * 2 + 0) * 3 + u], 0.0);
  for (int u = 0; u < 3; ++u) EXPECT_EQ(hv2[u], hv[u]);
}

}  // namespace
}  // namespace mm
