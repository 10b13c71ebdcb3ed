// Misuse of the creation ops gives a typed mm::Error naming the op and the broken rule; edge cases
// (empty results, dtypes) work.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/functions.h"
#include "tests/common/expect_error.h"

namespace mm {
namespace {

TEST(CreationErrors, Arange) {
  EXPECT_ERROR_CONTAINS(arange(0, 5, 0), ErrorKind::Value, "arange", "step must be nonzero");
  EXPECT_ERROR_CONTAINS(arange(0, 5, -1), ErrorKind::Value, "arange", "wrong side");
  EXPECT_ERROR_CONTAINS(arange(5, 0, 1), ErrorKind::Value, "arange", "wrong side");
  EXPECT_ERROR_CONTAINS(arange(0, std::numeric_limits<double>::infinity()), ErrorKind::Value, "arange", "finite");
  EXPECT_ERROR_CONTAINS(arange(0, std::nan("")), ErrorKind::Value, "arange", "finite");
  EXPECT_ERROR_CONTAINS(arange(0, 5, 1, DType::Bool), ErrorKind::DType, "arange", "bool");
  EXPECT_EQ(arange(3, 3).numel(), 0);
  EXPECT_EQ(arange(0, 1, 0.3).numel(), 4);  // ceil(1/0.3): 0, 0.3, 0.6, 0.9
  EXPECT_EQ(arange(5, DType::I64).dtype(), DType::I64);
}

TEST(CreationErrors, EyeAndMasks) {
  EXPECT_ERROR_CONTAINS(eye(-1), ErrorKind::Value, "eye", "non-negative");
  EXPECT_ERROR_CONTAINS(eye(2, -3), ErrorKind::Value, "eye", "non-negative");
  EXPECT_ERROR_CONTAINS(tril_mask(-1, 2), ErrorKind::Value, "tril_mask", "non-negative");
  EXPECT_ERROR_CONTAINS(triu_mask(2, -2), ErrorKind::Value, "triu_mask", "non-negative");
  EXPECT_EQ(eye(0).numel(), 0);
  EXPECT_EQ(tril_mask(0, 3).dtype(), DType::Bool);
  EXPECT_EQ(eye(2, 2, DType::BF16).to_double_vector(), (std::vector<double>{1, 0, 0, 1}));
}

TEST(CreationErrors, Random) {
  EXPECT_ERROR_CONTAINS(rand({2, -1}), ErrorKind::Value, "rand", "negative dimension", "[2,-1]");
  EXPECT_ERROR_CONTAINS(randn({-3}), ErrorKind::Value, "randn", "negative dimension");
  EXPECT_ERROR_CONTAINS(rand({2}, DType::I64), ErrorKind::DType, "rand", "floating");
  EXPECT_ERROR_CONTAINS(randn({2}, DType::Bool), ErrorKind::DType, "randn", "floating");
  EXPECT_ERROR_CONTAINS(randint(3, 3, {2}), ErrorKind::Value, "randint", "low < high");
  EXPECT_ERROR_CONTAINS(randint(5, 1, {2}), ErrorKind::Value, "randint", "low < high");
  EXPECT_ERROR_CONTAINS(randint(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), {2}),
                        ErrorKind::Value, "randint");
  EXPECT_ERROR_CONTAINS(randint(0, (int64_t{1} << 53) + 1, {2}), ErrorKind::Value, "randint", "2^53");
  EXPECT_ERROR_CONTAINS(bernoulli({2}, 1.5), ErrorKind::Value, "bernoulli", "outside [0, 1]");
  EXPECT_ERROR_CONTAINS(bernoulli({2}, -0.1), ErrorKind::Value, "bernoulli", "outside [0, 1]");
  EXPECT_ERROR_CONTAINS(bernoulli(Tensor::from_vector<double>({0.2, 1.2}, {2})), ErrorKind::Value,
                        "bernoulli", "1.2", "flat index 1");
  EXPECT_ERROR_CONTAINS(bernoulli(Tensor::from_vector<double>({0.2, std::nan("")}, {2})), ErrorKind::Value,
                        "bernoulli", "outside [0, 1]");
  EXPECT_ERROR_CONTAINS(bernoulli(Tensor::from_vector<int64_t>({0, 1}, {2})), ErrorKind::DType,
                        "bernoulli", "floating");
  // Empty shapes are fine and consume no random blocks.
  manual_seed(1);
  EXPECT_EQ(rand({0, 3}).numel(), 0);
  EXPECT_EQ(randint(0, 4, {0}).numel(), 0);
  EXPECT_EQ(bernoulli(ops::zeros({0}, DType::F64)).numel(), 0);
  EXPECT_EQ(default_generator().offset(), 0u);
}

}  // namespace
}  // namespace mm
