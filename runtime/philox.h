// Counter-based random numbers: Philox4x32-10.
//
// Reference: J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random numbers: as easy
// as 1, 2, 3", SC'11, and the Random123 library (github.com/DEShawResearch/random123). Philox is a
// pure function (counter, key) -> 4 x uint32, so every element of a random tensor can be computed
// independently, in any order, on any device, and CPU and CUDA produce the same bits.
//
// Everything below the Generator class is MM_HOST_DEVICE and callable from CUDA kernels.
//
// ---------------------------------------------------------------------------------------------
// Stream convention (shared by the CPU and CUDA backends; do not change without changing both)
// ---------------------------------------------------------------------------------------------
//   key     = (seed & 0xffffffff, seed >> 32)
//   counter = (block & 0xffffffff, block >> 32, 0, 0)
// A "block" is one Philox call = 4 uint32 outputs (lanes 0..3). A random op that has reserved
// blocks starting at `offset` (see Generator::reserve) draws element i of its output from:
//
//   raw uint32 / uniform  : block offset + i/4, lane i%4
//                           (philox_uint32 / philox_uniform)
//   normal (float)        : block offset + i/2; lanes 0,1 give (u1, u2);
//                           even i -> r*cos(2*pi*u2), odd i -> r*sin(2*pi*u2),
//                           r = sqrt(-2 ln u1), u1 in (0,1] (lanes 2,3 unused)
//                           (philox_normal)
//   normal (double)       : block offset + i/2; lanes (0,1) give u1 (53 bits), lanes (2,3) give
//                           u2 (53 bits); even i -> cos branch, odd i -> sin branch
//                           (philox_normal_double)
//
// So an op producing n uniforms consumes ceil(n/4) blocks (philox_blocks_uniform(n)) and an op
// producing n normals consumes ceil(n/2) blocks (philox_blocks_normal(n)).
//
// The raw uint32 and uniform values are bit-identical on CPU and GPU. Normals go through
// log/sqrt/sin/cos, whose CPU (libm) and CUDA implementations may differ by a few ulp.
#pragma once

#include <math.h>
#include <stdint.h>

#include <mutex>

#include "runtime/macros.h"

namespace mm {

struct PhiloxCounter {
  uint32_t x[4];
};

struct PhiloxKey {
  uint32_t k[2];
};

// Constants from the Random123 reference (philox.h): round multipliers and Weyl key increments
// (golden ratio and sqrt(3)-1, as 32-bit fractions).
inline constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;
inline constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;

namespace detail {

// 32x32 -> 64-bit product split into high and low words.
MM_HOST_DEVICE MM_INLINE void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
#if defined(__CUDA_ARCH__)
  hi = __umulhi(a, b);
  lo = a * b;
#else
  const uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
#endif
}

// One Philox4x32 round (Random123's _philox4x32round).
MM_HOST_DEVICE MM_INLINE PhiloxCounter philox_round(PhiloxCounter c, PhiloxKey k) {
  uint32_t hi0, lo0, hi1, lo1;
  philox_mulhilo(kPhiloxM0, c.x[0], hi0, lo0);
  philox_mulhilo(kPhiloxM1, c.x[2], hi1, lo1);
  PhiloxCounter out;
  out.x[0] = hi1 ^ c.x[1] ^ k.k[0];
  out.x[1] = lo1;
  out.x[2] = hi0 ^ c.x[3] ^ k.k[1];
  out.x[3] = lo0;
  return out;
}

MM_HOST_DEVICE MM_INLINE PhiloxKey philox_bump(PhiloxKey k) {
  k.k[0] += kPhiloxW0;
  k.k[1] += kPhiloxW1;
  return k;
}

}  // namespace detail

// Philox4x32 with 10 rounds. The key is bumped before rounds 2..10, as in Random123.
MM_HOST_DEVICE MM_INLINE PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key) {
  ctr = detail::philox_round(ctr, key);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int r = 1; r < 10; ++r) {
    key = detail::philox_bump(key);
    ctr = detail::philox_round(ctr, key);
  }
  return ctr;
}

// ---- stream convention ----------------------------------------------------------------------

