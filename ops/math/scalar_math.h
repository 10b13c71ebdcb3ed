// Scalar math usable on host and device: mm::math::exp(x) etc. for float and double.
// On the host these are the <cmath> functions; in CUDA device code, the CUDA math library
// overloads of the same names (which nvcc provides for float and double).
#pragma once

#include <cmath>

#include "runtime/macros.h"

namespace mm::math {

#if defined(__CUDA_ARCH__)
// Device code: the CUDA math library's C functions (expf for float, exp for double).
#define MM_MATH_UNARY(name)                                                  \
  MM_HOST_DEVICE MM_INLINE float name(float x) { return ::name##f(x); }     \
  MM_HOST_DEVICE MM_INLINE double name(double x) { return ::name(x); }
#else
#define MM_MATH_UNARY(name)                                                  \
  MM_HOST_DEVICE MM_INLINE float name(float x) { return ::std::name(x); }   \
  MM_HOST_DEVICE MM_INLINE double name(double x) { return ::std::name(x); }
#endif

MM_MATH_UNARY(exp)
MM_MATH_UNARY(log)
MM_MATH_UNARY(log1p)
MM_MATH_UNARY(expm1)
MM_MATH_UNARY(sqrt)
MM_MATH_UNARY(sin)
MM_MATH_UNARY(cos)
MM_MATH_UNARY(tanh)
MM_MATH_UNARY(erf)
MM_MATH_UNARY(fabs)
#undef MM_MATH_UNARY

#if defined(__CUDA_ARCH__)
MM_HOST_DEVICE MM_INLINE float pow(float x, float y) { return ::powf(x, y); }
MM_HOST_DEVICE MM_INLINE double pow(double x, double y) { return ::pow(x, y); }
#else
MM_HOST_DEVICE MM_INLINE float pow(float x, float y) { return ::std::pow(x, y); }
MM_HOST_DEVICE MM_INLINE double pow(double x, double y) { return ::std::pow(x, y); }
#endif

template <typename T> MM_HOST_DEVICE MM_INLINE T max(T a, T b) { return a > b ? a : b; }
template <typename T> MM_HOST_DEVICE MM_INLINE T min(T a, T b) { return a < b ? a : b; }
template <typename T> MM_HOST_DEVICE MM_INLINE bool isnan(T x) { return x != x; }

// Constants at the precision of T.
template <typename T> MM_HOST_DEVICE MM_INLINE T sqrt_2_over_pi() { return T(0.7978845608028654); }
template <typename T> MM_HOST_DEVICE MM_INLINE T inv_sqrt_2() { return T(0.7071067811865476); }
template <typename T> MM_HOST_DEVICE MM_INLINE T inv_sqrt_2pi() { return T(0.3989422804014327); }

}  // namespace mm::math
