// Misuse of the shape ops gives a typed mm::Error naming the op and the broken rule — never a crash.
#include <gtest/gtest.h>

#include "autograd/functions.h"

namespace mm {
namespace {

// Runs f, expects an mm::Error of `kind` whose message contains every one of `parts`.
template <typename F>
void expect_error(F&& f, ErrorKind kind, std::initializer_list<const char*> parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown (expected one containing '" << *parts.begin() << "')";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    std::string msg = e.what();
    for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

Tensor t(const Shape& s) { return ops::zeros(s, DType::F32); }

TEST(ShapeErrors, ReshapeAndView) {
  expect_error([] { reshape(t({2, 3}), {-1, -1}); }, ErrorKind::Shape, {"reshape", "only one dimension can be -1"});
  expect_error([] { reshape(t({2, 3}), {4, 2}); }, ErrorKind::Shape, {"reshape", "[4,2]", "invalid for input of size 6"});
  expect_error([] { reshape(t({2, 3}), {4, -1}); }, ErrorKind::Shape, {"reshape", "invalid for input of size 6"});
  expect_error([] { reshape(t({2, 3}), {-2, 3}); }, ErrorKind::Shape, {"reshape", "invalid dimension -2"});
  // A transposed tensor cannot be viewed flat without copying (reshape would copy).
  expect_error([] { view(transpose(t({2, 3}), 0, 1), {6}); }, ErrorKind::Shape, {"view", "without copying"});
  EXPECT_NO_THROW(reshape(transpose(t({2, 3}), 0, 1), {6}));
}

TEST(ShapeErrors, BadDims) {
  expect_error([] { transpose(t({2, 3}), 0, 2); }, ErrorKind::Index, {"transpose"});
  expect_error([] { permute(t({2, 3}), {0}); }, ErrorKind::Shape, {"permute", "rank 2"});
  expect_error([] { permute(t({2, 3}), {1, 1}); }, ErrorKind::Index, {"permute", "repeated"});
  expect_error([] { squeeze(t({2, 1}), 2); }, ErrorKind::Index, {"squeeze"});
  expect_error([] { unsqueeze(t({2, 1}), 3); }, ErrorKind::Index, {"unsqueeze"});
  expect_error([] { unsqueeze(t({2, 1}), -4); }, ErrorKind::Index, {"unsqueeze"});
  expect_error([] { flatten(t({2, 3, 4}), 2, 1); }, ErrorKind::Index, {"flatten", "start_dim"});
  expect_error([] { diagonal(t({3}), 0); }, ErrorKind::Shape, {"diagonal", "at least 2 dimensions"});
  expect_error([] { diagonal(t({3, 3}), 0, 1, -1); }, ErrorKind::Index, {"diagonal", "must differ"});
  expect_error([] { slice(t({3, 3}), 2, 0, 1); }, ErrorKind::Index, {"slice"});
  expect_error([] { slice(t({3, 3}), 0, 0, 3, 0); }, ErrorKind::Value, {"slice", "step must be positive"});
  expect_error([] { slice(t({}), 0, 0, 1); }, ErrorKind::Shape, {"slice", "0-d"});
}

TEST(ShapeErrors, SelectOutOfRange) {
  expect_error([] { select(t({3, 4}), 1, 4); }, ErrorKind::Index, {"select", "index 4", "size 4"});
  expect_error([] { select(t({3, 4}), 0, -4); }, ErrorKind::Index, {"select", "index -4"});
  expect_error([] { narrow(t({3, 4}), 1, 2, 3); }, ErrorKind::Index, {"narrow", "out of bounds"});
  expect_error([] { narrow(t({}), 0, 0, 1); }, ErrorKind::Shape, {"narrow", "0-d"});
}

TEST(ShapeErrors, Expand) {
  expect_error([] { expand(t({2, 3}), {3}); }, ErrorKind::Shape, {"expand", "fewer dimensions"});
  expect_error([] { expand(t({2, 3}), {4, 3}); }, ErrorKind::Shape, {"expand", "[2,3]", "[4,3]"});
  expect_error([] { expand(t({3}), {-1, 3}); }, ErrorKind::Shape, {"expand", "-1"});
  expect_error([] { expand(t({1}), {-2}); }, ErrorKind::Shape, {"expand", "invalid size -2"});
  expect_error([] { transpose(t({}), 0, 1); }, ErrorKind::Index, {"transpose"});  // 0-d: only 0 / -1
  expect_error([] { squeeze(t({}), 1); }, ErrorKind::Index, {"squeeze"});
}

TEST(ShapeErrors, Cat) {
  expect_error([] { cat({}, 0); }, ErrorKind::Value, {"cat", "non-empty"});
  expect_error([] { cat({t({2, 3}), t({2, 4})}, 0); }, ErrorKind::Shape, {"cat", "[2,3]", "[2,4]", "except in dimension 0"});
  expect_error([] { cat({t({2, 3}), t({3})}, 0); }, ErrorKind::Shape, {"cat", "same rank"});
  expect_error([] { cat({t({2, 3}), t({2, 3})}, 2); }, ErrorKind::Index, {"cat"});
  expect_error([] { cat({t({}), t({})}, 0); }, ErrorKind::Shape, {"cat", "zero-dimensional"});
  expect_error([] { cat({t({2}), Tensor()}, 0); }, ErrorKind::Value, {"cat", "undefined"});
  // A tensor on another device (a CPU tensor cannot claim to be CUDA without CUDA, so this only runs
  // where a device exists).
  if (device_backend_available(DeviceKind::CUDA)) {
    expect_error([] { cat({t({2}), ops::zeros({2}, DType::F32, cuda_device(0))}, 0); }, ErrorKind::Device,
                 {"cat", "one device", "cuda:0"});
  }
}

TEST(ShapeErrors, Stack) {
  expect_error([] { stack({}, 0); }, ErrorKind::Value, {"stack", "non-empty"});
  expect_error([] { stack({t({2, 3}), t({3, 2})}, 0); }, ErrorKind::Shape, {"stack", "same shape", "[3,2]"});
  expect_error([] { stack({t({2, 3}), t({2, 3})}, 3); }, ErrorKind::Index, {"stack"});
}

TEST(ShapeErrors, SplitAndChunk) {
  expect_error([] { split(t({4, 2}), 0, 0); }, ErrorKind::Value, {"split", "split_size"});
  expect_error([] { split(t({4, 2}), -1, 0); }, ErrorKind::Value, {"split", "split_size"});
  expect_error([] { split(t({4, 2}), std::vector<int64_t>{1, 2}, 0); }, ErrorKind::Shape, {"split", "sum to 3", "size 4"});
  expect_error([] { split(t({4, 2}), std::vector<int64_t>{5, -1}, 0); }, ErrorKind::Value, {"split", "non-negative"});
  expect_error([] { split(t({4, 2}), 2, 2); }, ErrorKind::Index, {"split"});
  expect_error([] { split(t({}), 1, 0); }, ErrorKind::Shape, {"split", "0-d"});
  expect_error([] { chunk(t({4, 2}), 0); }, ErrorKind::Value, {"chunk", "positive"});
  EXPECT_EQ(split(t({0, 2}), 0, 0).size(), 1u);  // torch.split of an empty dim: one empty piece
}

TEST(ShapeErrors, PadAndRepeat) {
  expect_error([] { pad(t({2, 3}), {1}); }, ErrorKind::Shape, {"pad", "even number"});
  expect_error([] { pad(t({2, 3}), {1, 1, 1, 1, 1, 1}); }, ErrorKind::Shape, {"pad", "at most 2 per dimension"});
  expect_error([] { pad(t({2, 3}), {-2, -2}); }, ErrorKind::Shape, {"pad", "negative size -1"});
  expect_error([] { repeat(t({2, 3}), {2}); }, ErrorKind::Shape, {"repeat", "rank 2"});
  expect_error([] { repeat(t({2, 3}), {2, -1}); }, ErrorKind::Value, {"repeat", "non-negative"});
}

}  // namespace
}  // namespace mm
