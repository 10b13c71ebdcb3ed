#include "runtime/philox.h"

namespace mm {

Generator::Generator(const Generator& other) {
  std::lock_guard<std::mutex> lock(other.mu_);
  seed_ = other.seed_;
  offset_ = other.offset_;
}

Generator& Generator::operator=(const Generator& other) {
  if (this == &other) return *this;
  uint64_t s, o;
  {
    std::lock_guard<std::mutex> lock(other.mu_);
    s = other.seed_;
    o = other.offset_;
  }
  std::lock_guard<std::mutex> lock(mu_);
  seed_ = s;
  offset_ = o;
  return *this;
}

uint64_t Generator::seed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seed_;
}

uint64_t Generator::offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return offset_;
}

void Generator::manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  seed_ = seed;
  offset_ = 0;
}

void Generator::set_offset(uint64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  offset_ = offset;
}

uint64_t Generator::reserve(uint64_t blocks) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t start = offset_;
  offset_ += blocks;
  return start;
}

uint64_t Generator::reserve(uint64_t blocks, uint64_t& offset_out) {
  std::lock_guard<std::mutex> lock(mu_);
  offset_out = offset_;
  offset_ += blocks;
  return seed_;
}

Generator& default_generator() {
  static Generator gen;  // thread-safe initialization (C++11 magic statics)
  return gen;
}

Generator& manual_seed(uint64_t seed) {
  Generator& g = default_generator();
  g.manual_seed(seed);
  return g;
}

}  // namespace mm
