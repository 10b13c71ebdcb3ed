// The one place kernels are launched.
//
// Every custom kernel goes through mm::cuda::launch(kernel, grid, block, shared_bytes, op, args...)
// rather than `<<<...>>>` at the call site. The launch configuration is validated here (the same
// limits a GPU enforces), errors are checked and named after the op, and the CPU emulation build
// (planned) swaps this one function for a host scheduler that runs every kernel on the CPU.
#pragma once

#include <cstdint>

#include "runtime/cuda/cuda_check.h"

namespace mm::cuda {

inline constexpr int kMaxThreadsPerBlock = 1024;
inline constexpr size_t kMaxSharedBytes = 48 * 1024;  // without opting in to larger carve-outs

cudaStream_t current_stream();

// A 1-D launch covering n work items with `threads` per block (grid-stride loops inside kernels
// handle n beyond the grid).
inline dim3 blocks_for(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  if (b > 65535LL * 32) b = 65535LL * 32;  // grid-stride loops cover the rest
  if (b < 1) b = 1;
  return dim3(static_cast<unsigned>(b));
}

template <typename... KernelArgs, typename... Args>
void launch(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t shared_bytes, const char* op, Args&&... args) {
  unsigned threads = block.x * block.y * block.z;
  MM_CHECK(threads >= 1 && threads <= kMaxThreadsPerBlock, Value, op, "invalid block of ", threads,
           " threads (1..1024)");
  MM_CHECK(grid.x >= 1 && grid.y >= 1 && grid.z >= 1, Value, op, "empty grid");
  MM_CHECK(shared_bytes <= kMaxSharedBytes, Value, op, "requests ", shared_bytes, " bytes of shared memory (max ",
           kMaxSharedBytes, ")");
#if defined(__CUDACC__)
  kernel<<<grid, block, shared_bytes, current_stream()>>>(std::forward<Args>(args)...);
  MM_CUDA_CHECK(cudaGetLastError(), op);
#else
  static_assert(sizeof...(KernelArgs) < 0, "mm::cuda::launch must be called from a .cu file");
#endif
}

}  // namespace mm::cuda
