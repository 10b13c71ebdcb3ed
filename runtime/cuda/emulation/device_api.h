// The CUDA device API for kernels compiled as host C++ (the emulation build, MMALIGN_CUDA_EMULATION).
//
// Every .cu file reaches this header through runtime/cuda/device_api.h and compiles unchanged with
// g++. The qualifiers vanish; threadIdx/blockIdx/blockDim/gridDim are thread-local variables the
// scheduler sets before it resumes a GPU thread's fiber; __syncthreads, warp shuffles and votes are
// exact because a block's threads run as cooperating fibers that meet at real barriers
// (scheduler.cpp). Atomics are std::atomic_ref operations, so they stay atomic when blocks run on
// several worker threads.
#pragma once

#include <cuda_runtime.h>  // dim3, uint3, the vector types, cudaError_t

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>

// ---- qualifiers ------------------------------------------------------------------------------
// The toolkit's host_defines.h has already defined these (as nothing, for a host compiler).
#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __constant__
#undef __launch_bounds__
#define __global__
#define __device__
#define __host__
#define __constant__
#define __launch_bounds__(...)
// One copy per OS thread; a worker runs one block at a time, so this is one copy per running block.
// Dynamic shared memory (`extern __shared__`) cannot be spelled this way: kernels use
// MM_DYNAMIC_SHARED (runtime/cuda/device_api.h).
#define __shared__ static thread_local

// A constant rather than the macro some toolkit headers use: cudaDeviceProp has a member of that name.
inline constexpr int warpSize = 32;

// ---- built-in variables ------------------------------------------------------------------------
// constinit: constant-initialised, so the compiler reads them directly without a TLS init wrapper.
extern thread_local constinit uint3 threadIdx;
extern thread_local constinit uint3 blockIdx;
extern thread_local constinit dim3 blockDim;
extern thread_local constinit dim3 gridDim;

namespace mm::cuda::emu {

// The kinds of warp-wide operation; every lane of one call must name the same kind and mask.
enum class WarpOp : int { ShflIdx, ShflUp, ShflDown, ShflXor, All, Any, Ballot, Sync };

// One warp collective for the calling GPU thread: deposits `bits`, waits for the other participating
// lanes (mask ∩ lanes that have not exited) and returns this lane's result.
uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t bits, int param, int width);
void block_barrier();
void* dynamic_shared_memory();
unsigned live_lanes_mask();

// Queues a grid of `thread_body` on `stream`: validates the configuration first (an invalid one sets
// cudaErrorInvalidConfiguration, as a GPU does, and queues nothing).
void launch_kernel(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream, const char* name,
                   std::function<void()> thread_body);

template <typename T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= sizeof(uint64_t) && std::is_trivially_copyable_v<T>,
                "warp shuffles move values of at most 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof v);
  return b;
}
template <typename T>
T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

}  // namespace mm::cuda::emu

// ---- barriers, shuffles, votes -----------------------------------------------------------------
inline void __syncthreads() { mm::cuda::emu::block_barrier(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  mm::cuda::emu::warp_collective(mm::cuda::emu::WarpOp::Sync, mask, 0, 0, 32);
}
template <typename T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize) {
  using namespace mm::cuda::emu;
  return from_bits<T>(warp_collective(WarpOp::ShflIdx, mask, to_bits(var), src_lane, width));
}
template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  using namespace mm::cuda::emu;
  return from_bits<T>(warp_collective(WarpOp::ShflUp, mask, to_bits(var), static_cast<int>(delta), width));
}
template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  using namespace mm::cuda::emu;
  return from_bits<T>(warp_collective(WarpOp::ShflDown, mask, to_bits(var), static_cast<int>(delta), width));
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize) {
  using namespace mm::cuda::emu;
  return from_bits<T>(warp_collective(WarpOp::ShflXor, mask, to_bits(var), lane_mask, width));
}
inline int __all_sync(unsigned mask, int predicate) {
  return static_cast<int>(mm::cuda::emu::warp_collective(mm::cuda::emu::WarpOp::All, mask, predicate != 0, 0, 32));
}
inline int __any_sync(unsigned mask, int predicate) {
  return static_cast<int>(mm::cuda::emu::warp_collective(mm::cuda::emu::WarpOp::Any, mask, predicate != 0, 0, 32));
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return static_cast<unsigned>(
      mm::cuda::emu::warp_collective(mm::cuda::emu::WarpOp::Ballot, mask, predicate != 0, 0, 32));
}
// The lanes of the warp that have not exited. A GPU answers with the lanes converged at this point;
// fibers have no such notion, so code that passes __activemask() to a collective inside a divergent
// branch is not modelled (docs/CUDA.md).
inline unsigned __activemask() { return mm::cuda::emu::live_lanes_mask(); }

