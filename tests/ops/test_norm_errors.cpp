// layer_norm and batch_norm: typed errors for bad arguments, running-statistics updates (including
// statistics that must be converted or are not contiguous), eval-mode gradients, empty inputs and
// half types.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "tests/common/expect_error.h"

namespace mm {
namespace {

Tensor f32(const Shape& s, double v = 0.5) { return ops::full(s, v, DType::F32); }

TEST(NormErrors, LayerNorm) {
  EXPECT_ERROR_CONTAINS(layer_norm(f32({2, 4}), {5}), ErrorKind::Shape,
                        "normalized_shape [5] must be non-empty and equal");
  EXPECT_ERROR_CONTAINS(layer_norm(f32({2, 4}), {}), ErrorKind::Shape, "normalized_shape []");
  EXPECT_ERROR_CONTAINS(layer_norm(f32({4}), {2, 4}), ErrorKind::Shape, "trailing dims of the input [4]");
  EXPECT_ERROR_CONTAINS(layer_norm(f32({2, 4}), {4}, f32({3})), ErrorKind::Shape,
                        "weight must have shape [4], got [3]");
  EXPECT_ERROR_CONTAINS(layer_norm(f32({2, 4}), {4}, f32({4}), f32({2, 2})), ErrorKind::Shape,
                        "bias must have shape [4]");
  EXPECT_ERROR_CONTAINS(layer_norm(f32({2, 4}), {4}, ops::full({4}, 1.0, DType::F64)), ErrorKind::DType,
                        "weight must have the input's dtype f32, got f64");
  EXPECT_ERROR_CONTAINS(layer_norm(ops::full({2, 4}, 1.0, DType::I64), {4}), ErrorKind::DType, "floating");
  EXPECT_ERROR_CONTAINS(layer_norm(f32({2, 4}), {4}, Tensor(), Tensor(), -1.0), ErrorKind::Value, "eps must be");
}

TEST(NormErrors, BatchNorm) {
  EXPECT_ERROR_CONTAINS(batch_norm(f32({4}), Tensor(), Tensor()), ErrorKind::Shape, "at least 2 dims");
  EXPECT_ERROR_CONTAINS(batch_norm(f32({4, 3}), Tensor(), Tensor(), f32({4})), ErrorKind::Shape,
                        "weight must have shape [3], got [4]");
  EXPECT_ERROR_CONTAINS(batch_norm(f32({4, 3}), f32({3}), Tensor()), ErrorKind::Value, "must be given together");
  EXPECT_ERROR_CONTAINS(batch_norm(f32({4, 3}), f32({2}), f32({2})), ErrorKind::Shape,
                        "running statistics must have shape [3]");
  EXPECT_ERROR_CONTAINS(batch_norm(f32({4, 3}), ops::full({3}, 0.0, DType::I64), ops::full({3}, 1.0, DType::I64)),
                        ErrorKind::DType, "running statistics must be floating");
  EXPECT_ERROR_CONTAINS(batch_norm(f32({1, 3}), Tensor(), Tensor()), ErrorKind::Value,
                        "expected more than 1 value per channel when training, got input [1,3]");
  EXPECT_ERROR_CONTAINS(batch_norm(f32({4, 3}), Tensor(), Tensor(), Tensor(), Tensor(), false), ErrorKind::Value,
                        "required in eval mode");
  EXPECT_ERROR_CONTAINS(batch_norm(f32({4, 3}), Tensor(), Tensor(), Tensor(), ops::full({3}, 0.0, DType::F64)),
                        ErrorKind::DType, "bias must have the input's dtype");
}

TEST(NormRunningStats, ConvertedAndStridedBuffersAreUpdatedInPlace) {
  // x: channel 0 holds {0, 2}, channel 1 holds {1, 5}: means 1 and 3, unbiased variances 2 and 8.
  Tensor x = Tensor::from_vector<float>({0, 1, 2, 5}, {2, 2});
  // f64 running mean for an f32 input (converted for the kernel, copied back), and a strided running
  // variance (every other element of a [4] buffer).
  Tensor rm = ops::zeros({2}, DType::F64);
  Tensor rv_buf = ops::ones({4}, DType::F32);
  Tensor rv = ops::slice(rv_buf, 0, 0, 4, 2);
  batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.5);
  EXPECT_EQ(rm.to_double_vector(), (std::vector<double>{0.5, 1.5}));
  EXPECT_EQ(rv_buf.to_double_vector(), (std::vector<double>{1.5, 1.0, 4.5, 1.0}));
  // Eval mode reads them and leaves them alone.
  Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), false, 0.5, 0.0);
  EXPECT_NEAR(y.to_double_vector()[0], (0 - 0.5) / std::sqrt(1.5), 1e-6);
  EXPECT_EQ(rm.to_double_vector(), (std::vector<double>{0.5, 1.5}));
}

