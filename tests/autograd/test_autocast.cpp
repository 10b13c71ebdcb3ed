// Autocast (autograd/autocast.h): which ops run in the low dtype, which are cast up to f32, the dtypes
// the backward nodes saved, and parameter gradients against the f32 ones.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "autograd/autocast.h"
#include "autograd/autograd_meta.h"
#include "autograd/functions.h"

using namespace mm;

namespace {

Generator& gen() {
  static Generator g(1234);
  return g;
}

Tensor rnd(const Shape& s, double scale = 1.0) { return mul(ops::randn(s, DType::F32, kCPU, &gen()), scale); }
Tensor leaf(const Shape& s, double scale) { return rnd(s, scale).detach().set_requires_grad(); }

// The node that produced t, and the dtypes of the inputs it recorded (= the tensors its backward saved).
std::shared_ptr<Node> node_of(const Tensor& t) { return gradient_edge(t).node; }

// ‖a − b‖ / ‖b‖ over all elements (both converted to f64).
double rel_err(const Tensor& a, const Tensor& b) {
  std::vector<double> x = a.to_double_vector(), y = b.to_double_vector();
  EXPECT_EQ(x.size(), y.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    num += (x[i] - y[i]) * (x[i] - y[i]);
    den += y[i] * y[i];
  }
  return std::sqrt(num / den);
}

class AutocastDtypes : public ::testing::TestWithParam<DType> {};

}  // namespace

TEST(Autocast, OffByDefaultNestsAndRestores) {
  EXPECT_FALSE(autocast_enabled());
  EXPECT_EQ(autocast_dtype(), DType::F32);
  {
    AutocastGuard a(DType::BF16);
    EXPECT_TRUE(autocast_enabled());
    EXPECT_EQ(autocast_dtype(), DType::BF16);
    {
      AutocastGuard b(DType::F32);  // f32 disables autocast inside
      EXPECT_FALSE(autocast_enabled());
      Tensor y = matmul(rnd({2, 3}), rnd({3, 2}));
      EXPECT_EQ(y.dtype(), DType::F32);
      {
        AutocastGuard c(DType::F16);
        EXPECT_EQ(autocast_dtype(), DType::F16);
      }
      EXPECT_FALSE(autocast_enabled());
    }
    EXPECT_TRUE(autocast_enabled());
    EXPECT_EQ(autocast_dtype(), DType::BF16);
  }
  EXPECT_FALSE(autocast_enabled());
  EXPECT_THROW({ AutocastGuard bad(DType::I64); }, Error);
  EXPECT_THROW({ AutocastGuard bad(DType::F64); }, Error);
  EXPECT_FALSE(autocast_enabled());  // a failed guard changes nothing
}

TEST(Autocast, ThreadLocal) {
  AutocastGuard g(DType::F16);
  bool other = true;
  DType other_out = DType::F16;
  std::thread t([&] {
    other = autocast_enabled();
    other_out = matmul(rnd({2, 2}), rnd({2, 2})).dtype();
  });
  t.join();
  EXPECT_FALSE(other);
  EXPECT_EQ(other_out, DType::F32);
  EXPECT_EQ(matmul(rnd({2, 2}), rnd({2, 2})).dtype(), DType::F16);
}

