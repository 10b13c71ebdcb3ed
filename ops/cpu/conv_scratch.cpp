#include "ops/cpu/conv_scratch.h"

#include <cstdint>
#include <cstdlib>
#include <new>

namespace mm::cpu {
namespace {

struct Buffer {
  void* p = nullptr;
  size_t size = 0;
  ~Buffer() { std::free(p); }
};

}  // namespace

void* conv_scratch(size_t bytes) {
  thread_local Buffer buf;
  if (bytes > buf.size) {
    std::free(buf.p);
    buf.p = nullptr;
    buf.size = 0;
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p) throw std::bad_alloc();
    buf.p = p;
    buf.size = rounded;
  }
  return buf.p;
}

}  // namespace mm::cpu
