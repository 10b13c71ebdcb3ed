// matmul, bmm, linear and addmm reject bad arguments with typed errors naming the rule broken, and
// handle empty tensors and half types without crashing.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "tests/common/expect_error.h"

namespace mm {
namespace {

Tensor f32(const Shape& s, double v = 0.5) { return ops::full(s, v, DType::F32); }

TEST(LinalgErrors, Matmul) {
  EXPECT_ERROR_CONTAINS(matmul(f32({4, 3}), f32({5, 2})), ErrorKind::Shape,
                        "matmul: inner dimensions differ: [4,3] @ [5,2]");
  EXPECT_ERROR_CONTAINS(matmul(f32({3}), f32({4})), ErrorKind::Shape, "inner dimensions differ: [3] @ [4]");
  EXPECT_ERROR_CONTAINS(matmul(f32({2, 3, 4}), f32({3, 5})), ErrorKind::Shape,
                        "inner dimensions differ: [2,3,4] @ [3,5]");
  EXPECT_ERROR_CONTAINS(matmul(f32({}), f32({3})), ErrorKind::Shape, "at least one dimension");
  EXPECT_ERROR_CONTAINS(matmul(f32({2, 3, 4}), f32({3, 4, 5})), ErrorKind::Shape,
                        "batch dimensions cannot be broadcast");
  EXPECT_ERROR_CONTAINS(matmul(f32({2, 3}), ops::full({3, 2}, 1.0, DType::F64)), ErrorKind::DType,
                        "same dtype, got f32 and f64");
  EXPECT_ERROR_CONTAINS(matmul(ops::full({2, 3}, 1.0, DType::I64), ops::full({3, 2}, 1.0, DType::I64)),
                        ErrorKind::DType, "floating");
  EXPECT_ERROR_CONTAINS(matmul(Tensor(), f32({3})), ErrorKind::Value, "undefined");
}

TEST(LinalgErrors, BmmLinearAddmm) {
  EXPECT_ERROR_CONTAINS(bmm(f32({3, 4}), f32({4, 2})), ErrorKind::Shape, "expected 3-D tensors");
  EXPECT_ERROR_CONTAINS(bmm(f32({2, 3, 4}), f32({3, 4, 2})), ErrorKind::Shape, "batch sizes differ");
  EXPECT_ERROR_CONTAINS(bmm(f32({2, 3, 4}), f32({2, 5, 2})), ErrorKind::Shape,
                        "inner dimensions differ: [2,3,4] @ [2,5,2]");
  EXPECT_ERROR_CONTAINS(linear(f32({2, 3}), f32({4, 5})), ErrorKind::Shape, "input features differ");
  EXPECT_ERROR_CONTAINS(linear(f32({2, 3}), f32({3})), ErrorKind::Shape, "weight must be 2-D");
  EXPECT_ERROR_CONTAINS(linear(f32({2, 3}), f32({4, 3}), f32({5})), ErrorKind::Shape, "bias must be [4]");
  EXPECT_ERROR_CONTAINS(linear(f32({2, 3}), f32({4, 3}), ops::full({4}, 1.0, DType::F64)), ErrorKind::DType,
                        "bias must have the operands' dtype f32");
  EXPECT_ERROR_CONTAINS(addmm(f32({3}), f32({2, 3}), f32({3, 4})), ErrorKind::Shape, "bias [3] cannot be broadcast");
  EXPECT_ERROR_CONTAINS(addmm(f32({4}), f32({2, 2, 3}), f32({3, 4})), ErrorKind::Shape, "expected 2-D matrices");
}

TEST(LinalgEmpty, ZeroSizedProductsAndGradients) {
  // K = 0: an empty sum, so zeros (and beta·bias for addmm).
  Tensor z = matmul(f32({3, 0}), f32({0, 4}));
  ASSERT_EQ(z.shape(), (Shape{3, 4}));
  for (double v : z.to_double_vector()) EXPECT_EQ(v, 0.0);
  Tensor y = addmm(f32({4}, 2.0), f32({3, 0}), f32({0, 4}), 0.5);
  for (double v : y.to_double_vector()) EXPECT_EQ(v, 1.0);
  // Zero rows, with gradients flowing back.
  Tensor x = f32({0, 3}).set_requires_grad(true);
  Tensor w = f32({4, 3}).set_requires_grad(true);
  Tensor b = f32({4}).set_requires_grad(true);
  Tensor out = linear(x, w, b);
  ASSERT_EQ(out.shape(), (Shape{0, 4}));
  sum(out).backward();
  EXPECT_EQ(x.grad().shape(), (Shape{0, 3}));
  for (double v : w.grad().to_double_vector()) EXPECT_EQ(v, 0.0);
  for (double v : b.grad().to_double_vector()) EXPECT_EQ(v, 0.0);
}

TEST(LinalgHalf, F16OnCpuComputesInF32) {
  Tensor a = ops::full({2, 3}, 0.5, DType::F16), b = ops::full({3, 2}, 2.0, DType::F16);
  Tensor y = matmul(a, b);
  EXPECT_EQ(y.dtype(), DType::F16);
  for (double v : y.to_double_vector()) EXPECT_EQ(v, 3.0);
}

TEST(LinalgGrad, BroadcastOperandGradientIsSummed) {
  // b [K, N] shared by a batch of 3: its gradient is the sum over the batch (folded into one GEMM).
  Tensor a = ops::full({3, 2, 4}, 1.0, DType::F64).set_requires_grad(true);
  Tensor b = ops::full({4, 5}, 1.0, DType::F64).set_requires_grad(true);
  sum(matmul(a, b)).backward();
  ASSERT_EQ(b.grad().shape(), (Shape{4, 5}));
  for (double v : b.grad().to_double_vector()) EXPECT_EQ(v, 6.0);  // 3 batches · 2 rows
  for (double v : a.grad().to_double_vector()) EXPECT_EQ(v, 5.0);
}

}  // namespace
}  // namespace mm
