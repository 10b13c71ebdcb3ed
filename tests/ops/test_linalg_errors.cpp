// matmul, bmm, linear and addmm reject bad arguments with typed errors naming the rule broken, and
// handle empty tensors and half types without crashing.
#include <gtest/gtest.h>

#include "autograd/functions.h"

namespace mm {
namespace {

// Runs f, expects an mm::Error of `kind` whose message contains `needle`.
template <typename F>
void expect_error(F&& f, ErrorKind kind, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error thrown; expected one containing \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

Tensor f32(const Shape& s, double v = 0.5) { return ops::full(s, v, DType::F32); }

TEST(LinalgErrors, Matmul) {
  expect_error([] { matmul(f32({4, 3}), f32({5, 2})); }, ErrorKind::Shape, "matmul: inner dimensions differ: [4,3] @ [5,2]");
  expect_error([] { matmul(f32({3}), f32({4})); }, ErrorKind::Shape, "inner dimensions differ: [3] @ [4]");
  expect_error([] { matmul(f32({2, 3, 4}), f32({3, 5})); }, ErrorKind::Shape, "inner dimensions differ: [2,3,4] @ [3,5]");
  expect_error([] { matmul(f32({}), f32({3})); }, ErrorKind::Shape, "at least one dimension");
  expect_error([] { matmul(f32({2, 3, 4}), f32({3, 4, 5})); }, ErrorKind::Shape, "batch dimensions cannot be broadcast");
  expect_error([] { matmul(f32({2, 3}), ops::full({3, 2}, 1.0, DType::F64)); }, ErrorKind::DType,
               "same dtype, got f32 and f64");
  expect_error([] { matmul(ops::full({2, 3}, 1.0, DType::I64), ops::full({3, 2}, 1.0, DType::I64)); }, ErrorKind::DType,
               "floating");
  expect_error([] { matmul(Tensor(), f32({3})); }, ErrorKind::Value, "undefined");
}

TEST(LinalgErrors, BmmLinearAddmm) {
  expect_error([] { bmm(f32({3, 4}), f32({4, 2})); }, ErrorKind::Shape, "expected 3-D tensors");
  expect_error([] { bmm(f32({2, 3, 4}), f32({3, 4, 2})); }, ErrorKind::Shape, "batch sizes differ");
  expect_error([] { bmm(f32({2, 3, 4}), f32({2, 5, 2})); }, ErrorKind::Shape, "inner dimensions differ: [2,3,4] @ [2,5,2]");
  expect_error([] { linear(f32({2, 3}), f32({4, 5})); }, ErrorKind::Shape, "input features differ");
  expect_error([] { linear(f32({2, 3}), f32({3})); }, ErrorKind::Shape, "weight must be 2-D");
  expect_error([] { linear(f32({2, 3}), f32({4, 3}), f32({5})); }, ErrorKind::Shape, "bias must be [4]");
  expect_error([] { linear(f32({2, 3}), f32({4, 3}), ops::full({4}, 1.0, DType::F64)); }, ErrorKind::DType,
               "bias must have the operands' dtype f32");
  expect_error([] { addmm(f32({3}), f32({2, 3}), f32({3, 4})); }, ErrorKind::Shape, "bias [3] cannot be broadcast");
  expect_error([] { addmm(f32({4}), f32({2, 2, 3}), f32({3, 4})); }, ErrorKind::Shape, "expected 2-D matrices");
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
