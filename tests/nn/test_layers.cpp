// The basic layers: each forward equals its functional op, default initialisation follows PyTorch's
// distributions, BatchNorm's running statistics and Dropout's modes behave as torch.nn's.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "nn/containers.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "tests/common/expect_error.h"

namespace mm::nn {
namespace {

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_double_vector()) m = std::max(m, std::fabs(v));
  return m;
}

std::pair<double, double> mean_std(const Tensor& t) {
  auto v = t.to_double_vector();
  double s = 0, q = 0;
  for (double x : v) s += x;
  const double m = s / v.size();
  for (double x : v) q += (x - m) * (x - m);
  return {m, std::sqrt(q / v.size())};
}

TEST(Layers, LinearAndConvDefaultInitIsUniformWithinOneOverSqrtFanIn) {
  manual_seed(1);
  Linear fc(400, 300);
  const double bound = 1.0 / std::sqrt(400.0);
  EXPECT_LE(max_abs(fc.weight), bound);
  EXPECT_LE(max_abs(fc.bias), bound);
  // U(−b, b) has std b/√3; with 120k samples the estimate is within 1% of it.
  EXPECT_NEAR(mean_std(fc.weight).second, bound / std::sqrt(3.0), 0.01 * bound);
  Conv2d conv(8, 16, 3, Conv2dOptions{.groups = 2});
  EXPECT_EQ(conv.weight.shape(), Shape({16, 4, 3, 3}));
  EXPECT_LE(max_abs(conv.weight), 1.0 / std::sqrt(4.0 * 9.0));
}

TEST(Layers, ForwardsEqualTheirFunctionalOps) {
  manual_seed(2);
  Tensor x = ops::randn({2, 3, 6, 6});
  Conv2d conv(3, 4, 3, Conv2dOptions{.stride = {2, 2}, .padding = {1, 1}});
  EXPECT_EQ(conv(x).to_double_vector(), conv2d(x, conv.weight, conv.bias, {2, 2}, {1, 1}).to_double_vector());
  Linear fc(6, 5);
  Tensor v = ops::randn({4, 6});
  EXPECT_EQ(fc(v).to_double_vector(), linear(v, fc.weight, fc.bias).to_double_vector());
  LayerNorm ln(6, 1e-6);
  EXPECT_EQ(ln(v).to_double_vector(), layer_norm(v, {6}, ln.weight, ln.bias, 1e-6).to_double_vector());
  MaxPool2d mp(3, Pool2dOptions{.stride = {2, 2}, .padding = {1, 1}});
  EXPECT_EQ(mp(x).shape(), Shape({2, 3, 3, 3}));
  AdaptiveAvgPool2d ap({1, 1});
  EXPECT_EQ(Flatten()(ap(x)).to_double_vector(), flatten(adaptive_avg_pool2d(x, {1, 1}), 1).to_double_vector());
  EXPECT_EQ(Flatten()(ap(x)).shape(), Shape({2, 3}));
  Sequential seq{std::make_shared<Linear>(6, 3), GELU()};
  auto* l0 = dynamic_cast<Linear*>(seq[0].get());
  EXPECT_EQ(seq(v).to_double_vector(), gelu(linear(v, l0->weight, l0->bias)).to_double_vector());
}

TEST(Layers, BatchNormUpdatesRunningStatisticsInTrainingOnly) {
  manual_seed(3);
  BatchNorm2d bn(3, 1e-5, 0.2);
  Tensor x = add(mul(ops::randn({4, 3, 5, 5}), 2.0), 1.0);
  Tensor y = bn(x);
  // Per channel: running_mean = 0.8·0 + 0.2·batch mean; running_var = 0.8·1 + 0.2·unbiased var.
  Tensor m = mean(x, {0, 2, 3}), uv = var(x, {0, 2, 3}, 1);
  auto rm = bn.running_mean.to_double_vector(), rv = bn.running_var.to_double_vector();
  auto mv = m.to_double_vector(), vv = uv.to_double_vector();
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(rm[c], 0.2 * mv[c], 1e-6);
    EXPECT_NEAR(rv[c], 0.8 + 0.2 * vv[c], 1e-5);
  }
  EXPECT_EQ(bn.num_batches_tracked.item(), 1.0);
  // The output is normalised with the batch's biased statistics.
  auto ys = mean_std(select(y, 1, 0));
  EXPECT_NEAR(ys.first, 0.0, 1e-5);
  EXPECT_NEAR(ys.second, 1.0, 1e-3);
  bn.eval();
  Tensor ye = bn(x);
  EXPECT_EQ(bn.num_batches_tracked.item(), 1.0);
  EXPECT_EQ(bn.running_mean.to_double_vector(), rm);
  EXPECT_EQ(ye.to_double_vector(), batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, false, 0.2,
                                               1e-5).to_double_vector());
  EXPECT_ERROR_CONTAINS(bn(ops::ones({3, 3})), ErrorKind::Shape, "BatchNorm2d", "[N, C, H, W]");
}

