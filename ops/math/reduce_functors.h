// Combine functions of reductions, shared by CPU loops and CUDA kernels.
//
// A reducer has an accumulator type Acc, an identity, combine(acc, x, index) for one element and
// merge(a, b) for two partial results (merge must be associative; partials are merged in a fixed
// order so results do not depend on timing). Reducers that track a position (max/min with indices,
// argmax/argmin) also have index(acc), and value_merge(a, b) on bare values, which CUDA uses to
// reduce values and positions in two scalar block reductions (see ops/cuda/reduce.cu).
#pragma once

#include <cstdint>
#include <limits>

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

// The smallest / largest value of T: ±infinity for floating types (so a row of -inf still has a
// maximum), the type's limits for integers.
template <typename T> MM_HOST_DEVICE MM_INLINE T lowest_value() {
  if constexpr (std::numeric_limits<T>::has_infinity) return -std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::lowest();
}
template <typename T> MM_HOST_DEVICE MM_INLINE T highest_value() {
  if constexpr (std::numeric_limits<T>::has_infinity) return std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::max();
}

// Value and position of the best element so far. index = INT64_MAX marks "none yet".
template <typename T>
struct ValIdx {
  T v;
  int64_t i;
};

// Orders candidates for max (kMax) or min: a NaN beats any number (NaN propagates, as in PyTorch);
// otherwise the larger (smaller) value wins; on ties the smaller index wins. Because ties are broken
// by index, the winner does not depend on the order candidates are compared in — the first
// occurrence is found by a sequential CPU loop and by a CUDA tree alike.
template <bool kMax, typename T>
MM_HOST_DEVICE MM_INLINE bool extreme_beats(T av, int64_t ai, T bv, int64_t bi) {
  bool an = math::isnan(av), bn = math::isnan(bv);
  if (an || bn) return an && (!bn || ai < bi);
  if (av == bv) return ai < bi;
  return kMax ? av > bv : av < bv;
}

// NaN-propagating max/min of two values (std::max would drop a NaN in its second argument).
template <bool kMax, typename T>
MM_HOST_DEVICE MM_INLINE T extreme_value(T a, T b) {
  if (math::isnan(a)) return a;
  if (math::isnan(b)) return b;
  return (kMax ? a > b : a < b) ? a : b;
}

// max/min over dims with the position of the (first) extreme: torch.max(x, dim), argmax.
template <bool kMax, typename T>
struct ExtremeIndexReducer {
  using Acc = ValIdx<T>;
  MM_HOST_DEVICE static Acc identity() {
    return Acc{kMax ? lowest_value<T>() : highest_value<T>(), std::numeric_limits<int64_t>::max()};
  }
  MM_HOST_DEVICE static Acc combine(Acc a, T x, int64_t i) {
    return extreme_beats<kMax>(x, i, a.v, a.i) ? Acc{x, i} : a;
  }
  MM_HOST_DEVICE static Acc merge(Acc a, Acc b) { return extreme_beats<kMax>(b.v, b.i, a.v, a.i) ? b : a; }
  MM_HOST_DEVICE static T value(Acc a) { return a.v; }
  MM_HOST_DEVICE static int64_t index(Acc a) { return a.i; }
  MM_HOST_DEVICE static T value_merge(T a, T b) { return extreme_value<kMax>(a, b); }
};
template <typename T> using MaxReducer = ExtremeIndexReducer<true, T>;
template <typename T> using MinReducer = ExtremeIndexReducer<false, T>;

// amax/amin: the extreme value only (no position), NaN-propagating.
template <bool kMax, typename T>
struct ExtremeReducer {
  using Acc = T;
  MM_HOST_DEVICE static Acc identity() { return kMax ? lowest_value<T>() : highest_value<T>(); }
  MM_HOST_DEVICE static Acc combine(Acc a, T x, int64_t) { return extreme_value<kMax>(a, x); }
  MM_HOST_DEVICE static Acc merge(Acc a, Acc b) { return extreme_value<kMax>(a, b); }
  MM_HOST_DEVICE static T value(Acc a) { return a; }
};
template <typename T> using AMaxReducer = ExtremeReducer<true, T>;
template <typename T> using AMinReducer = ExtremeReducer<false, T>;

}  // namespace mm
