// The optimizer-update ops (adamw_step, sgd_step): argument errors name the op, the argument and the
// problem, and leave every tensor untouched; values are covered by the forward cases
// (tests/common/forward/optim.cpp).
#include <gtest/gtest.h>

#include "ops/copy.h"
#include "ops/optim.h"
#include "ops/shape.h"
#include "tests/common/expect_error.h"

namespace mm {
namespace {

struct State {
  Tensor p = ops::full({2, 3}, 1.0), g = ops::full({2, 3}, 0.5), m = ops::zeros({2, 3}), v = ops::zeros({2, 3});
};

TEST(AdamWStep, ArgumentErrorsNameTheArgument) {
  State s;
  Tensor wrong_shape = ops::zeros({3, 2});
  EXPECT_ERROR_CONTAINS(ops::adamw_step(s.p, wrong_shape, s.m, s.v, {}), ErrorKind::Shape, "adamw_step", "grad",
                        "[3,2]", "[2,3]");
  Tensor wrong_dtype = ops::zeros({2, 3}, DType::F64);
  EXPECT_ERROR_CONTAINS(ops::adamw_step(s.p, s.g, wrong_dtype, s.v, {}), ErrorKind::DType, "adamw_step", "exp_avg",
                        "f64");
  Tensor strided = ops::transpose(ops::zeros({3, 2}), 0, 1);
  EXPECT_ERROR_CONTAINS(ops::adamw_step(s.p, s.g, s.m, strided, {}), ErrorKind::Value, "adamw_step", "exp_avg_sq",
                        "contiguous");
  Tensor i64 = ops::zeros({2, 3}, DType::I64);
  Tensor i64b = ops::zeros({2, 3}, DType::I64), i64c = ops::zeros({2, 3}, DType::I64), i64d = ops::zeros({2, 3}, DType::I64);
  EXPECT_ERROR_CONTAINS(ops::adamw_step(i64, i64b, i64c, i64d, {}), ErrorKind::DType, "adamw_step", "f32 or f64");
  Tensor undefined;
  EXPECT_ERROR_CONTAINS(ops::adamw_step(s.p, undefined, s.m, s.v, {}), ErrorKind::Value, "adamw_step", "grad",
                        "undefined");
}

TEST(AdamWStep, HyperParameterErrorsAndNothingWritten) {
  State s;
  auto with = [](auto f) {
    AdamWHyper h;
    f(h);
    return h;
  };
  EXPECT_ERROR_CONTAINS(ops::adamw_step(s.p, s.g, s.m, s.v, with([](AdamWHyper& h) { h.step = 0; })),
                        ErrorKind::Value, "adamw_step", "step counts from 1");
  EXPECT_ERROR_CONTAINS(ops::adamw_step(s.p, s.g, s.m, s.v, with([](AdamWHyper& h) { h.beta1 = 1.0; })),
                        ErrorKind::Value, "beta1", "[0, 1)");
  EXPECT_ERROR_CONTAINS(ops::adamw_step(s.p, s.g, s.m, s.v, with([](AdamWHyper& h) { h.beta2 = -0.1; })),
                        ErrorKind::Value, "beta2");
  EXPECT_ERROR_CONTAINS(ops::adamw_step(s.p, s.g, s.m, s.v, with([](AdamWHyper& h) { h.eps = 0; })),
                        ErrorKind::Value, "eps");
  EXPECT_ERROR_CONTAINS(ops::adamw_step(s.p, s.g, s.m, s.v, with([](AdamWHyper& h) { h.lr = -1; })),
                        ErrorKind::Value, "lr");
  EXPECT_ERROR_CONTAINS(ops::adamw_step(s.p, s.g, s.m, s.v, with([](AdamWHyper& h) { h.weight_decay = -1; })),
                        ErrorKind::Value, "weight_decay");
  for (double x : s.p.to_double_vector()) EXPECT_EQ(x, 1.0);
  for (double x : s.m.to_double_vector()) EXPECT_EQ(x, 0.0);
}

// A zero gradient with no weight decay leaves the parameter where it is (m = v = 0 → update 0/eps).
TEST(AdamWStep, ZeroGradientNoDecayIsANoOp) {
  State s;
  Tensor g = ops::zeros({2, 3});
  AdamWHyper h;
  h.weight_decay = 0;
  ops::adamw_step(s.p, g, s.m, s.v, h);
  for (double x : s.p.to_double_vector()) EXPECT_EQ(x, 1.0);
}

TEST(SgdStep, ArgumentErrorsNameTheArgumentAndNothingWritten) {
  State s;
  Tensor undefined;
  auto sgd = [](double momentum, bool nesterov) {
    SgdHyper h;
    h.momentum = momentum;
    h.nesterov = nesterov;
    return h;
  };
  EXPECT_ERROR_CONTAINS(ops::sgd_step(s.p, s.g, undefined, sgd(0.9, false)), ErrorKind::Value, "sgd_step",
                        "momentum_buffer", "undefined");
  Tensor wrong_shape = ops::zeros({3, 2});
  EXPECT_ERROR_CONTAINS(ops::sgd_step(s.p, wrong_shape, s.m, sgd(0.9, false)), ErrorKind::Shape, "sgd_step", "grad");
  EXPECT_ERROR_CONTAINS(ops::sgd_step(s.p, s.g, s.m, sgd(0.0, true)), ErrorKind::Value, "nesterov", "momentum > 0");
  EXPECT_ERROR_CONTAINS(ops::sgd_step(s.p, s.g, s.m, sgd(1.0, false)), ErrorKind::Value, "momentum", "[0, 1)");
  SgdHyper h;
  h.step = 0;
  EXPECT_ERROR_CONTAINS(ops::sgd_step(s.p, s.g, s.m, h), ErrorKind::Value, "sgd_step", "step counts from 1");
  for (double x : s.p.to_double_vector()) EXPECT_EQ(x, 1.0);
  // Without momentum the buffer may be undefined: θ ← θ − lr·g.
  h = sgd(0.0, false);
  h.lr = 0.5;
  ops::sgd_step(s.p, s.g, undefined, h);
  for (double x : s.p.to_double_vector()) EXPECT_EQ(x, 0.75);
}

}  // namespace
}  // namespace mm
