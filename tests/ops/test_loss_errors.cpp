// Losses and distances: typed errors for bad targets, shapes, dtypes and arguments; edge cases
// (empty batches, every target ignored, zero vectors, equal points) that must not crash or give NaN
// gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "tests/common/expect_error.h"

namespace mm {
namespace {

Tensor f32(const Shape& s, double v = 0.5) { return ops::full(s, v, DType::F32); }
Tensor i64(const std::vector<int64_t>& v, const Shape& s) { return Tensor::from_vector<int64_t>(v, s); }

TEST(LossErrors, CrossEntropyTargets) {
  EXPECT_ERROR_CONTAINS(cross_entropy(f32({3, 5}), i64({1, 7, 2}, {3})), ErrorKind::Index,
                        "cross_entropy: target 7 is out of range for 5 classes");
  EXPECT_ERROR_CONTAINS(cross_entropy(f32({3, 5}), i64({1, -1, 2}, {3})), ErrorKind::Index,
                        "target -1 is out of range");
  EXPECT_ERROR_CONTAINS(nll_loss(f32({3, 5}), i64({1, 5, 2}, {3})), ErrorKind::Index, "nll_loss: target 5");
  // ignore_index itself is fine, even outside [0, C)
  EXPECT_NO_THROW(cross_entropy(f32({3, 5}), i64({1, -100, 2}, {3})));
  EXPECT_ERROR_CONTAINS(cross_entropy(f32({3, 5}), i64({1, 2}, {2})), ErrorKind::Shape,
                        "target [2] does not match input [3,5]");
  EXPECT_ERROR_CONTAINS(cross_entropy(f32({2, 3, 4}), i64({0, 0, 0, 0, 0, 0}, {2, 3})), ErrorKind::Shape,
                        "expected target [2,4]");
  EXPECT_ERROR_CONTAINS(cross_entropy(f32({3, 5}), f32({3, 4})), ErrorKind::Shape, "probability target [3,4]");
  EXPECT_ERROR_CONTAINS(cross_entropy(f32({3, 5}), ops::full({3}, 1, DType::Bool)), ErrorKind::DType, "integer dtype");
  EXPECT_ERROR_CONTAINS(cross_entropy(ops::full({3, 5}, 1, DType::I64), i64({1, 1, 1}, {3})), ErrorKind::DType,
                        "input must be floating");
  EXPECT_ERROR_CONTAINS(cross_entropy(f32({3, 5}), i64({1, 1, 1}, {3}), Reduction::Mean, -100, 1.5), ErrorKind::Value,
                        "label_smoothing must be in [0, 1]");
  EXPECT_ERROR_CONTAINS(cross_entropy(f32({5}), i64({1, 1}, {2})), ErrorKind::Shape, "0-d class-index target");
  EXPECT_ERROR_CONTAINS(nll_loss(f32({}), i64({1}, {})), ErrorKind::Shape, "class dimension");
}

TEST(LossErrors, ElementwiseLosses) {
  EXPECT_ERROR_CONTAINS(mse_loss(f32({3, 4}), f32({4, 3})), ErrorKind::Shape,
                        "mse_loss: target [4,3] must have the input's shape [3,4]");
  EXPECT_ERROR_CONTAINS(binary_cross_entropy_with_logits(f32({3, 4}), f32({3, 1})), ErrorKind::Shape, "target [3,1]");
  EXPECT_ERROR_CONTAINS(binary_cross_entropy_with_logits(f32({3, 4}), f32({3, 4}), Reduction::Mean, f32({3})),
                        ErrorKind::Shape, "pos_weight [3] must broadcast");
  EXPECT_ERROR_CONTAINS(mse_loss(f32({3}), ops::full({3}, 1, DType::I64)), ErrorKind::DType, "target must be floating");
}

TEST(LossErrors, NormsAndDistances) {
  EXPECT_ERROR_CONTAINS(normalize(f32({3, 4}), 2, 2), ErrorKind::Index, "dimension 2 out of range");
  EXPECT_ERROR_CONTAINS(normalize(ops::full({3}, 1, DType::I64)), ErrorKind::DType,
                        "normalize: input must be floating");
  EXPECT_ERROR_CONTAINS(cosine_similarity(f32({3, 4}), f32({2, 4})), ErrorKind::Shape, "cosine_similarity");
  EXPECT_ERROR_CONTAINS(cdist(f32({3, 4}), f32({5, 3})), ErrorKind::Shape,
                        "cdist: feature sizes differ: [3,4] and [5,3]");
  EXPECT_ERROR_CONTAINS(cdist(f32({4}), f32({5, 4})), ErrorKind::Shape, "at least 2-D");
  EXPECT_ERROR_CONTAINS(cdist(f32({2, 3, 4}), f32({3, 5, 4})), ErrorKind::Shape, "cdist");
  EXPECT_ERROR_CONTAINS(cdist(f32({3, 4}), f32({5, 4}), -1), ErrorKind::Value, "p must be non-negative");
  EXPECT_ERROR_CONTAINS(cdist(f32({3, 4}), ops::full({5, 4}, 1, DType::F64)), ErrorKind::DType, "same dtype");
}

TEST(LossSemantics, EmptyAndIgnoredBatches) {
  // Mean over zero counted targets is 0/0 = NaN, as in PyTorch; sum is 0.
  EXPECT_TRUE(std::isnan(cross_entropy(f32({0, 5}), i64({}, {0})).item()));
  EXPECT_EQ(cross_entropy(f32({0, 5}), i64({}, {0}), Reduction::Sum).item(), 0.0);
  EXPECT_TRUE(std::isnan(cross_entropy(f32({2, 5}), i64({-100, -100}, {2})).item()));
  EXPECT_EQ(cross_entropy(f32({2, 5}), i64({-100, -100}, {2}), Reduction::None).shape(), (Shape{2}));
  EXPECT_TRUE(std::isnan(mse_loss(f32({0}), f32({0})).item()));
  EXPECT_EQ(cdist(f32({0, 3}), f32({4, 3})).shape(), (Shape{0, 4}));
  EXPECT_EQ(cdist(f32({2, 0}), f32({4, 0})).to_double_vector(), std::vector<double>(8, 0.0));
}

TEST(LossSemantics, IgnoredTargetsGetNoGradient) {
  Tensor x = randn({3, 4}, DType::F64).set_requires_grad();
  cross_entropy(x, i64({1, 2, 3}, {3}), Reduction::Sum, 2, 0.1).backward();
  std::vector<double> g = x.grad().to_double_vector();
  for (int k = 0; k < 4; ++k) EXPECT_EQ(g[4 + k], 0.0);
  // The others' gradient rows are softmax − smoothed one-hot, which sums to 0 over the classes.
  double row0 = g[0] + g[1] + g[2] + g[3];
  EXPECT_NEAR(row0, 0.0, 1e-12);
}

TEST(LossSemantics, ZeroVectorsAndEqualPointsHaveFiniteGradients) {
  // normalize of a zero vector: 0, gradient 1/eps·g (the norm's own gradient is 0 there).
  Tensor z = ops::zeros({1, 3}, DType::F64).detach().set_requires_grad();
  Tensor y = normalize(z, 2, 1, 1e-6);
  EXPECT_EQ(y.to_double_vector(), std::vector<double>(3, 0.0));
  sum(y).backward();
  for (double g : z.grad().to_double_vector()) EXPECT_DOUBLE_EQ(g, 1e6);

  // cosine_similarity with a zero vector: 0 and finite gradients.
  Tensor a = ops::zeros({2, 3}, DType::F64).detach().set_requires_grad();
  Tensor b = randn({2, 3}, DType::F64).set_requires_grad();
  Tensor cs = cosine_similarity(a, b);
  EXPECT_EQ(cs.to_double_vector(), std::vector<double>(2, 0.0));
  sum(cs).backward();
  for (double g : b.grad().to_double_vector()) EXPECT_EQ(g, 0.0);
  for (double g : a.grad().to_double_vector()) EXPECT_TRUE(std::isfinite(g));

  // cdist between equal points: distance 0 and gradient exactly 0 for that pair, in both the
  // difference form (small) and the matmul form (P > 25), for p = 2 and p = 1.
  for (int64_t P : {3, 30}) {
    for (double p : {2.0, 1.0}) {
      Tensor pa = randn({P, 4}, DType::F64);
      Tensor pb = contiguous(slice(pa, 0, 0, 1));  // b's only point equals a's first point
      pa.set_requires_grad();
      pb.set_requires_grad();
      Tensor d = cdist(pa, pb, p);
      EXPECT_LT(std::fabs(d.to_double_vector()[0]), 1e-6) << "P=" << P << " p=" << p;
      // gradient of d[0,0] alone: 0 (it is the pair of equal points)
      Tensor mask = ops::zeros({P, 1}, DType::F64);
      mask.data<double>()[0] = 1;
      sum(d * mask).backward();
      for (double g : pa.grad().to_double_vector()) EXPECT_EQ(g, 0.0) << "P=" << P << " p=" << p;
      for (double g : pb.grad().to_double_vector()) EXPECT_EQ(g, 0.0) << "P=" << P << " p=" << p;
    }
  }
}

TEST(LossSemantics, UnbatchedAndProbabilityTargetsAgreeWithIndices) {
  Tensor x = randn({4, 5}, DType::F64);
  Tensor t = i64({1, 0, 4, 2}, {4});
  // one-hot probabilities give the same loss as the indices, with and without smoothing
  Tensor onehot = ops::to_dtype(one_hot(t, 5), DType::F64);
  for (double eps : {0.0, 0.2}) {
    EXPECT_NEAR(cross_entropy(x, t, Reduction::Mean, -100, eps).item(),
                cross_entropy(x, onehot, Reduction::Mean, -100, eps).item(), 1e-12);
  }
  // an unbatched row equals the same row in a batch
  Tensor row = select(x, 0, 2);
  EXPECT_EQ(cross_entropy(row, i64({4}, {}), Reduction::None).shape(), Shape{});
  EXPECT_NEAR(cross_entropy(row, i64({4}, {})).item(),
              cross_entropy(x, t, Reduction::None).to_double_vector()[2], 1e-12);
}

}  // namespace
}  // namespace mm
