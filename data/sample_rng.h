// Random numbers for data work (synthetic images, augmentations), keyed by what they are for rather
// than by call order: SampleRng(seed, epoch, index) is a stream that depends only on those three
// values, so a sample's randomness is the same whichever worker draws it, in whatever order, and a
// resumed run redraws exactly what the interrupted one drew. Counter-based Philox (runtime/philox.h)
// makes that cheap: the key mixes the three values, the counter walks the stream.
#pragma once

#include <cstdint>

#include "runtime/philox.h"

namespace mm::data {

// splitmix64's finaliser: a bijective mix, so distinct (seed, epoch, index) give unrelated keys.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class SampleRng {
 public:
  SampleRng(uint64_t seed, uint64_t epoch, uint64_t index) : key_(mix64(mix64(mix64(seed) ^ epoch) ^ index)) {}

  uint32_t next_u32() { return philox_uint32(key_, counter_++); }
  // Uniform in [0, 1).
  double uniform() {
    const uint64_t hi = next_u32(), lo = next_u32();
    return static_cast<double>(((hi << 32) | lo) >> 11) * 0x1.0p-53;
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n ≥ 1 (multiply-shift; the bias for n ≪ 2³² is negligible here).
  int64_t below(int64_t n) { return static_cast<int64_t>((static_cast<uint64_t>(next_u32()) * static_cast<uint64_t>(n)) >> 32); }
  bool bernoulli(double p) { return uniform() < p; }

 private:
  uint64_t key_;
  uint64_t counter_ = 0;
};

}  // namespace mm::data