MM_HOST_DEVICE MM_INLINE PhiloxKey philox_key(uint64_t seed) {
  PhiloxKey k;
  k.k[0] = static_cast<uint32_t>(seed);
  k.k[1] = static_cast<uint32_t>(seed >> 32);
  return k;
}

MM_HOST_DEVICE MM_INLINE PhiloxCounter philox_counter(uint64_t block) {
  PhiloxCounter c;
  c.x[0] = static_cast<uint32_t>(block);
  c.x[1] = static_cast<uint32_t>(block >> 32);
  c.x[2] = 0;
  c.x[3] = 0;
  return c;
}

// The 4 uint32 outputs of block `block` of the stream for `seed`.
MM_HOST_DEVICE MM_INLINE PhiloxCounter philox_block(uint64_t seed, uint64_t block) {
  return philox4x32_10(philox_counter(block), philox_key(seed));
}

// Element `index` of the raw uint32 stream: lane index%4 of block index/4.
MM_HOST_DEVICE MM_INLINE uint32_t philox_uint32(uint64_t seed, uint64_t index) {
  return philox_block(seed, index >> 2).x[index & 3];
}

// Element i of an op whose reservation starts at block `offset`: lane i%4 of block offset + i/4.
MM_HOST_DEVICE MM_INLINE uint32_t philox_uint32(uint64_t seed, uint64_t offset, uint64_t i) {
  return philox_block(seed, offset + (i >> 2)).x[i & 3];
}

// ---- uniform --------------------------------------------------------------------------------

// [0, 1) with 24 bits: (x >> 8) * 2^-24. Largest value is 1 - 2^-24 (< 1 exactly).
MM_HOST_DEVICE MM_INLINE float uint32_to_uniform_float(uint32_t x) {
  return static_cast<float>(x >> 8) * 5.9604644775390625e-08f;  // 2^-24
}

// (0, 1] with 24 bits: ((x >> 8) + 1) * 2^-24. Used where 0 must be excluded (log).
MM_HOST_DEVICE MM_INLINE float uint32_to_uniform_float_open0(uint32_t x) {
  return static_cast<float>((x >> 8) + 1u) * 5.9604644775390625e-08f;
}

// [0, 1) with 53 bits from two words: `hi` supplies the high 32 bits, `lo` the low 32 bits of a
// 64-bit integer, whose top 53 bits are scaled by 2^-53.
MM_HOST_DEVICE MM_INLINE double uint32_to_uniform_double(uint32_t hi, uint32_t lo) {
  const uint64_t v = (static_cast<uint64_t>(hi) << 32) | static_cast<uint64_t>(lo);
  return static_cast<double>(v >> 11) * 1.1102230246251565404236316680908203125e-16;  // 2^-53
}

// (0, 1] with 53 bits (same bits as above, shifted by one ulp).
MM_HOST_DEVICE MM_INLINE double uint32_to_uniform_double_open0(uint32_t hi, uint32_t lo) {
  const uint64_t v = (static_cast<uint64_t>(hi) << 32) | static_cast<uint64_t>(lo);
  return static_cast<double>((v >> 11) + 1u) * 1.1102230246251565404236316680908203125e-16;
}

// Uniform float in [0,1) for element `index` (lane index%4 of block index/4).
MM_HOST_DEVICE MM_INLINE float philox_uniform(uint64_t seed, uint64_t index) {
  return uint32_to_uniform_float(philox_uint32(seed, index));
}

MM_HOST_DEVICE MM_INLINE float philox_uniform(uint64_t seed, uint64_t offset, uint64_t i) {
  return uint32_to_uniform_float(philox_uint32(seed, offset, i));
}

// Uniform double in [0,1) for element i: block offset + i/2, lanes (0,1) for even i, (2,3) for
// odd i (first lane of the pair = high word). n doubles consume ceil(n/2) blocks.
MM_HOST_DEVICE MM_INLINE double philox_uniform_double(uint64_t seed, uint64_t offset, uint64_t i) {
  const PhiloxCounter b = philox_block(seed, offset + (i >> 1));
  return (i & 1) ? uint32_to_uniform_double(b.x[2], b.x[3]) : uint32_to_uniform_double(b.x[0], b.x[1]);
}

