// Combine functions of reductions, shared by CPU loops and CUDA kernels.
//
// A reducer has an accumulator type Acc, an identity, combine(acc, x, index) for one element and
// merge(a, b) for two partial results (merge must be associative; partials are merged in a fixed
// order so results do not depend on timing).
#pragma once

#include <cstdint>

#include "ops/math/scalar_math.h"

namespace mm {

// Accumulation type: double for f32 on the CPU (cheap there, and sums of millions of floats stay
// accurate); f32 in CUDA kernels, where tree reductions keep the error small.
template <typename T> struct acc_type { using type = T; };
#if !defined(__CUDACC__)
template <> struct acc_type<float> { using type = double; };
#endif
template <typename T> using acc_t = typename acc_type<T>::type;

template <typename T>
struct SumReducer {
  using Acc = acc_t<T>;
  MM_HOST_DEVICE static Acc identity() { return Acc(0); }
  MM_HOST_DEVICE static Acc combine(Acc a, T x, int64_t) { return a + Acc(x); }
  MM_HOST_DEVICE static Acc merge(Acc a, Acc b) { return a + b; }
  MM_HOST_DEVICE static T value(Acc a) { return T(a); }
};

}  // namespace mm
