// Misuse of the shape ops gives a typed mm::Error naming the op and the broken rule — never a crash.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "tests/common/expect_error.h"

namespace mm {
namespace {

Tensor t(const Shape& s) { return ops::zeros(s, DType::F32); }

TEST(ShapeErrors, ReshapeAndView) {
  EXPECT_ERROR_CONTAINS(reshape(t({2, 3}), {-1, -1}), ErrorKind::Shape, "reshape", "only one dimension can be -1");
  EXPECT_ERROR_CONTAINS(reshape(t({2, 3}), {4, 2}), ErrorKind::Shape,
                        "reshape", "[4,2]", "invalid for input of size 6");
  EXPECT_ERROR_CONTAINS(reshape(t({2, 3}), {4, -1}), ErrorKind::Shape, "reshape", "invalid for input of size 6");
  EXPECT_ERROR_CONTAINS(reshape(t({2, 3}), {-2, 3}), ErrorKind::Shape, "reshape", "invalid dimension -2");
  // A transposed tensor cannot be viewed flat without copying (reshape would copy).
  EXPECT_ERROR_CONTAINS(view(transpose(t({2, 3}), 0, 1), {6}), ErrorKind::Shape, "view", "without copying");
  EXPECT_NO_THROW(reshape(transpose(t({2, 3}), 0, 1), {6}));
}

TEST(ShapeErrors, BadDims) {
  EXPECT_ERROR_CONTAINS(transpose(t({2, 3}), 0, 2), ErrorKind::Index, "transpose");
  EXPECT_ERROR_CONTAINS(permute(t({2, 3}), {0}), ErrorKind::Shape, "permute", "rank 2");
  EXPECT_ERROR_CONTAINS(permute(t({2, 3}), {1, 1}), ErrorKind::Index, "permute", "repeated");
  EXPECT_ERROR_CONTAINS(squeeze(t({2, 1}), 2), ErrorKind::Index, "squeeze");
  EXPECT_ERROR_CONTAINS(unsqueeze(t({2, 1}), 3), ErrorKind::Index, "unsqueeze");
  EXPECT_ERROR_CONTAINS(unsqueeze(t({2, 1}), -4), ErrorKind::Index, "unsqueeze");
  EXPECT_ERROR_CONTAINS(flatten(t({2, 3, 4}), 2, 1), ErrorKind::Index, "flatten", "start_dim");
  EXPECT_ERROR_CONTAINS(diagonal(t({3}), 0), ErrorKind::Shape, "diagonal", "at least 2 dimensions");
  EXPECT_ERROR_CONTAINS(diagonal(t({3, 3}), 0, 1, -1), ErrorKind::Index, "diagonal", "must differ");
  EXPECT_ERROR_CONTAINS(slice(t({3, 3}), 2, 0, 1), ErrorKind::Index, "slice");
  EXPECT_ERROR_CONTAINS(slice(t({3, 3}), 0, 0, 3, 0), ErrorKind::Value, "slice", "step must be positive");
  EXPECT_ERROR_CONTAINS(slice(t({}), 0, 0, 1), ErrorKind::Shape, "slice", "0-d");
}

TEST(ShapeErrors, SelectOutOfRange) {
  EXPECT_ERROR_CONTAINS(select(t({3, 4}), 1, 4), ErrorKind::Index, "select", "index 4", "size 4");
  EXPECT_ERROR_CONTAINS(select(t({3, 4}), 0, -4), ErrorKind::Index, "select", "index -4");
  EXPECT_ERROR_CONTAINS(narrow(t({3, 4}), 1, 2, 3), ErrorKind::Index, "narrow", "out of bounds");
  EXPECT_ERROR_CONTAINS(narrow(t({}), 0, 0, 1), ErrorKind::Shape, "narrow", "0-d");
}

TEST(ShapeErrors, Expand) {
  EXPECT_ERROR_CONTAINS(expand(t({2, 3}), {3}), ErrorKind::Shape, "expand", "fewer dimensions");
  EXPECT_ERROR_CONTAINS(expand(t({2, 3}), {4, 3}), ErrorKind::Shape, "expand", "[2,3]", "[4,3]");
  EXPECT_ERROR_CONTAINS(expand(t({3}), {-1, 3}), ErrorKind::Shape, "expand", "-1");
  EXPECT_ERROR_CONTAINS(expand(t({1}), {-2}), ErrorKind::Shape, "expand", "invalid size -2");
  EXPECT_ERROR_CONTAINS(transpose(t({}), 0, 1), ErrorKind::Index, "transpose");  // 0-d: only 0 / -1
  EXPECT_ERROR_CONTAINS(squeeze(t({}), 1), ErrorKind::Index, "squeeze");
}

TEST(ShapeErrors, Cat) {
  EXPECT_ERROR_CONTAINS(cat({}, 0), ErrorKind::Value, "cat", "non-empty");
  EXPECT_ERROR_CONTAINS(cat({t({2, 3}), t({2, 4})}, 0), ErrorKind::Shape,
                        "cat", "[2,3]", "[2,4]", "except in dimension 0");
  EXPECT_ERROR_CONTAINS(cat({t({2, 3}), t({3})}, 0), ErrorKind::Shape, "cat", "same rank");
  EXPECT_ERROR_CONTAINS(cat({t({2, 3}), t({2, 3})}, 2), ErrorKind::Index, "cat");
  EXPECT_ERROR_CONTAINS(cat({t({}), t({})}, 0), ErrorKind::Shape, "cat", "zero-dimensional");
  EXPECT_ERROR_CONTAINS(cat({t({2}), Tensor()}, 0), ErrorKind::Value, "cat", "undefined");
  // A tensor on another device (a CPU tensor cannot claim to be CUDA without CUDA, so this only runs
  // where a device exists).
  if (device_backend_available(DeviceKind::CUDA)) {
    EXPECT_ERROR_CONTAINS(cat({t({2}), ops::zeros({2}, DType::F32, cuda_device(0))}, 0), ErrorKind::Device,
                          "cat", "one device", "cuda:0");
  }
}

TEST(ShapeErrors, Stack) {
  EXPECT_ERROR_CONTAINS(stack({}, 0), ErrorKind::Value, "stack", "non-empty");
  EXPECT_ERROR_CONTAINS(stack({t({2, 3}), t({3, 2})}, 0), ErrorKind::Shape, "stack", "same shape", "[3,2]");
  EXPECT_ERROR_CONTAINS(stack({t({2, 3}), t({2, 3})}, 3), ErrorKind::Index, "stack");
}

TEST(ShapeErrors, SplitAndChunk) {
  EXPECT_ERROR_CONTAINS(split(t({4, 2}), 0, 0), ErrorKind::Value, "split", "split_size");
  EXPECT_ERROR_CONTAINS(split(t({4, 2}), -1, 0), ErrorKind::Value, "split", "split_size");
  EXPECT_ERROR_CONTAINS(split(t({4, 2}), std::vector<int64_t>{1, 2}, 0), ErrorKind::Shape,
                        "split", "sum to 3", "size 4");
  EXPECT_ERROR_CONTAINS(split(t({4, 2}), std::vector<int64_t>{5, -1}, 0), ErrorKind::Value, "split", "non-negative");
  EXPECT_ERROR_CONTAINS(split(t({4, 2}), 2, 2), ErrorKind::Index, "split");
  EXPECT_ERROR_CONTAINS(split(t({}), 1, 0), ErrorKind::Shape, "split", "0-d");
  EXPECT_ERROR_CONTAINS(chunk(t({4, 2}), 0), ErrorKind::Value, "chunk", "positive");
  EXPECT_EQ(split(t({0, 2}), 0, 0).size(), 1u);  // torch.split of an empty dim: one empty piece
}

TEST(ShapeErrors, PadAndRepeat) {
  EXPECT_ERROR_CONTAINS(pad(t({2, 3}), {1}), ErrorKind::Shape, "pad", "even number");
  EXPECT_ERROR_CONTAINS(pad(t({2, 3}), {1, 1, 1, 1, 1, 1}), ErrorKind::Shape, "pad", "at most 2 per dimension");
  EXPECT_ERROR_CONTAINS(pad(t({2, 3}), {-2, -2}), ErrorKind::Shape, "pad", "negative size -1");
  EXPECT_ERROR_CONTAINS(repeat(t({2, 3}), {2}), ErrorKind::Shape, "repeat", "rank 2");
  EXPECT_ERROR_CONTAINS(repeat(t({2, 3}), {2, -1}), ErrorKind::Value, "repeat", "non-negative");
}

}  // namespace
}  // namespace mm
