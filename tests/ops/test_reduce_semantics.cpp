// Semantics of reductions and softmax that the forward cases cannot express: infinities and NaN in
// results, gradients at ties and at zero, and determinism across thread counts.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"
#include "runtime/parallel.h"

namespace mm {
namespace {

const double kInf = std::numeric_limits<double>::infinity();

Tensor vec(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector<double>(v, s); }

TEST(ReduceSemantics, LogsumexpOfInfiniteRows) {
  Tensor x = vec({-kInf, -kInf, -kInf, 1.0, kInf, 2.0, 0.0, 0.0, 0.0}, {3, 3});
  auto y = logsumexp(x, {1}).to_double_vector();
  EXPECT_EQ(y[0], -kInf);  // log(0): an all -inf row is not NaN
  EXPECT_EQ(y[1], kInf);
  EXPECT_NEAR(y[2], std::log(3.0), 1e-15);
}

TEST(ReduceSemantics, SoftmaxOfInfiniteRows) {
  Tensor x = vec({-kInf, -kInf, -kInf, 1.0, -kInf, 1.0}, {2, 3});
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor xs = ops::to_dtype(x, dt);
    auto p = softmax(xs, 1).to_double_vector();
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(p[i])) << "an all -inf row has no distribution (NaN, as in PyTorch)";
    EXPECT_EQ(p[3], 0.5);
    EXPECT_EQ(p[4], 0.0);
    auto lp = log_softmax(xs, 1).to_double_vector();
    EXPECT_TRUE(std::isnan(lp[0]));
    EXPECT_EQ(lp[4], -kInf);
    EXPECT_NEAR(lp[3], -std::log(2.0), 1e-7);
    // The same along a non-last dim (the column kernels).
    auto pc = softmax(ops::contiguous(transpose(xs, 0, 1)), 0).to_double_vector();
    EXPECT_TRUE(std::isnan(pc[0]));
    EXPECT_EQ(pc[1], 0.5);
    EXPECT_EQ(pc[3], 0.0);
  }
}

TEST(ReduceSemantics, MaxGradientGoesToTheFirstTie) {
  Tensor x = vec({1, 3, 3, 2, 0, 0}, {2, 3}).set_requires_grad();
  auto [v, i] = max(x, 1);
  EXPECT_EQ(i.to_double_vector(), (std::vector<double>{1, 0}));
  sum(v).backward();
  EXPECT_EQ(x.grad().to_double_vector(), (std::vector<double>{0, 1, 0, 1, 0, 0}));
}

TEST(ReduceSemantics, AmaxAndFullMaxSplitTheGradientAmongTies) {
  Tensor x = vec({1, 3, 3, 2, 0, 0}, {2, 3}).set_requires_grad();
  sum(amin(x, {1})).backward();
  EXPECT_EQ(x.grad().to_double_vector(), (std::vector<double>{1, 0, 0, 0, 0.5, 0.5}));
  Tensor z = vec({1, 3, 3, 2}, {4}).set_requires_grad();
  max(z).backward();
  EXPECT_EQ(z.grad().to_double_vector(), (std::vector<double>{0, 0.5, 0.5, 0}));
}

TEST(ReduceSemantics, NormGradientAtZeroIsZero) {
  Tensor x = vec({0, 0, 0, 3, 4, 0}, {2, 3}).set_requires_grad();
  sum(norm(x, 2, {1})).backward();
  std::vector<double> want{0, 0, 0, 0.6, 0.8, 0}, got = x.grad().to_double_vector();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-15) << i;  // 0, not NaN, for the zero row
}

TEST(ReduceSemantics, ArgmaxOfTheFlattenedTensor) {
  Tensor x = vec({1, 5, 2, 5, -1, 0}, {2, 3});
  EXPECT_EQ(argmax(x).item(), 1);
  EXPECT_EQ(argmin(x).item(), 4);
  EXPECT_EQ(argmax(x).dim(), 0);
}

TEST(ReduceSemantics, VarOfOneElementIsNaN) {
  // N − correction = 0: 0/0, as in PyTorch
  EXPECT_TRUE(std::isnan(var(vec({2.0}, {1})).item()));
  EXPECT_EQ(var(vec({2.0}, {1}), {}, 0).item(), 0.0);
}

// The CPU loops choose their chunking from shapes only: 1 and 2 threads give identical bits.
TEST(ReduceSemantics, ResultsDoNotDependOnTheThreadCount) {
  int saved = num_threads();
  Tensor a = ops::to_dtype(case_randn({4096, 96}, 91), DType::F32);
  Tensor b = ops::to_dtype(case_randn({300000}, 92), DType::F32);
  Tensor c = ops::to_dtype(case_randn({64, 3000}, 93), DType::F32);
  auto run = [&] {
    return std::vector<std::vector<double>>{sum(a, {0}).to_double_vector(), sum(a, {1}).to_double_vector(),
                                            sum(b).to_double_vector(), amax(b).to_double_vector(),
                                            softmax(c, 1).to_double_vector(), log_softmax(c, 0).to_double_vector()};
  };
  set_num_threads(1);
  auto one = run();
  set_num_threads(2);
  auto two = run();
  set_num_threads(saved);
  EXPECT_EQ(one, two);
}

}  // namespace
}  // namespace mm