TEST_P(AutocastDtypes, LowPrecisionListRunsInTheLowDtype) {
  const DType low = GetParam();
  Tensor x = rnd({4, 6}).set_requires_grad();
  Tensor w = leaf({5, 6}, 0.3), b = leaf({5}, 0.1);
  Tensor img = rnd({2, 3, 5, 5}), cw = leaf({4, 3, 3, 3}, 0.2), cb = leaf({4}, 0.1);
  AutocastGuard guard(low);

  Tensor y = linear(x, w, b);
  EXPECT_EQ(y.dtype(), low);
  std::shared_ptr<Node> n = node_of(y);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->name, "linear");
  ASSERT_EQ(n->input_meta.size(), 3u);
  for (const TensorMetaInfo& m : n->input_meta) EXPECT_EQ(m.dtype, low);  // saved x and W are low
  // Each input reaches the node through a recorded cast, so its gradient is cast back to f32.
  for (const Edge& e : n->next_edges) {
    ASSERT_TRUE(e.node);
    EXPECT_EQ(e.node->name, "to_dtype");
    EXPECT_EQ(e.node->input_meta.at(0).dtype, DType::F32);
  }

  EXPECT_EQ(matmul(x, transpose(w, 0, 1)).dtype(), low);
  EXPECT_EQ(node_of(matmul(x, transpose(w, 0, 1)))->input_meta.at(1).dtype, low);
  EXPECT_EQ(bmm(rnd({2, 3, 4}), rnd({2, 4, 5})).dtype(), low);
  EXPECT_EQ(addmm(b, x, transpose(w, 0, 1)).dtype(), low);
  Tensor c = conv2d(img, cw, cb, {1, 1}, {1, 1});
  EXPECT_EQ(c.dtype(), low);
  for (const TensorMetaInfo& m : node_of(c)->input_meta) EXPECT_EQ(m.dtype, low);
  EXPECT_EQ(scaled_dot_product_attention(rnd({2, 3, 4}), rnd({2, 5, 4}), rnd({2, 5, 4})).dtype(), low);

  // f64 is not eligible (torch.autocast leaves it alone).
  Tensor d = ops::to_dtype(rnd({2, 2}), DType::F64);
  EXPECT_EQ(matmul(d, d).dtype(), DType::F64);
  // Already low: no cast node in between.
  Tensor xl = to(x, low);
  Tensor yl = matmul(xl, transpose(to(w, low), 0, 1));
  EXPECT_EQ(node_of(yl)->next_edges.at(0).node.get(), node_of(xl).get());
}

TEST_P(AutocastDtypes, F32ListCastsUp) {
  const DType low = GetParam();
  Tensor h = to(rnd({4, 6}).set_requires_grad(), low);  // a low activation, as a GEMM returns
  Tensor lw = leaf({6}, 1.0), lb = leaf({6}, 0.1);
  Tensor target = Tensor::from_vector<int64_t>({0, 3, 5, 1}, {4});
  AutocastGuard guard(low);

  Tensor s = softmax(h, -1);
  EXPECT_EQ(s.dtype(), DType::F32);
  ASSERT_EQ(node_of(s)->name, "softmax");
  EXPECT_EQ(node_of(s)->input_meta.at(0).dtype, DType::F32);  // the saved output y is f32 too
  EXPECT_EQ(log_softmax(h, 1).dtype(), DType::F32);
  Tensor ln = layer_norm(h, {6}, lw, lb);  // an f16 input with f32 affine parameters
  EXPECT_EQ(ln.dtype(), DType::F32);
  for (const TensorMetaInfo& m : node_of(ln)->input_meta) EXPECT_EQ(m.dtype, DType::F32);
  Tensor img = to(rnd({2, 3, 4, 4}), low);
  EXPECT_EQ(batch_norm(img, Tensor(), Tensor(), leaf({3}, 1.0), leaf({3}, 0.1), true).dtype(), DType::F32);
  Tensor ce = cross_entropy(h, target);
  EXPECT_EQ(ce.dtype(), DType::F32);
  EXPECT_EQ(nll_loss(h, target).dtype(), DType::F32);
  EXPECT_EQ(mse_loss(h, h).dtype(), DType::F32);
  EXPECT_EQ(binary_cross_entropy_with_logits(h, sigmoid(h)).dtype(), DType::F32);
  EXPECT_EQ(normalize(h).dtype(), DType::F32);
  EXPECT_EQ(cosine_similarity(h, h).dtype(), DType::F32);
  EXPECT_EQ(cdist(h, h).dtype(), DType::F32);
  // cdist's matmul form (P, R > 25) runs with autocast off inside: its matmul stays f32.
  Tensor many = to(leaf({30, 4}, 1.0), low);
  Tensor dist = cdist(many, many);
  EXPECT_EQ(dist.dtype(), DType::F32);
  ASSERT_TRUE(node_of(dist));
  EXPECT_EQ(node_of(dist)->input_meta.at(0).dtype, DType::F32);
  const std::pair<const char*, Tensor> f32_list[] = {
      {"exp", mm::exp(h)},           {"log", mm::log(mm::abs(h) + 1.0)},    {"log1p", mm::log1p(mm::abs(h))},
      {"rsqrt", mm::rsqrt(mm::abs(h) + 1.0)}, {"reciprocal", mm::reciprocal(h)}, {"pow_scalar", mm::pow(h, 2.0)},
      {"pow", mm::pow(h, h)},        {"softplus", mm::softplus(h)},         {"sum", mm::sum(h)},
      {"mean", mm::mean(h)},         {"logsumexp", mm::logsumexp(h, {1})},  {"var", mm::var(h)},
      {"std", mm::std(h)},           {"norm", mm::norm(h)}};
  for (const auto& [name, t] : f32_list) EXPECT_EQ(t.dtype(), DType::F32) << name;
  // Outside both lists the dtype is kept: relu, gelu, add of two low tensors.
  EXPECT_EQ(relu(h).dtype(), low);
  EXPECT_EQ(gelu(h).dtype(), low);
  EXPECT_EQ(add(h, h).dtype(), low);
  // An f32 loss of a low network: backward reaches the f32 leaf in f32.
  ce.backward();
}

