// Scratch memory for the CPU convolution kernels (im2col columns, Winograd transforms, weight-gradient
// partials): one 64-byte aligned buffer per calling thread, grown on demand and kept for the next call.
//
// Why not a fresh tensor per call: the caching allocator keeps every freed block for reuse by a
// request of the same size class, and a network's convolutions ask for many different scratch sizes
// (one per layer shape and pass), so their cached blocks added up: measured on conv_resnet18_3x3,
// 150 MB of peak RSS more than one buffer as large as the largest request. Growing frees the old
// buffer (back to the OS: these are mmap-sized blocks), so the resident scratch is the largest request
// seen so far on that thread.
//
// The buffer belongs to the thread that calls the kernel; the kernel may hand slices of it to the
// worker threads of its own parallel region. Kernels do not nest, so one buffer per thread suffices.
// Contents are undefined on return.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mm::cpu {

void* conv_scratch(size_t bytes);

template <typename T>
T* conv_scratch(int64_t elems) {
  return static_cast<T*>(conv_scratch(static_cast<size_t>(elems < 1 ? 1 : elems) * sizeof(T)));
}

}  // namespace mm::cpu
