// The one place kernels are launched.
//
// Every custom kernel goes through mm::cuda::launch(kernel, grid, block, shared_bytes, op, args...)
// rather than `<<<...>>>` at the call site. The launch configuration is validated here (the same
// limits a GPU enforces), errors are checked and named after the op, and in the CPU emulation build
// (MMALIGN_CUDA_EMULATION) the same call hands the kernel to a host scheduler that runs a block's
// threads as fibers (runtime/cuda/emulation/scheduler.cpp).
#pragma once

#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_api.h"

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

// Names the launch in an error: the op, the runtime's error, and the configuration it rejected.
[[noreturn]] void launch_failed(const char* op, cudaError_t err, dim3 grid, dim3 block, size_t shared_bytes);

// The configuration is checked by the runtime itself (a GPU's, or the emulator's, which enforces the
// same limits and codes: ≤ 1024 threads with x,y ≤ 1024 and z ≤ 64 and a non-empty grid with y,z ≤ 65535,
// else cudaErrorInvalidConfiguration; ≤ 48 KiB of dynamic shared memory, else cudaErrorInvalidValue).
template <typename... KernelArgs, typename... Args>
void launch(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t shared_bytes, const char* op, Args&&... args) {
#if defined(__CUDACC__)
  kernel<<<grid, block, shared_bytes, current_stream()>>>(std::forward<Args>(args)...);
#elif defined(MMALIGN_CUDA_EMULATION)
  // Arguments are converted and copied at launch, as CUDA does; each GPU thread gets its own copy.
  emu::launch_kernel(grid, block, shared_bytes, current_stream(), op,
                     [kernel, packed = std::tuple<std::decay_t<KernelArgs>...>(std::forward<Args>(args)...)] {
                       std::apply(kernel, packed);
                     });
#else
  static_assert(sizeof...(KernelArgs) < 0, "mm::cuda::launch must be called from a .cu file");
#endif
  if (cudaError_t err = cudaGetLastError(); err != cudaSuccess) launch_failed(op, err, grid, block, shared_bytes);
}

}  // namespace mm::cuda