// ---- atomics -------------------------------------------------------------------------------------
// Each returns the old value, as CUDA's do. The operand converts to the pointee type, as with nvcc's
// overloads (atomicAdd(unsigned*, 1) compiles).
#define MM_EMU_ATOMIC_RMW(name, expr)                                                       \
  template <typename T>                                                                      \
  T name(T* address, std::type_identity_t<T> val) {                                          \
    std::atomic_ref<T> a(*address);                                                          \
    T old = a.load(std::memory_order_relaxed);                                               \
    while (!a.compare_exchange_weak(old, expr, std::memory_order_seq_cst)) {                 \
    }                                                                                        \
    return old;                                                                              \
  }
MM_EMU_ATOMIC_RMW(atomicAdd, static_cast<T>(old + val))
MM_EMU_ATOMIC_RMW(atomicSub, static_cast<T>(old - val))
MM_EMU_ATOMIC_RMW(atomicExch, val)
MM_EMU_ATOMIC_RMW(atomicMin, val < old ? val : old)
MM_EMU_ATOMIC_RMW(atomicMax, val > old ? val : old)
MM_EMU_ATOMIC_RMW(atomicAnd, static_cast<T>(old & val))
MM_EMU_ATOMIC_RMW(atomicOr, static_cast<T>(old | val))
MM_EMU_ATOMIC_RMW(atomicXor, static_cast<T>(old ^ val))
#undef MM_EMU_ATOMIC_RMW
template <typename T>
T atomicCAS(T* address, std::type_identity_t<T> compare, std::type_identity_t<T> val) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, val, std::memory_order_seq_cst);
  return compare;  // holds the old value whether or not the swap happened
}
// atomicInc/atomicDec wrap as CUDA documents: ((old >= val) ? 0 : old + 1), ((old == 0 || old > val) ? val : old - 1).
inline unsigned atomicInc(unsigned* address, unsigned val) {
  std::atomic_ref<unsigned> a(*address);
  unsigned old = a.load();
  while (!a.compare_exchange_weak(old, old >= val ? 0u : old + 1)) {
  }
  return old;
}
inline unsigned atomicDec(unsigned* address, unsigned val) {
  std::atomic_ref<unsigned> a(*address);
  unsigned old = a.load();
  while (!a.compare_exchange_weak(old, (old == 0 || old > val) ? val : old - 1)) {
  }
  return old;
}
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

// ---- intrinsics ----------------------------------------------------------------------------------
// The ones kernels reach in their `#if defined(__CUDA_ARCH__)` branches and tests use. Those branches
// are compiled by nvcc only; the emulation runs the host branch, so these exist for test kernels.
inline float __int_as_float(int b) { return std::bit_cast<float>(b); }
inline int __float_as_int(float f) { return std::bit_cast<int>(f); }
inline float __uint_as_float(unsigned b) { return std::bit_cast<float>(b); }
inline unsigned __float_as_uint(float f) { return std::bit_cast<unsigned>(f); }
inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((static_cast<uint64_t>(a) * b) >> 32);
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __ffs(int x) { return __builtin_ffs(x); }
template <typename T>
T __ldg(const T* p) {
  return *p;
}
