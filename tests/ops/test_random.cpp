// Statistics and stream bookkeeping of the random creation ops. Bounds are 6 standard errors of the
// estimate (for n = 2^18 draws), so a correct generator fails one of these checks with probability
// ~1e-9 — and the draws are deterministic for the fixed seeds, so a pass is a pass forever.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "autograd/functions.h"
#include "runtime/parallel.h"

namespace mm {
namespace {

constexpr int64_t kN = 1 << 18;

struct Moments {
  double mean = 0, var = 0, min = 1e300, max = -1e300;
};

Moments moments(const Tensor& t) {
  std::vector<double> v = t.to_double_vector();
  Moments m;
  for (double x : v) {
    m.mean += x;
    m.min = std::min(m.min, x);
    m.max = std::max(m.max, x);
  }
  m.mean /= static_cast<double>(v.size());
  for (double x : v) m.var += (x - m.mean) * (x - m.mean);
  m.var /= static_cast<double>(v.size() - 1);
  return m;
}

// 6 standard errors of a mean of kN draws with variance `var`.
double bound(double var) { return 6.0 * std::sqrt(var / kN); }

TEST(Random, UniformMoments) {
  for (DType dt : {DType::F32, DType::F64}) {
    manual_seed(11);
    Moments m = moments(rand({kN}, dt));
    EXPECT_NEAR(m.mean, 0.5, bound(1.0 / 12)) << dtype_name(dt);
    // Var of (x - 1/2)^2 for uniform x: 1/80 - 1/144.
    EXPECT_NEAR(m.var, 1.0 / 12, bound(1.0 / 80 - 1.0 / 144)) << dtype_name(dt);
    EXPECT_GE(m.min, 0.0);
    EXPECT_LT(m.max, 1.0);
  }
}

TEST(Random, HalfPrecisionUniformStaysBelowOne) {
  for (DType dt : {DType::F16, DType::BF16}) {
    manual_seed(12);
    Tensor r = rand({kN}, dt);
    EXPECT_EQ(r.dtype(), dt);
    Moments m = moments(r);
    EXPECT_GE(m.min, 0.0);
    EXPECT_LT(m.max, 1.0) << dtype_name(dt) << ": rounding must not produce 1.0";
    EXPECT_NEAR(m.mean, 0.5, bound(1.0 / 12) + 1.0 / 256) << dtype_name(dt);  // truncation shifts the mean down by <= 2^-9
  }
}

TEST(Random, NormalMoments) {
  for (DType dt : {DType::F32, DType::F64}) {
    manual_seed(13);
    Tensor z = randn({kN}, dt);
    Moments m = moments(z);
    EXPECT_NEAR(m.mean, 0.0, bound(1.0)) << dtype_name(dt);
    EXPECT_NEAR(m.var, 1.0, bound(2.0)) << dtype_name(dt);  // Var(z^2) = 2
    // Shape, not just moments: P(|z| < 1) = 0.6827, P(|z| < 2) = 0.9545.
    std::vector<double> v = z.to_double_vector();
    double in1 = 0, in2 = 0;
    for (double x : v) {
      in1 += std::fabs(x) < 1;
      in2 += std::fabs(x) < 2;
    }
    EXPECT_NEAR(in1 / kN, 0.682689, bound(0.682689 * (1 - 0.682689))) << dtype_name(dt);
    EXPECT_NEAR(in2 / kN, 0.954500, bound(0.9545 * (1 - 0.9545))) << dtype_name(dt);
  }
}

TEST(Random, RandintCoversTheRangeUniformly) {
  manual_seed(14);
  Tensor r = randint(-3, 5, {kN});
  EXPECT_EQ(r.dtype(), DType::I64);
  std::map<int64_t, int64_t> count;
  for (double x : r.to_double_vector()) ++count[static_cast<int64_t>(x)];
  ASSERT_EQ(count.size(), 8u);
  EXPECT_EQ(count.begin()->first, -3);
  EXPECT_EQ(count.rbegin()->first, 4);
  for (auto [value, c] : count) EXPECT_NEAR(double(c) / kN, 1.0 / 8, bound(1.0 / 8 * 7.0 / 8)) << value;
}

TEST(Random, BernoulliRates) {
  for (DType dt : {DType::F32, DType::F64}) {
    manual_seed(15);
    EXPECT_NEAR(moments(bernoulli({kN}, 0.3, dt)).mean, 0.3, bound(0.21)) << dtype_name(dt);
  }
  // Per-element probabilities: 0 never fires, 1 always does, 0.5 half the time.
  std::vector<double> p(kN);
  for (int64_t i = 0; i < kN; ++i) p[i] = i % 3 == 0 ? 0.0 : i % 3 == 1 ? 1.0 : 0.5;
  manual_seed(16);
  std::vector<double> b = bernoulli(Tensor::from_vector<double>(p, {kN})).to_double_vector();
  double halves = 0;
  for (int64_t i = 0; i < kN; ++i) {
    if (i % 3 == 0) {
      ASSERT_EQ(b[i], 0.0) << i;
    } else if (i % 3 == 1) {
      ASSERT_EQ(b[i], 1.0) << i;
    } else {
      halves += b[i];
    }
  }
  EXPECT_NEAR(halves / (kN / 3), 0.5, 6.0 * std::sqrt(0.25 / (kN / 3)));
  // bool output of the scalar form.
  Tensor mask = bernoulli({16}, 0.5, DType::Bool);
  EXPECT_EQ(mask.dtype(), DType::Bool);
}

TEST(Random, DeterministicAfterManualSeed) {
  manual_seed(42);
  auto a = randn({1000}).to_double_vector();
  auto b = rand({7}, DType::F64).to_double_vector();
  manual_seed(42);
  EXPECT_EQ(randn({1000}).to_double_vector(), a);
  EXPECT_EQ(rand({7}, DType::F64).to_double_vector(), b);
  manual_seed(43);
  EXPECT_NE(randn({1000}).to_double_vector(), a);
}

TEST(Random, SuccessiveCallsUseDisjointBlocks) {
  manual_seed(7);
  rand({10});  // 10 f32 uniforms: ceil(10/4) = 3 blocks
  EXPECT_EQ(default_generator().offset(), 3u);
  randn({5});  // 5 normals: ceil(5/2) = 3 blocks
  EXPECT_EQ(default_generator().offset(), 6u);
  randint(0, 10, {3});  // 53-bit uniforms, two per block
  EXPECT_EQ(default_generator().offset(), 8u);
  // Two calls of whole blocks equal one call of their total length: the stream simply continues.
  manual_seed(8);
  auto a = rand({8}).to_double_vector();
  auto b = rand({8}).to_double_vector();
  manual_seed(8);
  auto c = rand({16}).to_double_vector();
  a.insert(a.end(), b.begin(), b.end());
  EXPECT_EQ(a, c);
  // ... and successive calls do not repeat each other.
  EXPECT_NE(std::vector<double>(c.begin(), c.begin() + 8), std::vector<double>(c.begin() + 8, c.end()));
}

TEST(Random, ExplicitGeneratorLeavesTheDefaultAlone) {
  manual_seed(9);
  Generator g(9);
  auto a = ops::rand({6}, DType::F32, kCPU, &g).to_double_vector();
  EXPECT_EQ(default_generator().offset(), 0u);
  EXPECT_EQ(g.offset(), 2u);
  EXPECT_EQ(rand({6}).to_double_vector(), a);  // same seed, same offset: same values
}

TEST(Random, IndependentOfThreadCount) {
  int saved = num_threads();
  std::vector<double> ref;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    manual_seed(10);
    auto v = randn({kN + 3}).to_double_vector();  // odd count: a half-used last block
    if (ref.empty()) ref = v;
    else EXPECT_EQ(v, ref) << threads << " threads";
  }
  set_num_threads(saved);
}

}  // namespace
}  // namespace mm
