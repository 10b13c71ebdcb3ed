// Reductions and softmax reject bad arguments with typed errors that name the op and the rule
// broken, and handle empty tensors without crashing.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "tests/common/expect_error.h"

namespace mm {
namespace {

Tensor f32(const Shape& s) { return ops::full(s, 0.5, DType::F32); }
Tensor i64(const Shape& s) { return ops::full(s, 1, DType::I64); }

TEST(ReduceErrors, BadAndRepeatedDims) {
  EXPECT_ERROR_CONTAINS(sum(f32({2, 3}), {2}), ErrorKind::Index, "dimension 2 out of range for a tensor of rank 2");
  EXPECT_ERROR_CONTAINS(amax(f32({2, 3}), {-3}), ErrorKind::Index, "amax: dimension -3 out of range");
  EXPECT_ERROR_CONTAINS(max(f32({2, 3}), 5), ErrorKind::Index, "max: dimension 5 out of range");
  EXPECT_ERROR_CONTAINS(argmin(f32({2, 3}), -3), ErrorKind::Index, "argmin: dimension -3 out of range");
  EXPECT_ERROR_CONTAINS(logsumexp(f32({2, 3}), {1, -1}), ErrorKind::Index, "dimension listed twice");
  EXPECT_ERROR_CONTAINS(var(f32({2, 3}), {0, 0}), ErrorKind::Index, "var: dimension listed twice");
  EXPECT_ERROR_CONTAINS(norm(f32({2, 3}), 2, {7}), ErrorKind::Index, "norm: dimension 7 out of range");
}

TEST(ReduceErrors, ZeroSizeDimsHaveNoExtreme) {
  EXPECT_ERROR_CONTAINS(max(f32({3, 0}), 1), ErrorKind::Shape, "max: cannot reduce over dimension 1 of size 0");
  EXPECT_ERROR_CONTAINS(argmax(f32({0, 4}), 0), ErrorKind::Shape, "argmax: cannot reduce over dimension 0 of size 0");
  EXPECT_ERROR_CONTAINS(argmin(f32({0})), ErrorKind::Shape, "the argmin of no elements is undefined");
  EXPECT_ERROR_CONTAINS(max(f32({2, 0})), ErrorKind::Shape, "max: cannot reduce");
  EXPECT_ERROR_CONTAINS(amin(f32({2, 0, 3}), {0, 1}), ErrorKind::Shape, "amin: cannot reduce over dimension 1");
  EXPECT_ERROR_CONTAINS(norm(f32({2, 0}), INFINITY, {1}), ErrorKind::Shape, "norm: the inf-norm over zero elements");
}

TEST(ReduceErrors, EmptyReductionsWithAnIdentityWork) {
  EXPECT_EQ(sum(f32({3, 0}), {1}).to_double_vector(), std::vector<double>(3, 0.0));
  EXPECT_TRUE(std::isnan(mean(f32({0})).item()));
  EXPECT_EQ(logsumexp(f32({2, 0}), {1}).to_double_vector(), std::vector<double>(2, -INFINITY));
  EXPECT_EQ(norm(f32({0, 3}), 2, {0}).to_double_vector(), std::vector<double>(3, 0.0));
  // Reducing over a non-empty dim of an empty tensor gives an empty result, not an error.
  EXPECT_EQ(max(f32({0, 4}), 1).first.shape(), (Shape{0}));
  EXPECT_EQ(argmax(f32({0, 4}), 1, true).shape(), (Shape{0, 1}));
  EXPECT_EQ(softmax(f32({0, 4}), 1).shape(), (Shape{0, 4}));
  EXPECT_EQ(softmax(f32({4, 0}), 1).shape(), (Shape{4, 0}));
}

TEST(ReduceErrors, Dtypes) {
  EXPECT_ERROR_CONTAINS(var(i64({3})), ErrorKind::DType, "var: needs a floating dtype, got i64");
  EXPECT_ERROR_CONTAINS(std(i64({3})), ErrorKind::DType, "std: needs a floating dtype");
  EXPECT_ERROR_CONTAINS(norm(i64({3})), ErrorKind::DType, "norm: needs a floating dtype");
  EXPECT_ERROR_CONTAINS(mean(i64({3})), ErrorKind::DType, "mean: needs a floating dtype");
  EXPECT_ERROR_CONTAINS(norm(f32({3}), NAN), ErrorKind::Value, "the order p is NaN");
  // Integer extremes keep their dtype; integer logsumexp computes in f32.
  EXPECT_EQ(max(i64({2, 3}), 1).first.dtype(), DType::I64);
  EXPECT_EQ(logsumexp(i64({2, 3}), {1}).dtype(), DType::F32);
}

TEST(SoftmaxErrors, ArgumentsAreChecked) {
  EXPECT_ERROR_CONTAINS(softmax(i64({2, 3}), 1), ErrorKind::DType, "softmax: needs a floating input, got i64");
  EXPECT_ERROR_CONTAINS(log_softmax(f32({2, 3}), 2), ErrorKind::Index, "log_softmax: dimension 2 out of range");
  EXPECT_ERROR_CONTAINS(ops::softmax_backward(f32({2, 3}), f32({3, 2}), 1), ErrorKind::Shape,
                        "softmax_backward: gradient [2,3] and output [3,2] must have one shape");
  EXPECT_ERROR_CONTAINS(ops::log_softmax_backward(f32({2, 3}), f32({2, 3}), -3), ErrorKind::Index,
                        "log_softmax_backward: dimension -3 out of range");
}

}  // namespace
}  // namespace mm