TEST(Layers, EmbeddingPaddingRowIsZeroAndGetsNoGradient) {
  manual_seed(4);
  Embedding emb(10, 4, 0);
  EXPECT_EQ(select(emb.weight, 0, 0).to_double_vector(), std::vector<double>(4, 0.0));
  auto ms = mean_std(slice(emb.weight, 0, 1, 10));
  EXPECT_NEAR(ms.second, 1.0, 0.5);  // N(0, 1), 36 samples
  Tensor ids = Tensor::from_vector<int64_t>({0, 3, 0, 5}, {4});
  sum(emb(ids)).backward();
  EXPECT_EQ(select(emb.weight.grad(), 0, 0).to_double_vector(), std::vector<double>(4, 0.0));
  EXPECT_EQ(select(emb.weight.grad(), 0, 3).to_double_vector(), std::vector<double>(4, 1.0));
  EXPECT_ERROR_CONTAINS(Embedding(5, 2, 7), ErrorKind::Value, "padding_idx");
}

TEST(Layers, DropoutIsIdentityInEvaluation) {
  Dropout d(0.5);
  Tensor x = ops::ones({1000});
  Tensor y = d(x);
  auto v = y.to_double_vector();
  int zeros = 0;
  for (double e : v) {
    zeros += e == 0.0;
    EXPECT_TRUE(e == 0.0 || e == 2.0);
  }
  EXPECT_GT(zeros, 400);  // Binomial(1000, 0.5): 400 is > 6 standard deviations below the mean
  EXPECT_LT(zeros, 600);
  d.eval();
  EXPECT_TRUE(d(x).same(x));
}

TEST(Init, DistributionsHaveTorchNnInitParameters) {
  manual_seed(5);
  Tensor w = Tensor::empty({200, 300});
  init::xavier_uniform_(w, 2.0);
  const double xb = 2.0 * std::sqrt(6.0 / 500.0);
  EXPECT_LE(max_abs(w), xb);
  EXPECT_NEAR(mean_std(w).second, xb / std::sqrt(3.0), 0.02 * xb);
  init::kaiming_normal_(w, 0.0, "fan_out", "relu");
  EXPECT_NEAR(mean_std(w).second, std::sqrt(2.0 / 200.0), 0.02 * std::sqrt(2.0 / 200.0));
  init::trunc_normal_(w, 0.5, 1.0, -1.0, 1.5);
  auto v = w.to_double_vector();
  for (double e : v) ASSERT_TRUE(e >= -1.0 && e <= 1.5);
  // Normal(0.5, 1) truncated to [−1, 1.5]: mean = 0.5 + (φ(−1.5) − φ(1)) / (Φ(1) − Φ(−1.5)) = 0.35481;
  // 60k samples of std ≈ 0.6 put the estimate within 0.003 of it (1σ).
  EXPECT_NEAR(mean_std(w).first, 0.35481, 0.01);
  EXPECT_ERROR_CONTAINS(init::kaiming_uniform_(w, 0, "fan_sideways"), ErrorKind::Value, "fan_in or fan_out");
  EXPECT_ERROR_CONTAINS(init::xavier_uniform_(ops::ones({3})), ErrorKind::Shape, "at least 2 dims");
}

}  // namespace
}  // namespace mm::nn
