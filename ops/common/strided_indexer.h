// StridedIndexer: maps a linear element index of an iteration space to the element offsets of
// N operands. Shared by every element-wise CPU loop and CUDA kernel (it is MM_HOST_DEVICE and
// trivially copyable, so it is passed to kernels by value).
//
// Broadcasting is expressed as stride 0; make_indexer() then collapses adjacent dimensions that are
// contiguous with each other in *every* operand, so a contiguous tensor becomes one flat dimension
// and the per-element index arithmetic disappears from the hot loop.
#pragma once

#include <cstdint>

#include "runtime/macros.h"

namespace mm {

inline constexpr int kMaxDims = 12;

template <int N>
struct StridedIndexer {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};         // innermost dimension last
  int64_t strides[N][kMaxDims] = {};    // element strides of each operand

  // offsets[k] = element offset of operand k for linear index i (row-major over sizes).
  MM_HOST_DEVICE void offsets(int64_t i, int64_t* out) const {
    for (int k = 0; k < N; ++k) out[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t idx = i % sizes[d];
      i /= sizes[d];
      for (int k = 0; k < N; ++k) out[k] += idx * strides[k][d];
    }
  }
};

}  // namespace mm