TEST(Autocast, OffLeavesHalfInputsAlone) {
  Tensor h = to(rnd({3, 4}), DType::F16);
  EXPECT_EQ(softmax(h, -1).dtype(), DType::F16);
  EXPECT_EQ(exp(h).dtype(), DType::F16);
  EXPECT_EQ(sum(h).dtype(), DType::F16);
  EXPECT_EQ(matmul(rnd({2, 2}), rnd({2, 2})).dtype(), DType::F32);
}

TEST(Autocast, LstmKeepsGatesInF32) {
  const int64_t T = 3, B = 2, I = 4, H = 5;
  Tensor x = rnd({T, B, I}), h0 = zeros({B, H}), c0 = zeros({B, H});
  Tensor w_ih = leaf({4 * H, I}, 0.3), w_hh = leaf({4 * H, H}, 0.3), b_ih = leaf({4 * H}, 0.1);
  Tensor b_hh = leaf({4 * H}, 0.1);
  AutocastGuard guard(DType::BF16);
  auto [out, hn, cn] = lstm(to(x, DType::BF16), h0, c0, w_ih, w_hh, b_ih, b_hh);
  EXPECT_EQ(out.dtype(), DType::F32);
  EXPECT_EQ(cn.dtype(), DType::F32);
  sum(out).backward();
  for (const Tensor& p : {w_ih, w_hh, b_ih, b_hh}) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().dtype(), DType::F32);
  }
}

