// 16-bit floating-point storage types for the CPU side.
//
// f16 (IEEE binary16) and bf16 (bfloat16) are storage formats: the CPU converts them to float,
// computes in float and converts back (round-to-nearest-even), the same contract PyTorch's CPU
// kernels follow. The bit-level conversions are MM_HOST_DEVICE so CUDA kernels can share them.
#pragma once

#include <cstdint>
#include <cstring>

#include "runtime/macros.h"

namespace mm {

MM_HOST_DEVICE MM_INLINE uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
MM_HOST_DEVICE MM_INLINE float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  MM_HOST_DEVICE BFloat16(float f) {  // NOLINT(google-explicit-constructor): numeric type
    uint32_t u = float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep it a (quiet) NaN
      bits = static_cast<uint16_t>((u >> 16) | 0x40u);
    } else {  // round to nearest, ties to even
      uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
      bits = static_cast<uint16_t>((u + rounding) >> 16);
    }
  }
  MM_HOST_DEVICE operator float() const { return bits_float(static_cast<uint32_t>(bits) << 16); }
};

struct Half {
  uint16_t bits = 0;
  Half() = default;
  MM_HOST_DEVICE Half(float f) {  // NOLINT(google-explicit-constructor)
    uint32_t x = float_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t mag = x & 0x7fffffffu;
    if (mag >= 0x7f800000u) {  // inf or NaN
      bits = static_cast<uint16_t>(sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u : 0u));
      return;
    }
    if (mag >= 0x477ff000u) {  // rounds to >= 65520: overflow to inf
      bits = static_cast<uint16_t>(sign | 0x7c00u);
      return;
    }
    if (mag < 0x38800000u) {  // result is subnormal (or zero) in half
      // Add 0.5 (as float) so the FPU rounds the mantissa at the half-subnormal position.
      float d = bits_float(mag) + 0.5f;
      bits = static_cast<uint16_t>(sign | (float_bits(d) - 0x3f000000u));
      return;
    }
    uint32_t mant_odd = (mag >> 13) & 1u;
    mag += 0xc8000fffu + mant_odd;  // rebias exponent (-112 << 23) and round to nearest even
    bits = static_cast<uint16_t>(sign | (mag >> 13));
  }
  MM_HOST_DEVICE operator float() const {
    uint32_t sign = (static_cast<uint32_t>(bits) & 0x8000u) << 16;
    uint32_t exp = (bits >> 10) & 0x1fu;
    uint32_t mant = bits & 0x3ffu;
    if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (mant << 13));  // inf/NaN
    if (exp == 0) {  // zero or subnormal: value = mant * 2^-24
      float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
      return sign ? -v : v;
    }
    return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
  }
};

}  // namespace mm
