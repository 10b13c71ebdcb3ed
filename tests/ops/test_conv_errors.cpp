// conv2d and pooling reject bad arguments with typed errors that name the rule broken, and handle
// empty tensors without crashing.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "tests/common/expect_error.h"

namespace mm {
namespace {

Tensor f32(const Shape& s) { return ops::full(s, 0.5, DType::F32); }

TEST(ConvErrors, RankShapeAndGroups) {
  EXPECT_ERROR_CONTAINS(conv2d(f32({3, 4}), f32({2, 3, 1, 1})), ErrorKind::Shape, "3-d [C,H,W] or 4-d");
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 3, 4, 4}), f32({2, 3, 1})), ErrorKind::Shape, "weight must be 4-d");
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 3, 4, 4}), f32({2, 2, 1, 1})), ErrorKind::Shape, "input channels per group");
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 3, 4, 4}), f32({2, 1, 1, 1}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 2),
                        ErrorKind::Shape, "not divisible by groups=2");
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 4, 4, 4}), f32({3, 2, 1, 1}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 2),
                        ErrorKind::Shape, "output channels O=3");
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 3, 4, 4}), f32({2, 3, 1, 1}), f32({3})), ErrorKind::Shape,
                        "bias must be 1-d [2]");
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 3, 4, 4}), f32({2, 3, 5, 5})), ErrorKind::Shape, "exceeds the padded input");
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 3, 4, 4}), f32({2, 3, 3, 3}), Tensor(), {1, 1}, {0, 0}, {3, 3}),
                        ErrorKind::Shape, "kernel size (dilated) 7x7");
}

TEST(ConvErrors, ParamsDtypes) {
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 3, 4, 4}), f32({2, 3, 1, 1}), Tensor(), {0, 1}), ErrorKind::Value,
                        "stride must be >= 1");
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 3, 4, 4}), f32({2, 3, 1, 1}), Tensor(), {1, 1}, {-1, 0}), ErrorKind::Value,
                        "padding must be >= 0");
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 3, 4, 4}), f32({2, 3, 1, 1}), Tensor(), {1, 1}, {0, 0}, {1, 0}),
                        ErrorKind::Value, "dilation must be >= 1");
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 3, 4, 4}), f32({2, 3, 1, 1}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 0),
                        ErrorKind::Value, "groups must be >= 1");
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 3, 4, 4}), ops::full({2, 3, 1, 1}, 1.0, DType::F64)), ErrorKind::DType,
                        "dtypes differ: f32 vs f64");
  EXPECT_ERROR_CONTAINS(conv2d(ops::full({1, 3, 4, 4}, 1.0, DType::I64), ops::full({2, 3, 1, 1}, 1.0, DType::I64)),
                        ErrorKind::DType, "floating");
  EXPECT_ERROR_CONTAINS(conv2d(f32({1, 3, 4, 4}), f32({2, 3, 1, 1}), ops::full({2}, 1.0, DType::F64)), ErrorKind::DType,
                        "bias dtype f64");
}

TEST(ConvEmpty, ZeroBatchAndZeroChannels) {
  // Batch 0: an empty output of the right shape, and empty/zero gradients.
  Tensor x = f32({0, 3, 5, 5}).set_requires_grad(true);
  Tensor w = f32({4, 3, 3, 3}).set_requires_grad(true);
  Tensor b = f32({4}).set_requires_grad(true);
  Tensor y = conv2d(x, w, b, {1, 1}, {1, 1});
  EXPECT_EQ(y.shape(), (Shape{0, 4, 5, 5}));
  sum(y).backward();
  EXPECT_EQ(w.grad().shape(), w.shape());
  for (double v : w.grad().to_double_vector()) EXPECT_EQ(v, 0.0);
  for (double v : b.grad().to_double_vector()) EXPECT_EQ(v, 0.0);
  // No output channels.
  EXPECT_EQ(conv2d(f32({2, 3, 5, 5}), f32({0, 3, 3, 3})).shape(), (Shape{2, 0, 3, 3}));
  // No input channels: the output is the bias.
  Tensor y2 = conv2d(f32({1, 0, 3, 3}), f32({2, 0, 1, 1}), ops::full({2}, 1.5, DType::F32));
  EXPECT_EQ(y2.shape(), (Shape{1, 2, 3, 3}));
  for (double v : y2.to_double_vector()) EXPECT_EQ(v, 1.5);
}

