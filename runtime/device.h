// Where a tensor's memory lives: the host (CPU) or one CUDA device.
#pragma once

#include <string>

namespace mm {

enum class DeviceKind : uint8_t { CPU, CUDA };
inline constexpr int kNumDeviceKinds = 2;

struct Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;  // CUDA ordinal; always 0 for the CPU

  constexpr Device() = default;
  constexpr Device(DeviceKind k, int i = 0) : kind(k), index(i) {}  // NOLINT: Device(DeviceKind::CPU)
  bool is_cpu() const { return kind == DeviceKind::CPU; }
  bool is_cuda() const { return kind == DeviceKind::CUDA; }
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu", "cuda:0"
};

inline constexpr Device kCPU{DeviceKind::CPU, 0};
inline Device cuda_device(int index = 0) { return Device(DeviceKind::CUDA, index); }
// Parses "cpu", "cuda", "cuda:1". Throws mm::Error(Value) otherwise.
Device parse_device(const std::string& s);

}  // namespace mm
