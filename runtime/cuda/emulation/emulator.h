// The emulated CUDA device's internals, shared by the emulated runtime (runtime_api.cpp), cuBLAS
// (cublas.cpp) and NCCL (nccl_mpi.cpp). Only the emulation build (MMALIGN_CUDA_EMULATION) compiles
// this directory; project code never includes this header — it calls the real CUDA/cuBLAS/NCCL APIs,
// which this directory implements on the host.
//
// The model: one emulated device per process; device memory is host memory (exact-size heap
// allocations, so AddressSanitizer sees out-of-bounds accesses); streams are queues of host closures
// that run lazily, in stream order, when the host synchronises with them (cudaStreamSynchronize,
// cudaEventSynchronize, cudaDeviceSynchronize, a synchronous cudaMemcpy, cudaFree, ...). Running late
// rather than at once is deliberate: a missing synchronisation then shows up as a wrong result in
// tests, as it would on a GPU.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>

namespace mm::cuda::emu {

// Appends `work` to `stream` (0, cudaStreamLegacy, cudaStreamPerThread or a created stream), applying
// the legacy default stream's implicit ordering with blocking streams. Returns
// cudaErrorInvalidResourceHandle for an unknown or destroyed stream (and queues nothing).
cudaError_t enqueue(cudaStream_t stream, std::function<void()> work);

// Runs everything queued on `stream` so far (and, first, whatever that work waits for).
cudaError_t flush(cudaStream_t stream);

// Runs everything queued on every stream.
void flush_all();

// Whether [p, p + n) lies inside one live device allocation (cudaMalloc).
bool is_device_range(const void* p, size_t n);

// Whether the calling OS thread is running a kernel (the runtime API must not be called from one).
bool in_kernel();

// Records `e` as the calling thread's last error (what cudaGetLastError returns) and returns it.
cudaError_t set_last_error(cudaError_t e);

// ---- the emulated device's limits ---------------------------------------------------------------
inline constexpr size_t kSharedBytesPerBlock = 48 * 1024;  // without a cudaFuncSetAttribute opt-in

// ---- scheduling knobs (also read from the environment at first use) --------------------------------
// MMALIGN_EMU_WORKERS=N runs a grid's blocks on N worker threads (default 1: blocks in turn).
void set_workers(int n);
// MMALIGN_EMU_SCHEDULE=forward|reverse|shuffle: the order in which a block's runnable threads are
// resumed (reverse also visits blocks last to first). Another order exposes code that silently depends on one.
enum class ScheduleOrder : int { Forward, Reverse, Shuffle };
void set_schedule_order(ScheduleOrder order);

}  // namespace mm::cuda::emu
