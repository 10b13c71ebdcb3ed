// The CUDA DeviceBackend: memory through the caching allocator (one per device), copies through
// cudaMemcpyAsync on the current stream followed by a stream synchronisation (host-visible results).
//
// MMALIGN_CUDA_CACHING_ALLOCATOR=0 sends every tensor straight to cudaMalloc/cudaFree instead. That is
// the default in the emulation build: each tensor is then its own exact-size host allocation, so
// AddressSanitizer catches a kernel reading past it, and fresh memory is always poisoned.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/launch.h"
#include "runtime/cuda_caching_allocator.h"
#include "runtime/storage.h"

namespace mm::cuda {

// cuBLAS names its own statuses (and the emulation build's cuBLAS does the same).
const char* cublas_status_name(cublasStatus_t s) { return cublasGetStatusName(s); }

void launch_failed(const char* op, cudaError_t err, dim3 grid, dim3 block, size_t shared_bytes) {
  fail(ErrorKind::Runtime, op, "kernel launch failed: ", cudaGetErrorName(err), " (", cudaGetErrorString(err),
       ") for grid (", grid.x, ",", grid.y, ",", grid.z, "), block (", block.x, ",", block.y, ",", block.z, "), ",
       shared_bytes, " bytes of dynamic shared memory");
}

// The legacy default stream: work from every host thread is ordered, so a block the caching
// allocator hands to one thread can never still be in use by another thread's kernels (the allocator
// keys blocks by stream id 0). Per-thread streams need event-based reuse first (see the allocator).
cudaStream_t current_stream() { return cudaStreamLegacy; }

namespace {

struct CudaMemory : DeviceMemoryInterface {
  int device;
  explicit CudaMemory(int d) : device(d) {}
  void* raw_alloc(size_t n) override {
    void* p = nullptr;
    int previous = 0;
    if (cudaGetDevice(&previous) != cudaSuccess || cudaSetDevice(device) != cudaSuccess) return nullptr;
    cudaError_t err = cudaMalloc(&p, n);
    cudaSetDevice(previous);  // allocating must not change the caller's current device
    if (err != cudaSuccess) {
      (void)cudaGetLastError();  // clear the OOM error; the allocator retries after emptying its cache
      return nullptr;
    }
    return p;
  }
  void raw_free(void* p) override { cudaFree(p); }
};

bool caching_enabled() {
  static const bool on = [] {
    const char* env = std::getenv("MMALIGN_CUDA_CACHING_ALLOCATOR");
#if defined(MMALIGN_CUDA_EMULATION)
    return env != nullptr && std::strcmp(env, "0") != 0;
#else
    return env == nullptr || std::strcmp(env, "0") != 0;
#endif
  }();
  return on;
}

class CudaBackend : public DeviceBackend {
 public:
  void* allocate(size_t nbytes, int device) override {
    // Without this check a machine with the toolkit but no GPU would report "out of memory".
    int n = device_count();
    MM_CHECK(device < n, Device, "cuda", n == 0 ? "no CUDA device is available on this machine"
                                                : "device cuda:" + std::to_string(device) + " does not exist (" +
                                                      std::to_string(n) + " devices)");
    if (caching_enabled()) return allocator(device).allocate(nbytes);
    void* p = CudaMemory(device).raw_alloc(nbytes);
    MM_CHECK(p != nullptr || nbytes == 0, Runtime, "cuda", "out of memory allocating ", nbytes, " bytes on cuda:",
             device, " (caching allocator off)");
    return p;
  }
  void deallocate(void* ptr, int device) override {
    if (caching_enabled()) return allocator(device).deallocate(ptr);
    CudaMemory(device).raw_free(ptr);
  }
  void copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t n) override {
    cudaMemcpyKind kind = dst_dev.is_cpu() ? cudaMemcpyDeviceToHost
                          : src_dev.is_cpu() ? cudaMemcpyHostToDevice
                                             : cudaMemcpyDeviceToDevice;
    MM_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, kind, current_stream()), "copy");
    MM_CUDA_CHECK(cudaStreamSynchronize(current_stream()), "copy");
  }
  void memset_zero(void* dst, int, size_t n) override {
    MM_CUDA_CHECK(cudaMemsetAsync(dst, 0, n, current_stream()), "memset");
  }
  int device_count() override {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    return n;
  }
  void synchronize(int) override { MM_CUDA_CHECK(cudaStreamSynchronize(current_stream()), "synchronize"); }

 private:
  CachingAllocator& allocator(int device) {
    std::lock_guard<std::mutex> lock(mu_);
    MM_CHECK(device >= 0 && device < 64, Device, "cuda", "invalid device index ", device);
    if (allocators_.size() <= static_cast<size_t>(device)) {
      allocators_.resize(device + 1);
      memories_.resize(device + 1);
    }
    if (!allocators_[device]) {
      memories_[device] = std::make_unique<CudaMemory>(device);
      allocators_[device] = std::make_unique<CachingAllocator>(memories_[device].get());
    }
    return *allocators_[device];
  }
  std::mutex mu_;
  std::vector<std::unique_ptr<CudaMemory>> memories_;
  std::vector<std::unique_ptr<CachingAllocator>> allocators_;
};

const bool registered = [] {
  // Never destroyed: tensors freed during static teardown still need their allocator.
  static CudaBackend* backend = new CudaBackend();
  register_device_backend(DeviceKind::CUDA, backend);
  return true;
}();

}  // namespace
}  // namespace mm::cuda
