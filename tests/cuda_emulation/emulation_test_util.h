// Helpers for the emulator's own tests (emulation build only): device buffers and a check that a
// runtime call failed with a given error.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "runtime/cuda/emulation/emulator.h"
#include "runtime/cuda/launch.h"

namespace mm::cuda::testing {

template <typename T>
T* device_alloc(size_t n) {
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, n * sizeof(T)), cudaSuccess);
  return static_cast<T*>(p);
}

template <typename T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> h(n);
  EXPECT_EQ(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return h;
}

// Reads device memory directly, without synchronising — only the emulator allows this (device memory
// is host memory), which is how these tests observe what has and has not run yet.
template <typename T>
T peek(const T* d) {
  T v;
  std::memcpy(&v, d, sizeof v);
  return v;
}

}  // namespace mm::cuda::testing