namespace {

// A small MLP and a small conv net; each returns the loss. Parameters are f32 leaves.
struct Mlp {
  Tensor w1 = leaf({16, 12}, 0.3), b1 = leaf({16}, 0.1), g = leaf({16}, 1.0), beta = leaf({16}, 0.1);
  Tensor w2 = leaf({7, 16}, 0.3), b2 = leaf({7}, 0.1);
  std::vector<Tensor> params() const { return {w1, b1, g, beta, w2, b2}; }
  Tensor loss(const Tensor& x, const Tensor& y) const {
    Tensor h = gelu(linear(x, w1, b1));
    h = layer_norm(h, {16}, g, beta);
    return cross_entropy(linear(h, w2, b2), y);
  }
};

// conv1 has no bias: before a training-mode BatchNorm a bias's gradient is zero up to rounding (the
// normalisation removes it), so a relative error of it would compare rounding noise.
// Both nets use GELU, not ReLU: rounding an input moves a pre-activation by ~u·|w||x| in absolute
// terms, so the few pre-activations that close to 0 change sign and ReLU's kink switches their whole
// gradient contribution on or off; a channel's bias gradient (a sum of ~256 terms of mixed sign) then
// moves by ~1/16 per flipped element — an error set by the count of flips, not by u (measured: up to
// 0.17 for bf16 on a one-conv ReLU net, where GELU gives 0.005). That is real AMP behaviour (as in
// PyTorch), not an error of the casts, and smooth activations test the casts.
struct ConvNet {
  Tensor c1 = leaf({6, 3, 3, 3}, 0.3), bg = leaf({6}, 1.0), bb = leaf({6}, 0.1);
  Tensor c2 = leaf({8, 6, 3, 3}, 0.2), cb2 = leaf({8}, 0.1), w = leaf({5, 8}, 0.3), b = leaf({5}, 0.1);
  std::vector<Tensor> params() const { return {c1, bg, bb, c2, cb2, w, b}; }
  Tensor loss(const Tensor& x, const Tensor& y) const {
    Tensor h = gelu(batch_norm(conv2d(x, c1, Tensor(), {1, 1}, {1, 1}), Tensor(), Tensor(), bg, bb, true));
    h = gelu(conv2d(h, c2, cb2, {2, 2}, {1, 1}));
    h = mean(h, {2, 3});  // global average pool [N, 8]
    return cross_entropy(linear(h, w, b), y);
  }
};

// Gradients of `net` at (x, y) in f32 and under autocast(low); checks dtypes and the relative error.
template <typename Net>
void compare_gradients(const Net& net, const Tensor& x, const Tensor& y, DType low, double tol) {
  std::vector<Tensor> params = net.params();
  for (const Tensor& p : params) p.zero_grad();
  net.loss(x, y).backward();
  std::vector<Tensor> ref;
  for (const Tensor& p : params) ref.push_back(p.grad());
  for (const Tensor& p : params) p.zero_grad();
  Tensor loss;
  {
    AutocastGuard guard(low);
    loss = net.loss(x, y);
  }
  EXPECT_EQ(loss.dtype(), DType::F32);
  loss.backward();  // outside the guard, as the trainer does
  for (size_t i = 0; i < params.size(); ++i) {
    ASSERT_TRUE(params[i].grad().defined()) << "parameter " << i;
    EXPECT_EQ(params[i].grad().dtype(), DType::F32) << "parameter " << i;  // master gradients
    EXPECT_EQ(params[i].dtype(), DType::F32);
    const double e = rel_err(params[i].grad(), ref[i]);
    if (std::getenv("MM_AUTOCAST_VERBOSE")) std::printf("%s parameter %zu: %.3g\n", dtype_name(low), i, e);
    EXPECT_LE(e, tol) << "parameter " << i << " (" << dtype_name(low) << ")";
  }
}

}  // namespace

// Tolerances: rounding an f32 value to bf16 (8 significant bits) has relative error ≤ u = 2⁻⁹ ≈ 2e-3,
// to f16 (11 bits) u = 2⁻¹² ≈ 2.4e-4. The GEMMs accumulate in f32, so each layer's result carries the
// rounding of its two inputs and of its output (~3u, errors of random sign adding in quadrature over
// the elements), and the backward GEMMs add the same again; through two or three layers, with the
// nonlinearities' condition numbers of order one, the norm-wise error is ≲ 10u: 2e-2 for bf16,
// 2.4e-3 for f16 — the bounds below, with f16's at 5e-3 for margin. Observed over 10 random draws of
// each net: at most 1.5e-2 (bf16) and 1.5e-3 (f16) per parameter, ~5u on average.
TEST(Autocast, MlpGradientsCloseToF32) {
  gen().manual_seed(11);  // the same data whichever tests ran before in this process
  Mlp net;
  Tensor x = rnd({32, 12});
  Tensor y = ops::randint(0, 7, {32}, kCPU, &gen());
  compare_gradients(net, x, y, DType::BF16, 2e-2);
  compare_gradients(net, x, y, DType::F16, 5e-3);
}

TEST(Autocast, ConvNetGradientsCloseToF32) {
  gen().manual_seed(12);
  ConvNet net;
  Tensor x = rnd({4, 3, 8, 8});
  Tensor y = ops::randint(0, 5, {4}, kCPU, &gen());
  compare_gradients(net, x, y, DType::BF16, 2e-2);
  compare_gradients(net, x, y, DType::F16, 5e-3);
}

INSTANTIATE_TEST_SUITE_P(LowDtypes, AutocastDtypes, ::testing::Values(DType::F16, DType::BF16),
                         [](const ::testing::TestParamInfo<DType>& i) { return std::string(dtype_name(i.param)); });

