// Storage: a reference-counted block of memory on one device. Tensors are views onto a Storage
// (shape + strides + offset), so reshape/permute/slice share memory instead of copying.
//
// CPU memory comes from the 64-byte-aligned caching CPU allocator. Memory on other devices comes
// from a DeviceBackend that the device's runtime registers at start-up (runtime/cuda/ for CUDA);
// this file knows nothing about CUDA, which keeps the core buildable without the toolkit.
#pragma once

#include <cstddef>
#include <memory>

#include "runtime/device.h"

namespace mm {

// What the runtime needs from a non-CPU device. Implemented by runtime/cuda/cuda_backend.cpp.
struct DeviceBackend {
  virtual ~DeviceBackend() = default;
  virtual void* allocate(size_t nbytes, int device_index) = 0;
  virtual void deallocate(void* ptr, int device_index) = 0;
  // Copies nbytes between any two of host / this device (synchronous with respect to the host).
  virtual void copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes) = 0;
  virtual void memset_zero(void* dst, int device_index, size_t nbytes) = 0;
  virtual int device_count() = 0;
  virtual void synchronize(int device_index) = 0;
};

void register_device_backend(DeviceKind kind, DeviceBackend* backend);
// Returns the backend for `kind`, or throws mm::Error(Device) naming what is missing.
DeviceBackend& device_backend(DeviceKind kind, const char* op);
bool device_backend_available(DeviceKind kind);

class StorageImpl {
 public:
  StorageImpl(size_t nbytes, Device device);
  ~StorageImpl();
  StorageImpl(const StorageImpl&) = delete;
  StorageImpl& operator=(const StorageImpl&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
};

using Storage = std::shared_ptr<StorageImpl>;
Storage make_storage(size_t nbytes, Device device);

// Copies nbytes between two devices (either may be the CPU).
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes);

}  // namespace mm
