// CUDA iteration helpers: a grid-stride element-wise loop over a StridedIndexer. The same
// StridedIndexer and the same functors as the CPU loops; only the iteration differs.
#pragma once

#include "ops/common/strided_indexer.h"
#include "runtime/cuda/launch.h"

namespace mm::cuda {

inline constexpr int kElementwiseThreads = 256;

// Calls f(offsets) for every linear index i < n. `contiguous` skips the index arithmetic when all
// operands are contiguous with the iteration shape (offsets are then all i).
template <int N, typename F>
__global__ void elementwise_kernel(StridedIndexer<N> ix, int64_t n, bool contiguous, F f) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t off[N];
    if (contiguous) {
      for (int k = 0; k < N; ++k) off[k] = i;
    } else {
      ix.offsets(i, off);
    }
    f(off);
  }
}

template <int N, typename F>
void launch_elementwise(const StridedIndexer<N>& ix, int64_t n, bool contiguous, const char* op, F f) {
  if (n == 0) return;
  launch(elementwise_kernel<N, F>, blocks_for(n, kElementwiseThreads), dim3(kElementwiseThreads), 0, op, ix, n,
         contiguous, f);
}

}  // namespace mm::cuda
