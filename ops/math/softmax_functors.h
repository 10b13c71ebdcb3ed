// Scalar math of softmax / log_softmax, shared by the CPU loops (ops/cpu/softmax.cpp) and the CUDA
// kernels (ops/cuda/softmax.cu).
//
// Forward, over one slice x_1..x_n with m = max x_i and s = Σ exp(x_i − m):
//   softmax      y_i = exp(x_i − m) / s
//   log_softmax  y_i = (x_i − m) − log s
// Backward, with incoming gradient g:
//   softmax      gx_i = y_i (g_i − Σ_j g_j y_j)
//   log_softmax  gx_i = g_i − exp(y_i) Σ_j g_j
#pragma once

#include <cstdint>
#include <cstring>

#include "ops/math/scalar_math.h"

namespace mm {

namespace detail {
MM_HOST_DEVICE MM_INLINE float bits_to_float(int32_t b) {
#if defined(__CUDA_ARCH__)
  return __int_as_float(b);
#else
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
#endif
}
MM_HOST_DEVICE MM_INLINE int32_t float_to_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_int(f);
#else
  int32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
#endif
}
}  // namespace detail

// exp(x) for the arguments softmax produces (x ≤ 0, −inf or NaN), written without branches or library
// calls so that a CPU loop over it vectorises (glibc's expf does not, without -ffast-math).
// Cephes' expf scheme: x = n·ln2 + r with n = round(x / ln2) and |r| ≤ ln2/2 (ln2 split into a
// short high part and a correction, so n·ln2_hi is exact), exp(r) by a degree-7 polynomial, and
// 2^n assembled directly in the exponent bits. Relative error ≤ 2 ulp; results below the smallest
// normal float (x < −87.34) are flushed to 0. Arguments above 88 saturate (never happens in softmax).
MM_HOST_DEVICE MM_INLINE float softmax_exp(float x) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const float kRound = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer kept in the low mantissa bits
  // Selects, not branches (`|`, not `||`): the vectoriser turns them into blends.
  bool nan = x != x;
  bool tiny = x < -87.33654f;
  float xc = (nan | tiny) ? 0.0f : (x > 88.0f ? 88.0f : x);
  float t = xc * kLog2e + kRound;
  float n = t - kRound;
  int32_t ni = detail::float_to_bits(t) - detail::float_to_bits(kRound);
  float r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float e = (p * r * r + r + 1.0f) * detail::bits_to_float((ni + 127) << 23);
  return nan ? x : (tiny ? 0.0f : e);
}
MM_HOST_DEVICE MM_INLINE double softmax_exp(double x) { return math::exp(x); }

}  // namespace mm
