// Scalar code shared by the CPU (ops/cpu/creation.cpp) and CUDA (ops/cuda/creation.cu) creation
// kernels: value conversion, the per-Philox-block random draws and what each random op makes of a
// draw. Everything is MM_HOST_DEVICE, so both backends run the very same arithmetic and produce the
// same bits (uniform, randint and bernoulli exactly; normals up to libm-vs-CUDA ulps in log/sin/cos).
#pragma once

#include <math.h>
#include <stdint.h>

#include <type_traits>

#include "runtime/half.h"
#include "runtime/macros.h"
#include "runtime/philox.h"

namespace mm {

// double -> element type (f16/bf16 via float, bool as != 0), the conversion copy_ uses too.
template <typename T>
MM_HOST_DEVICE MM_INLINE T cast_from_double(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0.0;
  } else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return T(static_cast<float>(v));
  } else {
    return static_cast<T>(v);
  }
}

// arange's element i: start + i*step with ONE rounding (fma), so the value does not depend on
// whether a compiler contracts the multiply-add (g++ with -march=native and nvcc both may).
MM_HOST_DEVICE MM_INLINE double arange_value(double start, double step, int64_t i) {
  return ::fma(static_cast<double>(i), step, start);
}

// tril keeps column j of row i when j - i <= diagonal, triu when j - i >= diagonal (torch.tril/triu).
MM_HOST_DEVICE MM_INLINE bool tri_mask_value(bool upper, int64_t diagonal, int64_t i, int64_t j) {
  return upper ? (j - i >= diagonal) : (j - i <= diagonal);
}

// ---- per-block draws ----------------------------------------------------------------------------
//
// runtime/philox.h defines the stream per ELEMENT (philox_uniform(seed, offset, i), ...). Computing
// elements one by one would evaluate each Philox block 2-4 times, so the kernels walk the op's
// reserved blocks instead: block b yields elements b*kPerBlock ... b*kPerBlock + kPerBlock-1.
// Each block() below mirrors its per-element function in philox.h lane for lane; the forward tests
// (tests/common/forward/creation.cpp) compare every element with those functions.

// philox_uniform: 4 floats in [0,1) per block, lane k -> element 4b+k.
struct UniformF32Draw {
  using T = float;
  static constexpr int kPerBlock = 4;
  MM_HOST_DEVICE static void block(const PhiloxCounter& c, float* out) {
    for (int k = 0; k < 4; ++k) out[k] = uint32_to_uniform_float(c.x[k]);
  }
};

// philox_uniform_double: 2 doubles in [0,1) per block, lanes (0,1) -> even element, (2,3) -> odd.
struct UniformF64Draw {
  using T = double;
  static constexpr int kPerBlock = 2;
  MM_HOST_DEVICE static void block(const PhiloxCounter& c, double* out) {
    out[0] = uint32_to_uniform_double(c.x[0], c.x[1]);
    out[1] = uint32_to_uniform_double(c.x[2], c.x[3]);
  }
};

// philox_normal: Box-Muller on lanes 0 (u1 in (0,1]) and 1 (u2 in [0,1)); the pair (r cos, r sin)
// gives the even and the odd element. Same expressions as philox.h, so the same roundings.
struct NormalF32Draw {
  using T = float;
  static constexpr int kPerBlock = 2;
  MM_HOST_DEVICE static void block(const PhiloxCounter& c, float* out) {
    const float u1 = uint32_to_uniform_float_open0(c.x[0]);
    const float u2 = uint32_to_uniform_float(c.x[1]);
    const float r = ::sqrtf(-2.0f * ::logf(u1));
    const float theta = 6.28318530717958647692f * u2;
    out[0] = r * ::cosf(theta);
    out[1] = r * ::sinf(theta);
  }
};

// philox_normal_double: u1 from lanes (0,1) in (0,1], u2 from lanes (2,3) in [0,1).
struct NormalF64Draw {
  using T = double;
  static constexpr int kPerBlock = 2;
  MM_HOST_DEVICE static void block(const PhiloxCounter& c, double* out) {
    const double u1 = uint32_to_uniform_double_open0(c.x[0], c.x[1]);
    const double u2 = uint32_to_uniform_double(c.x[2], c.x[3]);
    const double r = ::sqrt(-2.0 * ::log(u1));
    const double theta = 6.28318530717958647692528676655900577 * u2;
    out[0] = r * ::cos(theta);
    out[1] = r * ::sin(theta);
  }
};

// Blocks an op drawing n values with `Draw` reserves from the generator.
template <typename Draw>
MM_HOST_DEVICE MM_INLINE uint64_t draw_blocks(uint64_t n) {
  return (n + Draw::kPerBlock - 1) / Draw::kPerBlock;
}

// ---- what each op writes for element i given its draw v -----------------------------------------

// rand / randn: the draw itself.
template <typename T>
struct StoreEmit {
  T* out;
  MM_HOST_DEVICE void operator()(int64_t i, T v) const { out[i] = v; }
};

// rand for f16/bf16: the f32 uniform k*2^-24 truncated to `bits` bits, floor(u*2^bits)*2^-bits.
// Every step is exact in float, and the result (m/2^bits, m < 2^bits) converts exactly to the
// 16-bit type, so it stays in [0, 1).
struct TruncatedUniformEmit {
  float* out;
  float scale;  // 2^bits
  MM_HOST_DEVICE void operator()(int64_t i, float u) const { out[i] = ::floorf(u * scale) / scale; }
};

// randint: low + floor(u * range) from a 53-bit uniform double u in [0,1). The front end limits
// range to 2^53, where u*range is exact up to one rounding; the relative bias of this map is at most
// range/2^53 (each integer receives floor or ceil of 2^53/range of the 2^53 equally likely u).
// The min() guards the (non-occurring for range < 2^53) rounding of u*range up to range.
struct RandintEmit {
  int64_t* out;
  int64_t low;
  int64_t range;
  MM_HOST_DEVICE void operator()(int64_t i, double u) const {
    int64_t k = static_cast<int64_t>(::floor(u * static_cast<double>(range)));
    out[i] = low + (k < range - 1 ? k : range - 1);
  }
};

// bernoulli: 1 where u < p (so p <= 0 never fires, p >= 1 always does), p per element or one scalar.
template <typename T>
struct BernoulliEmit {
  T* out;
  const T* p;  // null: use p_scalar for every element
  T p_scalar;
  MM_HOST_DEVICE void operator()(int64_t i, T u) const {
    const T pi = p != nullptr ? p[i] : p_scalar;
    out[i] = u < pi ? T(1) : T(0);
  }
};

}  // namespace mm