TEST(NormGrad, EvalBatchNormGradientUsesConstantStatistics) {
  // eval: y = (x − rm)·rstd·w + b, so dx = w·rstd exactly, dw = Σ x̂, db = count.
  Tensor x = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2}).set_requires_grad(true);
  Tensor rm = Tensor::from_vector<double>({1, 2}, {2}), rv = Tensor::from_vector<double>({4, 16}, {2});
  Tensor w = Tensor::from_vector<double>({2, 3}, {2}).set_requires_grad(true);
  Tensor b = Tensor::from_vector<double>({0, 0}, {2}).set_requires_grad(true);
  sum(batch_norm(x, rm, rv, w, b, false, 0.1, 0.0)).backward();
  auto dx = x.grad().to_double_vector();
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(dx[i], i % 2 == 0 ? 2.0 / 2.0 : 3.0 / 4.0);
  EXPECT_DOUBLE_EQ(w.grad().to_double_vector()[0], (0.0 + 2.0 + 4.0) / 2.0);
  EXPECT_EQ(b.grad().to_double_vector(), (std::vector<double>{3, 3}));
}

TEST(NormGrad, LayerNormBackwardMatchesDoubleReferenceOnALargeF32Input) {
  // [1100, 40]: the CPU kernel's SIMD lanes, its 256-row blocks and several row chunks all take part.
  const int64_t R = 1100, D = 40;
  Tensor x = ops::randn({R, D}), dy = ops::randn({R, D}), w = ops::randn({D}), b = ops::randn({D});
  ops::NormOutput f = ops::layer_norm(x, {D}, w, b);
  ops::NormGrads g = ops::layer_norm_backward(dy, x, {D}, f.mean, f.rstd, w, {true, true, true});
  auto X = x.to_double_vector(), DY = dy.to_double_vector(), W = w.to_double_vector();
  auto DX = g.dx.to_double_vector(), DW = g.dweight.to_double_vector(), DB = g.dbias.to_double_vector();
  std::vector<double> dw(D, 0.0), db(D, 0.0);
  for (int64_t r = 0; r < R; ++r) {
    double mu = 0, var = 0;
    for (int64_t j = 0; j < D; ++j) mu += X[r * D + j] / D;
    for (int64_t j = 0; j < D; ++j) var += (X[r * D + j] - mu) * (X[r * D + j] - mu) / D;
    const double rs = 1 / std::sqrt(var + 1e-5);
    double mg = 0, mgx = 0;
    for (int64_t j = 0; j < D; ++j) {
      const double xh = (X[r * D + j] - mu) * rs, gj = DY[r * D + j] * W[j];
      mg += gj / D;
      mgx += gj * xh / D;
      dw[j] += DY[r * D + j] * xh;
      db[j] += DY[r * D + j];
    }
    for (int64_t j = 0; j < D; ++j) {
      const double xh = (X[r * D + j] - mu) * rs;
      ASSERT_NEAR(DX[r * D + j], rs * (DY[r * D + j] * W[j] - mg - xh * mgx), 1e-4) << r << "," << j;
    }
  }
  for (int64_t j = 0; j < D; ++j) {
    EXPECT_NEAR(DW[j], dw[j], 1e-3 + 1e-5 * std::fabs(dw[j])) << j;
    EXPECT_NEAR(DB[j], db[j], 1e-3 + 1e-5 * std::fabs(db[j])) << j;
  }
}

TEST(NormEmpty, ZeroRowsGiveEmptyOutputsAndZeroParameterGradients) {
  Tensor x = f32({0, 4}).set_requires_grad(true);
  Tensor w = f32({4}).set_requires_grad(true), b = f32({4}).set_requires_grad(true);
  Tensor y = layer_norm(x, {4}, w, b);
  ASSERT_EQ(y.shape(), (Shape{0, 4}));
  sum(y).backward();
  EXPECT_EQ(x.grad().shape(), (Shape{0, 4}));
  for (double v : w.grad().to_double_vector()) EXPECT_EQ(v, 0.0);
  for (double v : b.grad().to_double_vector()) EXPECT_EQ(v, 0.0);
  // batch_norm in eval mode with an empty batch.
  Tensor e = batch_norm(f32({0, 3, 2}), ops::zeros({3}), ops::ones({3}), Tensor(), Tensor(), false);
  EXPECT_EQ(e.shape(), (Shape{0, 3, 2}));
}

TEST(NormHalf, F16InputIsNormalisedInF32) {
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4}, {1, 4});
  Tensor y = layer_norm(ops::to_dtype(x, DType::F16), {4}, Tensor(), Tensor(), 0.0);
  EXPECT_EQ(y.dtype(), DType::F16);
  auto v = y.to_double_vector();
  EXPECT_NEAR(v[0], -1.5 / std::sqrt(1.25), 2e-3);
  EXPECT_NEAR(v[3], 1.5 / std::sqrt(1.25), 2e-3);
}

}  // namespace
}  // namespace mm