// Requesting only some gradients gives the same values as requesting all of them (the kernel skips
// the unneeded GEMMs), for the im2col, 1x1 and depthwise paths.
TEST(ConvBackward, PartialNeedsMatchFullBackward) {
  struct Case {
    Shape x, w;
    int64_t groups;
    std::array<int64_t, 2> pad;
  };
  for (const Case& k : {Case{{3, 4, 6, 5}, {6, 4, 3, 3}, 1, {1, 1}}, Case{{3, 4, 6, 5}, {6, 4, 1, 1}, 1, {0, 0}},
                        Case{{3, 4, 6, 5}, {8, 1, 3, 3}, 4, {1, 1}}}) {
    std::vector<double> xv(static_cast<size_t>(shape_numel(k.x))), wv(static_cast<size_t>(shape_numel(k.w)));
    for (size_t i = 0; i < xv.size(); ++i) xv[i] = std::sin(0.37 * static_cast<double>(i));
    for (size_t i = 0; i < wv.size(); ++i) wv[i] = std::cos(0.91 * static_cast<double>(i));
    Tensor x = Tensor::from_vector(xv, k.x), w = Tensor::from_vector(wv, k.w);
    ops::Conv2dGrads all = ops::conv2d_backward(ops::ones_like(conv2d(x, w, Tensor(), {1, 1}, k.pad, {1, 1}, k.groups)),
                                                x, w, {{1, 1}, k.pad, {1, 1}, k.groups}, {true, true, true});
    Tensor gy = ops::ones_like(conv2d(x, w, Tensor(), {1, 1}, k.pad, {1, 1}, k.groups));
    ops::Conv2dGrads only_x = ops::conv2d_backward(gy, x, w, {{1, 1}, k.pad, {1, 1}, k.groups}, {true, false, false});
    ops::Conv2dGrads only_w = ops::conv2d_backward(gy, x, w, {{1, 1}, k.pad, {1, 1}, k.groups}, {false, true, false});
    EXPECT_FALSE(only_x.weight.defined());
    EXPECT_FALSE(only_w.input.defined());
    EXPECT_EQ(only_x.input.to_double_vector(), all.input.to_double_vector());
    EXPECT_EQ(only_w.weight.to_double_vector(), all.weight.to_double_vector());
    // The bias gradient is grad_out summed over batch and pixels.
    for (double v : all.bias.to_double_vector()) EXPECT_EQ(v, static_cast<double>(gy.numel() / k.w[0]));
  }
}

TEST(ConvDeterminism, RepeatedBackwardIsBitwiseIdentical) {
  Tensor x = ops::full({6, 8, 10, 10}, 0.0, DType::F32);
  std::vector<float> xv(static_cast<size_t>(x.numel()));
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>((i * 7919 % 1000) / 1000.0 - 0.5);
  x = Tensor::from_vector(xv, x.shape());
  Tensor w = ops::full({8, 8, 3, 3}, 0.01, DType::F32);
  std::vector<double> first;
  for (int rep = 0; rep < 3; ++rep) {
    Tensor wl = w.detach().set_requires_grad(true);
    sum(mul(conv2d(x, wl, Tensor(), {1, 1}, {1, 1}), x)).backward();
    std::vector<double> g = wl.grad().to_double_vector();
    if (rep == 0) first = g;
    else EXPECT_EQ(g, first);
  }
}

}  // namespace
}  // namespace mm