// ---- normal (Box-Muller) --------------------------------------------------------------------

// Standard normal float for element i: block offset + i/2, u1 = lane 0 mapped to (0,1],
// u2 = lane 1 mapped to [0,1); r = sqrt(-2 ln u1); even i -> r cos(2 pi u2), odd i -> r sin(2 pi u2).
MM_HOST_DEVICE MM_INLINE float philox_normal(uint64_t seed, uint64_t offset, uint64_t i) {
  const PhiloxCounter b = philox_block(seed, offset + (i >> 1));
  const float u1 = uint32_to_uniform_float_open0(b.x[0]);
  const float u2 = uint32_to_uniform_float(b.x[1]);
  const float r = ::sqrtf(-2.0f * ::logf(u1));
  const float theta = 6.28318530717958647692f * u2;
  return (i & 1) ? r * ::sinf(theta) : r * ::cosf(theta);
}

MM_HOST_DEVICE MM_INLINE float philox_normal(uint64_t seed, uint64_t index) {
  return philox_normal(seed, 0, index);
}

// Standard normal double for element i: block offset + i/2, u1 = lanes (0,1) mapped to (0,1],
// u2 = lanes (2,3) mapped to [0,1); even i -> cos branch, odd i -> sin branch.
MM_HOST_DEVICE MM_INLINE double philox_normal_double(uint64_t seed, uint64_t offset, uint64_t i) {
  const PhiloxCounter b = philox_block(seed, offset + (i >> 1));
  const double u1 = uint32_to_uniform_double_open0(b.x[0], b.x[1]);
  const double u2 = uint32_to_uniform_double(b.x[2], b.x[3]);
  const double r = ::sqrt(-2.0 * ::log(u1));
  const double theta = 6.28318530717958647692528676655900577 * u2;
  return (i & 1) ? r * ::sin(theta) : r * ::cos(theta);
}

MM_HOST_DEVICE MM_INLINE double philox_normal_double(uint64_t seed, uint64_t index) {
  return philox_normal_double(seed, 0, index);
}

// Blocks consumed by an op producing n values (what to pass to Generator::reserve).
MM_HOST_DEVICE MM_INLINE uint64_t philox_blocks_uniform(uint64_t n) { return (n + 3) / 4; }
MM_HOST_DEVICE MM_INLINE uint64_t philox_blocks_normal(uint64_t n) { return (n + 1) / 2; }
MM_HOST_DEVICE MM_INLINE uint64_t philox_blocks_uniform_double(uint64_t n) { return (n + 1) / 2; }

// ---- host-side generator state --------------------------------------------------------------

// A seed plus a block cursor, like PyTorch's Philox generator state. Every random op calls
// reserve(blocks) once, gets the first block of its private range and evaluates its elements with
// the functions above at (seed(), that offset, i). Successive ops therefore draw disjoint counters.
// All members are safe to call from several threads (a mutex guards the state).
class Generator {
 public:
  static constexpr uint64_t kDefaultSeed = 67280421310721ull;

  explicit Generator(uint64_t seed = kDefaultSeed) : seed_(seed), offset_(0) {}
  Generator(const Generator& other);
  Generator& operator=(const Generator& other);

  uint64_t seed() const;
  uint64_t offset() const;

  // Sets the seed and rewinds the cursor to block 0.
  void manual_seed(uint64_t seed);
  void set_offset(uint64_t offset);

  // Returns the current offset (first block of the caller's range) and advances it by `blocks`.
  uint64_t reserve(uint64_t blocks);

  // Atomically reads the seed and reserves `blocks` blocks; returns the seed, writes the offset.
  uint64_t reserve(uint64_t blocks, uint64_t& offset_out);

 private:
  mutable std::mutex mu_;
  uint64_t seed_;
  uint64_t offset_;
};

// The process-global default generator used by random ops that are not given one. Its state is
// shared by every thread of the process (calls are serialized by its mutex, so concurrent ops get
// disjoint ranges, but the order in which threads obtain them is unspecified).
Generator& default_generator();

// Seeds the default generator and rewinds it; returns it.
Generator& manual_seed(uint64_t seed);

}  // namespace mm
