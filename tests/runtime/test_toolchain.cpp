// Guards against a known miscompilation: g++ 12's SLP vectoriser with AVX-512 (-march=native on the
// project's Zen 5 machines) drops the stores of the zeros in this initialiser, giving eight ones.
// CMakeLists.txt turns the pass off for g++ < 13; this test fails if that protection is lost.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

__attribute__((noinline)) std::vector<int64_t> mask_pattern() { return {1, 1, 1, 1, 1, 1, 0, 0}; }

TEST(Toolchain, InitialiserListsKeepTheirZeros) {
  std::vector<int64_t> x = {1, 1, 1, 1, 1, 1, 0, 0};
  EXPECT_EQ(x[6], 0);
  EXPECT_EQ(x[7], 0);
  std::vector<int64_t> y = mask_pattern();
  EXPECT_EQ(y[6], 0);
  EXPECT_EQ(y[7], 0);
}

}  // namespace
