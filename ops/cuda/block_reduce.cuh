// Warp and block reductions written with our own small helpers (no CUB block primitives inside
// kernels), so the CPU emulation build can run every kernel. A block reduction: each warp reduces
// with shuffles, warp leaders write to shared memory, and the first warp reduces those partials.
#pragma once

#include "runtime/cuda/device_api.h"

namespace mm::cuda {

inline constexpr int kWarpSize = 32;

template <typename T, typename Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Reduces v over the block; the result is valid in every thread. `shared` must hold 32 T values.
// blockDim.x must be a multiple of 32.
template <typename T, typename Op>
__device__ __forceinline__ T block_reduce(T v, Op op, T identity, T* shared) {
  int lane = threadIdx.x % kWarpSize;
  int warp = threadIdx.x / kWarpSize;
  unsigned warps = blockDim.x / kWarpSize;
  v = warp_reduce(v, op);
  __syncthreads();  // `shared` may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = threadIdx.x < warps ? shared[threadIdx.x] : identity;
  if (warp == 0) v = warp_reduce(v, op);
  if (threadIdx.x == 0) shared[0] = v;
  __syncthreads();
  return shared[0];
}

}  // namespace mm::cuda
