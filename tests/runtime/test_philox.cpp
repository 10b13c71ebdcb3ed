#include "runtime/philox.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>

namespace mm {
namespace {

// ---- Known-answer tests ---------------------------------------------------------------------
// Expected outputs are the "philox4x32 10" lines of Random123's tests/kat_vectors
// (github.com/DEShawResearch/random123, file tests/kat_vectors; columns: name, rounds,
// counter[4], key[2], expected[4]):
//
// philox4x32 10 00000000 00000000 00000000 00000000 00000000 00000000   6627e8d5 e169c58d bc57ac4c 9b00dbd8
// philox4x32 10 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff   408f276d 41c83b0e a20bc7c6 6d5451fd
// philox4x32 10 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0   d16cfe09 94fdcceb 5001e420 24126ea1

struct Kat {
  uint32_t ctr[4];
  uint32_t key[2];
  uint32_t expected[4];
};

void check_kat(const Kat& kat) {
  PhiloxCounter c{{kat.ctr[0], kat.ctr[1], kat.ctr[2], kat.ctr[3]}};
  PhiloxKey k{{kat.key[0], kat.key[1]}};
  const PhiloxCounter out = philox4x32_10(c, k);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out.x[i], kat.expected[i]) << "lane " << i;
}

TEST(Philox, KnownAnswerZeros) {
  check_kat({{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}});
}

TEST(Philox, KnownAnswerAllOnes) {
  check_kat({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
             {0xffffffffu, 0xffffffffu},
             {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}});
}

TEST(Philox, KnownAnswerPi) {
  check_kat({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
             {0xa4093822u, 0x299f31d0u},
             {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}});
}

// ---- Stream convention ----------------------------------------------------------------------

TEST(Philox, StreamConventionKeyAndCounterLayout) {
  const uint64_t seed = 0x0123456789abcdefull;
  const uint64_t block = 0xfedcba9876543210ull;
  PhiloxCounter c{{0x76543210u, 0xfedcba98u, 0u, 0u}};
  PhiloxKey k{{0x89abcdefu, 0x01234567u}};
  const PhiloxCounter expected = philox4x32_10(c, k);
  const PhiloxCounter got = philox_block(seed, block);
  for (int lane = 0; lane < 4; ++lane) EXPECT_EQ(got.x[lane], expected.x[lane]);
}

TEST(Philox, Uint32IndexMapsToBlockAndLane) {
  const uint64_t seed = 42;
  for (uint64_t i = 0; i < 64; ++i) {
    const PhiloxCounter b = philox_block(seed, i / 4);
    EXPECT_EQ(philox_uint32(seed, i), b.x[i % 4]) << "i=" << i;
    // The offset form: element i of a range starting at block 7.
    const PhiloxCounter b7 = philox_block(seed, 7 + i / 4);
    EXPECT_EQ(philox_uint32(seed, 7, i), b7.x[i % 4]) << "i=" << i;
    EXPECT_EQ(philox_uint32(seed, 7, i), philox_uint32(seed, 28 + i));
  }
  // A large index exercises the high counter word.
  const uint64_t big = (uint64_t{5} << 34) + 3;  // block (5 << 32), lane 3
  EXPECT_EQ(philox_uint32(seed, big), philox_block(seed, uint64_t{5} << 32).x[3]);
}

TEST(Philox, UniformUsesSameBitsAsUint32) {
  for (uint64_t i = 0; i < 100; ++i) {
    EXPECT_EQ(philox_uniform(3, i), uint32_to_uniform_float(philox_uint32(3, i)));
    EXPECT_EQ(philox_uniform(3, 10, i), uint32_to_uniform_float(philox_uint32(3, 10, i)));
  }
}

TEST(Philox, NormalPairSharesOneBlock) {
  const uint64_t seed = 1234;
  for (uint64_t k = 0; k < 32; ++k) {
    const PhiloxCounter b = philox_block(seed, k);
    const float u1 = uint32_to_uniform_float_open0(b.x[0]);
    const float u2 = uint32_to_uniform_float(b.x[1]);
    const float r = std::sqrt(-2.0f * std::log(u1));
    const float theta = 6.28318530717958647692f * u2;
    EXPECT_FLOAT_EQ(philox_normal(seed, 2 * k), r * std::cos(theta));
    EXPECT_FLOAT_EQ(philox_normal(seed, 2 * k + 1), r * std::sin(theta));
    // Pair members lie on the same circle of radius r.
    const float a = philox_normal(seed, 2 * k), c = philox_normal(seed, 2 * k + 1);
    EXPECT_NEAR(std::sqrt(a * a + c * c), r, 1e-5f * (1.0f + r));
    // Offset form.
    EXPECT_EQ(philox_normal(seed, 5, 2 * k + 1), philox_normal(seed, 0, 2 * (k + 5) + 1));
  }
}

// ---- Conversions ----------------------------------------------------------------------------

TEST(Philox, UniformConversionEndpoints) {
  EXPECT_EQ(uint32_to_uniform_float(0u), 0.0f);
  EXPECT_LT(uint32_to_uniform_float(0xffffffffu), 1.0f);
  EXPECT_EQ(uint32_to_uniform_float(0xffffffffu), 1.0f - std::ldexp(1.0f, -24));
  EXPECT_EQ(uint32_to_uniform_float(0x80000000u), 0.5f);
  EXPECT_GT(uint32_to_uniform_float_open0(0u), 0.0f);
  EXPECT_EQ(uint32_to_uniform_float_open0(0xffffffffu), 1.0f);

  EXPECT_EQ(uint32_to_uniform_double(0u, 0u), 0.0);
  EXPECT_LT(uint32_to_uniform_double(0xffffffffu, 0xffffffffu), 1.0);
  EXPECT_EQ(uint32_to_uniform_double(0xffffffffu, 0xffffffffu), 1.0 - std::ldexp(1.0, -53));
  EXPECT_EQ(uint32_to_uniform_double(0x80000000u, 0u), 0.5);
  // The low word contributes its top 21 bits.
  EXPECT_EQ(uint32_to_uniform_double(0u, 0x800u), std::ldexp(1.0, -53));
  EXPECT_EQ(uint32_to_uniform_double(0u, 0x7ffu), 0.0);
  EXPECT_GT(uint32_to_uniform_double_open0(0u, 0u), 0.0);
  EXPECT_EQ(uint32_to_uniform_double_open0(0xffffffffu, 0xffffffffu), 1.0);
}

// ---- Statistics -----------------------------------------------------------------------------
// N = 1e6 samples from a fixed seed. Tolerances are ~6 standard errors:
//   uniform mean:     SE = sqrt(1/12 / N)              = 2.9e-4  -> tol 1.8e-3
//   uniform variance: SE = sqrt((1/80 - 1/144) / N)    = 7.5e-5  -> tol 4.5e-4
//   normal mean:      SE = 1/sqrt(N)                   = 1.0e-3  -> tol 6e-3
//   normal std:       SE ~ 1/sqrt(2N)                  = 7.1e-4  -> tol 4.5e-3
constexpr uint64_t kN = 1000000;

TEST(Philox, UniformFloatStatistics) {
  double sum = 0, sum2 = 0;
  float lo = 1, hi = 0;
  for (uint64_t i = 0; i < kN; ++i) {
    const float u = philox_uniform(20240601, i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
    sum2 += double(u) * u;
  }
  const double mean = sum / kN;
  const double var = sum2 / kN - mean * mean;
  EXPECT_NEAR(mean, 0.5, 1.8e-3);
  EXPECT_NEAR(var, 1.0 / 12.0, 4.5e-4);
  EXPECT_LT(lo, 1e-4f);
  EXPECT_GT(hi, 1.0f - 1e-4f);
}

TEST(Philox, UniformDoubleStatistics) {
  double sum = 0, sum2 = 0;
  for (uint64_t i = 0; i < kN; ++i) {
    const double u = philox_uniform_double(99, 0, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum2 += u * u;
  }
  const double mean = sum / kN;
  const double var = sum2 / kN - mean * mean;
  EXPECT_NEAR(mean, 0.5, 1.8e-3);
  EXPECT_NEAR(var, 1.0 / 12.0, 4.5e-4);
}

TEST(Philox, NormalFloatStatistics) {
  double sum = 0, sum2 = 0;
  uint64_t within1 = 0;
  for (uint64_t i = 0; i < kN; ++i) {
    const float z = philox_normal(777, i);
    ASSERT_TRUE(std::isfinite(z)) << "i=" << i;
    sum += z;
    sum2 += double(z) * z;
    within1 += std::fabs(z) < 1.0f;
  }
  const double mean = sum / kN;
  const double sd = std::sqrt(sum2 / kN - mean * mean);
  EXPECT_NEAR(mean, 0.0, 6e-3);
  EXPECT_NEAR(sd, 1.0, 4.5e-3);
  // P(|Z| < 1) = 0.682689; SE = sqrt(p(1-p)/N) = 4.7e-4 -> tol 3e-3.
  EXPECT_NEAR(double(within1) / kN, 0.682689, 3e-3);
}

TEST(Philox, NormalDoubleStatistics) {
  double sum = 0, sum2 = 0;
  for (uint64_t i = 0; i < kN; ++i) {
    const double z = philox_normal_double(555, i);
    ASSERT_TRUE(std::isfinite(z)) << "i=" << i;
    sum += z;
    sum2 += z * z;
  }
  const double mean = sum / kN;
  const double sd = std::sqrt(sum2 / kN - mean * mean);
  EXPECT_NEAR(mean, 0.0, 6e-3);
  EXPECT_NEAR(sd, 1.0, 4.5e-3);
}

TEST(Philox, NormalIsFiniteAtExtremeInputs) {
  // u1 is mapped to (0,1], so lane 0 == 0 must not produce log(0).
  // Emulate the worst case directly: u1 = 2^-24, the smallest value.
  const float u1 = uint32_to_uniform_float_open0(0u);
  EXPECT_TRUE(std::isfinite(std::sqrt(-2.0f * std::log(u1))));
  const double d1 = uint32_to_uniform_double_open0(0u, 0u);
  EXPECT_TRUE(std::isfinite(std::sqrt(-2.0 * std::log(d1))));
}

// ---- Seeds and the generator ----------------------------------------------------------------

TEST(Philox, DifferentSeedsGiveDifferentStreams) {
  int equal = 0;
  for (uint64_t i = 0; i < 1000; ++i) equal += philox_uint32(1, i) == philox_uint32(2, i);
  EXPECT_LE(equal, 1);
  // Seeds differing only in the high word also differ.
  equal = 0;
  for (uint64_t i = 0; i < 1000; ++i) equal += philox_uint32(1, i) == philox_uint32(1 + (uint64_t{1} << 32), i);
  EXPECT_LE(equal, 1);
  // Same seed reproduces.
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(philox_uint32(9, i), philox_uint32(9, i));
}

TEST(Philox, OutputsAreDistinctWithinAStream) {
  std::set<uint32_t> seen;
  for (uint64_t i = 0; i < 10000; ++i) seen.insert(philox_uint32(5, i));
  // Expected birthday collisions among 1e4 draws from 2^32: ~0.012.
  EXPECT_GE(seen.size(), 9998u);
}

TEST(Generator, ReserveAdvances) {
  Generator g(17);
  EXPECT_EQ(g.seed(), 17u);
  EXPECT_EQ(g.offset(), 0u);
  EXPECT_EQ(g.reserve(philox_blocks_uniform(10)), 0u);  // 3 blocks
  EXPECT_EQ(g.offset(), 3u);
  EXPECT_EQ(g.reserve(philox_blocks_normal(5)), 3u);    // 3 blocks
  EXPECT_EQ(g.offset(), 6u);
  uint64_t off = 0;
  EXPECT_EQ(g.reserve(4, off), 17u);
  EXPECT_EQ(off, 6u);
  EXPECT_EQ(g.offset(), 10u);
  g.manual_seed(5);
  EXPECT_EQ(g.seed(), 5u);
  EXPECT_EQ(g.offset(), 0u);
  g.set_offset(100);
  EXPECT_EQ(g.reserve(1), 100u);
  Generator copy = g;
  EXPECT_EQ(copy.seed(), 5u);
  EXPECT_EQ(copy.offset(), 101u);
}

TEST(Generator, SuccessiveOpsDrawDisjointCounters) {
  Generator g(123);
  const uint64_t n = 10;
  const uint64_t o1 = g.reserve(philox_blocks_uniform(n));
  const uint64_t o2 = g.reserve(philox_blocks_uniform(n));
  std::set<uint64_t> blocks1, blocks2;
  for (uint64_t i = 0; i < n; ++i) {
    blocks1.insert(o1 + i / 4);
    blocks2.insert(o2 + i / 4);
  }
  for (uint64_t b : blocks1) EXPECT_EQ(blocks2.count(b), 0u);
  EXPECT_NE(philox_uint32(g.seed(), o1, 0), philox_uint32(g.seed(), o2, 0));
}

TEST(Generator, DefaultGeneratorAndManualSeed) {
  Generator& g = manual_seed(2024);
  EXPECT_EQ(&g, &default_generator());
  EXPECT_EQ(default_generator().seed(), 2024u);
  EXPECT_EQ(default_generator().offset(), 0u);
  const uint64_t a = default_generator().reserve(2);
  const uint64_t b = default_generator().reserve(2);
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 2u);
  // Reseeding reproduces the same ranges.
  manual_seed(2024);
  EXPECT_EQ(default_generator().reserve(2), 0u);
}

}  // namespace
}  // namespace mm
