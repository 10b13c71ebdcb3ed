// Pooling rejects bad arguments with typed errors naming the rule broken; edge cases (empty batch,
// all-padding windows, NaN) behave like PyTorch.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "tests/common/expect_error.h"

namespace mm {
namespace {

Tensor f32(const Shape& s) { return ops::full(s, 0.5, DType::F32); }

TEST(PoolErrors, ShapesAndParams) {
  EXPECT_ERROR_CONTAINS(max_pool2d(f32({4, 4}), {2, 2}), ErrorKind::Shape, "3-d [C,H,W] or 4-d");
  EXPECT_ERROR_CONTAINS(avg_pool2d(f32({1, 0, 4, 4}), {2, 2}), ErrorKind::Shape, "empty C, H or W");
  EXPECT_ERROR_CONTAINS(max_pool2d(f32({1, 1, 4, 4}), {0, 2}), ErrorKind::Value, "kernel size must be >= 1");
  EXPECT_ERROR_CONTAINS(max_pool2d(f32({1, 1, 4, 4}), {2, 2}, {-1, 1}), ErrorKind::Value, "stride must be >= 1");
  EXPECT_ERROR_CONTAINS(avg_pool2d(f32({1, 1, 4, 4}), {2, 2}, {1, 1}, {2, 0}), ErrorKind::Value,
                        "at most half the kernel size");
  EXPECT_ERROR_CONTAINS(max_pool2d(f32({1, 1, 4, 4}), {2, 2}, {1, 1}, {0, 0}, {0, 1}), ErrorKind::Value,
                        "dilation must be >= 1");
  EXPECT_ERROR_CONTAINS(max_pool2d(f32({1, 1, 2, 2}), {3, 3}), ErrorKind::Shape, "is too small");
  EXPECT_ERROR_CONTAINS(adaptive_avg_pool2d(f32({1, 1, 4, 4}), {-1, 2}), ErrorKind::Value, "output_size must be >= 0");
  EXPECT_ERROR_CONTAINS(max_pool2d(ops::full({1, 1, 4, 4}, 1.0, DType::I64), {2, 2}), ErrorKind::DType, "floating");
}

TEST(PoolErrors, BackwardChecksIndicesAndShapes) {
  Tensor g = f32({1, 1, 2, 2});
  Tensor bad = Tensor::from_vector<int64_t>({0, 1, 16, 2}, {1, 1, 2, 2});
  EXPECT_ERROR_CONTAINS(ops::max_pool2d_backward(g, bad, {1, 1, 4, 4}, {2, 2}, {0, 0}, {0, 0}, {1, 1}, false),
                        ErrorKind::Index, "outside the input plane");
  EXPECT_ERROR_CONTAINS(ops::avg_pool2d_backward(f32({1, 1, 3, 2}), {1, 1, 4, 4}, {2, 2}, {0, 0}, {0, 0}, false, true),
                        ErrorKind::Shape, "grad_out must have the output shape [1,1,2,2]");
}

TEST(PoolEdges, EmptyBatchAllPaddingAndNaN) {
  EXPECT_EQ(max_pool2d(f32({0, 3, 4, 4}), {2, 2}).shape(), (Shape{0, 3, 2, 2}));
  EXPECT_EQ(avg_pool2d(f32({0, 3, 4, 4}), {2, 2}).shape(), (Shape{0, 3, 2, 2}));
  EXPECT_EQ(adaptive_avg_pool2d(f32({2, 3, 4, 4}), {0, 3}).shape(), (Shape{2, 3, 0, 3}));
  // Dilated taps that all land in the padding: -inf with index -1, and no gradient.
  Tensor x = ops::full({1, 1, 1, 1}, 2.0, DType::F64).set_requires_grad(true);
  auto [v, i] = max_pool2d_with_indices(x, {2, 2}, {1, 1}, {1, 1}, {2, 2});
  EXPECT_TRUE(std::isinf(v.item()) && v.item() < 0);
  EXPECT_EQ(i.item(), -1.0);
  sum(v).backward();
  EXPECT_EQ(x.grad().item(), 0.0);
  // NaN propagates through max pooling.
  Tensor n = Tensor::from_vector<float>({1.f, NAN, 3.f, 2.f}, {1, 1, 2, 2});
  EXPECT_TRUE(std::isnan(max_pool2d(n, {2, 2}).item()));
}

}  // namespace
}  // namespace mm
