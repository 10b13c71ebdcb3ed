// The autograd engine: chain rule, accumulation, broadcasting, graph release, no-grad, detach,
// hooks, and the errors users hit.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "autograd/autograd_meta.h"
#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"

using namespace mm;

namespace {
std::vector<double> vals(const Tensor& t) { return t.to_double_vector(); }
}  // namespace

TEST(Engine, ChainRuleThroughBroadcast) {
  Tensor a = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}).set_requires_grad();
  Tensor b = Tensor::from_vector<double>({10, 20, 30}, {3}).set_requires_grad();
  Tensor y = exp(a * b * 0.01);
  y.backward(ops::ones_like(y));
  auto ga = vals(a.grad());
  auto gb = vals(b.grad());
  std::vector<double> av{1, 2, 3, 4, 5, 6}, bv{10, 20, 30};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(ga[i], std::exp(av[i] * bv[i % 3] * 0.01) * bv[i % 3] * 0.01, 1e-12);
  for (int j = 0; j < 3; ++j) {
    double e = 0;
    for (int i = 0; i < 2; ++i) e += std::exp(av[i * 3 + j] * bv[j] * 0.01) * av[i * 3 + j] * 0.01;
    EXPECT_NEAR(gb[j], e, 1e-12);
  }
  EXPECT_EQ(b.grad().shape(), Shape({3}));  // reduced back to the input's shape by the engine
}

TEST(Engine, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = Tensor::from_vector<double>({2.0}, {1}).set_requires_grad();
  sum(square(x)).backward();
  sum(square(x)).backward();
  EXPECT_DOUBLE_EQ(vals(x.grad())[0], 8.0);  // 2·x twice
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, ATensorUsedTwiceGetsBothContributions) {
  Tensor x = Tensor::from_vector<double>({3.0}, {1}).set_requires_grad();
  Tensor y = x * x + x;  // dy/dx = 2x + 1
  y.backward(ops::ones_like(y));
  EXPECT_DOUBLE_EQ(vals(x.grad())[0], 7.0);
}

TEST(Engine, SecondBackwardWithoutRetainGraphIsAnError) {
  Tensor x = Tensor::from_vector<double>({1.0, 2.0}, {2}).set_requires_grad();
  Tensor y = sum(exp(x));
  y.backward();
  try {
    y.backward();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Autograd);
    EXPECT_NE(std::string(e.what()).find("second time"), std::string::npos) << e.what();
  }
}

TEST(Engine, RetainGraphAllowsASecondBackward) {
  Tensor x = Tensor::from_vector<double>({1.0, 2.0}, {2}).set_requires_grad();
  Tensor y = sum(exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  auto g = vals(x.grad());
  EXPECT_NEAR(g[0], 2 * std::exp(1.0), 1e-12);
  EXPECT_NEAR(g[1], 2 * std::exp(2.0), 1e-12);
}

TEST(Engine, NonScalarBackwardNeedsAGradient) {
  Tensor x = Tensor::from_vector<double>({1.0, 2.0}, {2}).set_requires_grad();
  EXPECT_THROW(exp(x).backward(), Error);
}

TEST(Engine, BackwardOnATensorWithoutGraphIsAnError) {
  Tensor x = Tensor::from_vector<double>({1.0}, {1});
  EXPECT_THROW(sum(x).backward(), Error);
}

TEST(Engine, NoGradGuardRecordsNothing) {
  Tensor x = Tensor::from_vector<double>({1.0}, {1}).set_requires_grad();
  {
    NoGradGuard g;
    Tensor y = exp(x);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_leaf());
  }
  EXPECT_TRUE(GradMode::is_enabled());
  EXPECT_TRUE(exp(x).requires_grad());
}

TEST(Engine, GradModeIsThreadLocal) {
  NoGradGuard g;
  bool other = false;
  std::thread t([&] { other = GradMode::is_enabled(); });
  t.join();
  EXPECT_TRUE(other);
  EXPECT_FALSE(GradMode::is_enabled());
}

TEST(Engine, DetachCutsTheGraphAndSharesStorage) {
  Tensor x = Tensor::from_vector<double>({1.0, 2.0}, {2}).set_requires_grad();
  Tensor y = exp(x);
  Tensor d = y.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.raw_data(), y.raw_data());
  Tensor z = sum(d * x);  // gradient flows only through x, d is a constant
  z.backward();
  auto g = vals(x.grad());
  EXPECT_NEAR(g[0], std::exp(1.0), 1e-12);
  EXPECT_NEAR(g[1], std::exp(2.0), 1e-12);
}

