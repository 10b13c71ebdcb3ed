// Tensor metadata, views sharing storage, dtype rules, 16-bit conversions, parallel determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"
#include "runtime/parallel.h"
#include "tests/common/expect_error.h"

using namespace mm;

using mm::testing::error_message;

TEST(Tensor, ContiguousMetadata) {
  Tensor t = Tensor::empty({2, 3, 4});
  EXPECT_EQ(t.strides(), Strides({12, 4, 1}));
  EXPECT_EQ(t.numel(), 24);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u);  // 64-byte aligned CPU memory
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_THROW(t.size(3), Error);
  // An empty tensor is contiguous whatever its strides (a 0-size dim used to break the stride walk).
  EXPECT_TRUE(Tensor::empty({2, 0, 3}).is_contiguous());
  EXPECT_TRUE(transpose(Tensor::empty({2, 0, 3}), 0, 2).is_contiguous());
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor tt = transpose(t, 0, 1);
  EXPECT_EQ(tt.storage().get(), t.storage().get());
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_EQ(tt.to_double_vector(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  Tensor row = select(t, 0, 1);
  ops::fill_(row, 9);  // writes through the view into t
  EXPECT_EQ(t.to_double_vector(), (std::vector<double>{0, 1, 2, 9, 9, 9}));
  Tensor r = reshape(t, {3, 2});
  EXPECT_EQ(r.storage().get(), t.storage().get());  // contiguous: reshape is a view
  Tensor rc = reshape(tt, {6});                      // transposed: reshape must copy
  EXPECT_NE(rc.storage().get(), t.storage().get());
  EXPECT_EQ(rc.to_double_vector(), (std::vector<double>{0, 9, 1, 9, 2, 9}));
}

TEST(Tensor, ViewOutsideStorageIsRejected) {
  Tensor t = Tensor::empty({4});
  EXPECT_THROW(Tensor::make_view(t.storage(), {5}, {1}, 0, DType::F32), Error);
  EXPECT_THROW(Tensor::make_view(t.storage(), {2}, {3}, 1, DType::F32), Error);
  EXPECT_NO_THROW(Tensor::make_view(t.storage(), {2}, {3}, 0, DType::F32));
}

TEST(Tensor, ZeroSizeDimensionsWork) {
  Tensor t = ops::zeros({0, 3});
  EXPECT_EQ(t.numel(), 0);
  Tensor s = sum(t, {0});
  EXPECT_EQ(s.to_double_vector(), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(exp(t).shape(), Shape({0, 3}));
  EXPECT_EQ(add(t, ops::ones({3})).shape(), Shape({0, 3}));
}

TEST(Tensor, ErrorsNameTheOpAndShapes) {
  Tensor a = ops::zeros({2, 3}), b = ops::zeros({4, 3});
  std::string m = error_message([&] { add(a, b); });
  EXPECT_NE(m.find("add"), std::string::npos) << m;
  EXPECT_NE(m.find("[2,3]"), std::string::npos) << m;
  EXPECT_NE(m.find("[4,3]"), std::string::npos) << m;
  EXPECT_NE(error_message([&] { Tensor().shape(); }).find("undefined"), std::string::npos);
  EXPECT_NE(error_message([&] { Tensor::empty({-1}); }).find("negative"), std::string::npos);
  EXPECT_NE(error_message([&] { where(ops::zeros({2}), a, a); }).find("bool"), std::string::npos);
  // cuda:7 exists nowhere (no GPU, one GPU, or the one emulated device): the error names the device.
  EXPECT_NE(error_message([&] { ops::to_device(a, cuda_device(7)); }).find("cuda"), std::string::npos);
}

TEST(DType, PromotionFollowsPyTorch) {
  EXPECT_EQ(promote_types(DType::I64, DType::F32), DType::F32);
  EXPECT_EQ(promote_types(DType::F16, DType::BF16), DType::F32);
  EXPECT_EQ(promote_types(DType::F32, DType::F64), DType::F64);
  EXPECT_EQ(promote_types(DType::Bool, DType::U8), DType::U8);
  EXPECT_EQ(promote_types(DType::I32, DType::I64), DType::I64);
  // A float scalar does not upcast an f32 tensor.
  Tensor x = ops::ones({2});
  EXPECT_EQ(mul(x, 0.5).dtype(), DType::F32);
  // Integer tensors: true division gives floats; int + int stays int.
  Tensor i = Tensor::from_vector<int64_t>({3, 4}, {2});
  EXPECT_EQ(div(i, i).dtype(), DType::F32);
  EXPECT_EQ(add(i, i).dtype(), DType::I64);
  EXPECT_EQ(add(i, i).to_double_vector(), (std::vector<double>{6, 8}));
  EXPECT_THROW(parse_dtype("float128"), Error);
}

TEST(Half, RoundTripAndRounding) {
  EXPECT_EQ(static_cast<float>(Half(1.0f)), 1.0f);
  EXPECT_EQ(static_cast<float>(Half(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(static_cast<float>(Half(65520.0f))));  // rounds up past the largest half
  EXPECT_EQ(static_cast<float>(Half(5.9604644775390625e-8f)), 5.9604644775390625e-8f);  // smallest subnormal
  EXPECT_EQ(Half(1.0f + 1.0f / 2048).bits, Half(1.0f).bits);  // tie → even
  EXPECT_TRUE(std::isnan(static_cast<float>(Half(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(static_cast<float>(BFloat16(1.0f)), 1.0f);
  EXPECT_EQ(BFloat16(1.0f + 1.0f / 256).bits, BFloat16(1.0f).bits);  // tie → even
  EXPECT_TRUE(std::isnan(static_cast<float>(BFloat16(std::numeric_limits<float>::quiet_NaN()))));
  // Every half value survives f16 → f32 → f16.
  for (uint32_t b = 0; b < 0x10000; ++b) {
    Half h;
    h.bits = static_cast<uint16_t>(b);
    float f = static_cast<float>(h);
    if (std::isnan(f)) continue;
    ASSERT_EQ(Half(f).bits, h.bits) << b;
  }
}

TEST(Parallel, ReductionsAreBitwiseReproducible) {
  Tensor x = ops::to_dtype(case_randn({1 << 20}, 42), DType::F32);
  double first = sum(x).item();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sum(x).item(), first);
  int prev = num_threads();
  set_num_threads(1);
  double one_thread = sum(x).item();
  set_num_threads(prev);
  EXPECT_EQ(one_thread, first);  // fixed chunking: independent of the thread count
}

TEST(Parallel, ParallelForCoversTheRangeOnce) {
  std::vector<int> hits(100000, 0);
  parallel_for(0, 100000, 1000, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) hits[i]++;
  });
  for (int h : hits) ASSERT_EQ(h, 1);
}
