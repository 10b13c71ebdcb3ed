// The order sort, argsort and topk use, written once for the CPU loops (ops/cpu/index.cpp) and the
// CUDA kernels (ops/cuda/index.cu).
//
// It is a strict TOTAL order on (value, original position):
//   - NaN compares larger than every number, as in PyTorch (ascending: NaNs last; descending: first);
//   - equal values (and NaN vs NaN) keep their original order: the lower position comes first.
// Because ties are broken by position, every correct sorting algorithm — std::sort, std::partial_sort,
// a bitonic network on the GPU — produces the one result a stable sort would. So sort is stable on
// both devices, and topk returns the earliest of equal values first.
#pragma once

#include <cstdint>
#include <type_traits>

#include "runtime/macros.h"

namespace mm {

template <typename T>
MM_HOST_DEVICE MM_INLINE bool order_is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return v != v;
  } else {
    (void)v;
    return false;
  }
}

// True when (a at position ia) comes strictly before (b at position ib).
template <typename T>
MM_HOST_DEVICE MM_INLINE bool sorts_before(T a, int64_t ia, T b, int64_t ib, bool descending) {
  bool an = order_is_nan(a), bn = order_is_nan(b);
  if (an != bn) return descending ? an : bn;  // NaN is the largest value
  if (!an && a != b) return descending ? (b < a) : (a < b);
  return ia < ib;  // equal values, or both NaN: original order
}

}  // namespace mm