TEST(Engine, OnlyLeavesChangeRequiresGrad) {
  Tensor x = Tensor::from_vector<double>({1.0}, {1}).set_requires_grad();
  EXPECT_THROW(exp(x).set_requires_grad(false), Error);
  EXPECT_THROW(Tensor::from_vector<int64_t>({1}, {1}).set_requires_grad(), Error);
}

TEST(Engine, LeafHooksSeeAndReplaceTheGradient) {
  Tensor x = Tensor::from_vector<double>({1.0, 2.0}, {2}).set_requires_grad();
  int calls = 0;
  register_hook(x, [&](const Tensor& g) {
    ++calls;
    return g * 10.0;
  });
  std::vector<double> seen;
  register_post_accumulate_hook(x, [&](const Tensor& leaf) { seen = vals(leaf.grad()); });
  sum(x * 3.0).backward();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, (std::vector<double>{30.0, 30.0}));
  EXPECT_EQ(vals(x.grad()), (std::vector<double>{30.0, 30.0}));
}

TEST(Engine, GradientBuffersAreNotSharedBetweenLeaves) {
  // add's backward returns the same tensor for both inputs; each leaf must own its .grad.
  Tensor a = Tensor::from_vector<double>({1.0}, {1}).set_requires_grad();
  Tensor b = Tensor::from_vector<double>({2.0}, {1}).set_requires_grad();
  (a + b).backward(Tensor::from_vector<double>({1.0}, {1}));
  EXPECT_NE(a.grad().raw_data(), b.grad().raw_data());
}

TEST(Engine, UnusedBranchesAreSkipped) {
  Tensor x = Tensor::from_vector<double>({1.0}, {1}).set_requires_grad();
  Tensor w = Tensor::from_vector<double>({5.0}, {1}).set_requires_grad();
  Tensor unused = exp(w);
  (void)unused;
  sum(x * 2.0).backward();
  EXPECT_FALSE(w.grad().defined());
  EXPECT_DOUBLE_EQ(vals(x.grad())[0], 2.0);
}

TEST(Engine, GradOfViewsReachesTheBase) {
  Tensor x = leaf(case_randn({3, 4}, 9));
  Tensor y = sum(square(slice(transpose(x, 0, 1), 0, 1, 3)));  // rows 1..2 of xᵀ = columns 1..2 of x
  y.backward();
  auto g = vals(x.grad());
  auto xv = vals(x);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_DOUBLE_EQ(g[i * 4 + j], (j == 1 || j == 2) ? 2 * xv[i * 4 + j] : 0.0);
}

TEST(Engine, F32GradientsStayF32) {
  Tensor x = ops::to_dtype(case_randn({5}, 3), DType::F32).set_requires_grad();
  sum(tanh(x)).backward();
  EXPECT_EQ(x.grad().dtype(), DType::F32);
}

TEST(Engine, GradCapturesOnlyTheRequestedInputs) {
  Tensor x = leaf(case_randn({3}, 1));
  Tensor w = leaf(case_randn({3}, 2));  // a "parameter" the function uses but grad() does not ask about
  int hook_calls = 0;
  register_post_accumulate_hook(w, [&](const Tensor&) { ++hook_calls; });
  Tensor y = sum(x * w);
  TensorList g = grad({y}, {x, x}, {ops::ones({}, DType::F64)});
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].to_double_vector(), w.to_double_vector());
  EXPECT_EQ(g[1].to_double_vector(), w.to_double_vector());
  EXPECT_FALSE(w.grad().defined());
  EXPECT_FALSE(x.grad().defined());
  EXPECT_EQ(hook_calls, 0);
}

TEST(Engine, UserGradientBufferIsNotAliasedByGrad) {
  Tensor x = leaf(case_randn({2}, 3));
  Tensor g = Tensor::from_vector<double>({1.0, 2.0}, {2});
  x.backward(g);  // g flows straight into the leaf sink
  ops::fill_(g, 0.0);  // changing the caller's buffer must not change x.grad
  EXPECT_EQ(x.grad().to_double_vector(), (std::vector<double>{1.0, 2.0}));
}

TEST(Engine, ScalarTensorsViewWithoutCopying) {
  Tensor s = ops::full({}, 3.0);
  Tensor v = ops::view(s, {1, 1});
  EXPECT_EQ(v.storage().get(), s.storage().get());
}
