// CPU iteration helpers shared by the element-wise kernels.
//
// for_each_run walks a StridedIndexer's linear range [begin, end) as runs along the innermost
// dimension: f(offsets, inner_strides, count) handles `count` consecutive elements, so the innermost
// loop is a plain strided (usually unit-stride, hence vectorised) loop with no index arithmetic.
#pragma once

#include <algorithm>
#include <cstdint>

#include "ops/common/strided_indexer.h"
#include "runtime/parallel.h"

namespace mm::cpu {

// Elements per parallel chunk below which a loop runs on one thread.
inline constexpr int64_t kGrain = 32768;

template <int N, typename F>
void for_each_run(const StridedIndexer<N>& ix, int64_t begin, int64_t end, F&& f) {
  if (begin >= end) return;
  if (ix.ndim == 0) {  // a single element (0-d tensors)
    int64_t off[N] = {};
    int64_t inner[N] = {};
    f(off, inner, int64_t{1});
    return;
  }
  const int last = ix.ndim - 1;
  int64_t idx[kMaxDims];
  int64_t off[N];
  // Decompose `begin` into a multi-index and operand offsets.
  int64_t rem = begin;
  for (int k = 0; k < N; ++k) off[k] = 0;
  for (int d = last; d >= 0; --d) {
    idx[d] = rem % ix.sizes[d];
    rem /= ix.sizes[d];
    for (int k = 0; k < N; ++k) off[k] += idx[d] * ix.strides[k][d];
  }
  int64_t inner[N];
  for (int k = 0; k < N; ++k) inner[k] = ix.strides[k][last];
  int64_t i = begin;
  while (i < end) {
    int64_t count = std::min(ix.sizes[last] - idx[last], end - i);
    f(off, inner, count);
    i += count;
    // Advance past the run: carry into outer dimensions.
    for (int k = 0; k < N; ++k) off[k] += count * inner[k];
    idx[last] += count;
    for (int d = last; d > 0 && idx[d] == ix.sizes[d]; --d) {
      for (int k = 0; k < N; ++k) off[k] -= ix.sizes[d] * ix.strides[k][d] - ix.strides[k][d - 1];
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

// Parallel version over the whole iteration space of `numel` elements.
template <int N, typename F>
void parallel_for_each_run(const StridedIndexer<N>& ix, int64_t numel, F&& f) {
  parallel_for(0, numel, kGrain, [&](int64_t b, int64_t e) { for_each_run<N>(ix, b, e, f); });
}

}  // namespace mm::cpu
