#include "runtime/storage.h"

#include <array>
#include <cstring>

#include "runtime/cpu_allocator.h"
#include "runtime/error.h"

namespace mm {

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

Device parse_device(const std::string& s) {
  if (s == "cpu") return kCPU;
  if (s == "cuda") return cuda_device(0);
  if (s.rfind("cuda:", 0) == 0) {
    std::string n = s.substr(5);
    if (!n.empty() && n.find_first_not_of("0123456789") == std::string::npos && n.size() < 4)
      return cuda_device(std::stoi(n));
  }
  fail(ErrorKind::Value, "parse_device", "unknown device '", s, "' (expected cpu, cuda or cuda:N)");
}

namespace {
std::array<DeviceBackend*, kNumDeviceKinds>& backends() {
  static std::array<DeviceBackend*, kNumDeviceKinds> b{};
  return b;
}
}  // namespace

void register_device_backend(DeviceKind kind, DeviceBackend* backend) {
  backends()[static_cast<int>(kind)] = backend;
}

bool device_backend_available(DeviceKind kind) {
  DeviceBackend* b = backends()[static_cast<int>(kind)];
  return b != nullptr && b->device_count() > 0;
}

DeviceBackend& device_backend(DeviceKind kind, const char* op) {
  DeviceBackend* b = backends()[static_cast<int>(kind)];
  if (b == nullptr)
    fail(ErrorKind::Device, op, "device ", Device(kind).str(),
         " is not available: mmalign was built without CUDA (configure with -DMMALIGN_CUDA=ON)");
  return *b;
}

StorageImpl::StorageImpl(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device.is_cpu()) {
    data_ = cpu_allocator().allocate(nbytes);
  } else {
    data_ = device_backend(device.kind, "allocate").allocate(nbytes, device.index);
  }
}

StorageImpl::~StorageImpl() {
  if (data_ == nullptr) return;
  if (device_.is_cpu()) {
    cpu_allocator().deallocate(data_);
  } else {
    device_backend(device_.kind, "free").deallocate(data_, device_.index);
  }
}

Storage make_storage(size_t nbytes, Device device) { return std::make_shared<StorageImpl>(nbytes, device); }

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_dev.is_cpu() && src_dev.is_cpu()) {
    std::memcpy(dst, src, nbytes);
    return;
  }
  DeviceKind k = dst_dev.is_cpu() ? src_dev.kind : dst_dev.kind;
  device_backend(k, "copy").copy(dst, dst_dev, src, src_dev, nbytes);
}

}  // namespace mm
