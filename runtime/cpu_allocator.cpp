#include "runtime/cpu_allocator.h"

#include <bit>
#include <cstdlib>

#include "runtime/error.h"

namespace mm {

namespace {

constexpr size_t round_up(size_t n, size_t multiple) {  // multiple is a power of two
  return (n + multiple - 1) & ~(multiple - 1);
}

void* os_alloc(size_t size) {
  // size is a non-zero multiple of 64, as std::aligned_alloc requires.
  return std::aligned_alloc(CpuAllocator::kAlignment, size);
}

}  // namespace

CpuAllocator::CpuAllocator(CpuAllocatorConfig config) : config_(config) {}

CpuAllocator::~CpuAllocator() {
  std::lock_guard<std::mutex> lock(mu_);
  evict_locked(0);
  for (auto& [ptr, block] : live_) std::free(ptr);
  live_.clear();
}

size_t CpuAllocator::round_size(size_t nbytes) {
  MM_CHECK(nbytes <= kMaxRequestBytes, Runtime, "cpu_allocator",
           "cannot allocate ", nbytes, " bytes: exceeds the maximum request of ", kMaxRequestBytes,
           " bytes");
  size_t n = nbytes == 0 ? kAlignment : round_up(nbytes, kAlignment);
  if (n <= 256) return n;
  // 2^k <= n < 2^(k+1); k >= 8 here, so the step 2^(k-2) >= 64 keeps classes 64-aligned.
  const int k = std::bit_width(n) - 1;
  return round_up(n, size_t(1) << (k - 2));
}

void* CpuAllocator::allocate(size_t nbytes) {
  const size_t cls = round_size(nbytes);  // validates nbytes
  const bool cacheable = cls <= config_.max_cached_block_bytes;
  // Uncached blocks skip the class rounding: there is no reuse to gain from the extra bytes.
  const size_t size = cacheable ? cls : round_up(nbytes, kAlignment);

  std::lock_guard<std::mutex> lock(mu_);
  void* p = nullptr;
  bool hit = false;
  if (cacheable) {
    auto it = free_by_class_.find(cls);
    if (it != free_by_class_.end()) {
      LruList::iterator entry = it->second.back();
      it->second.pop_back();
      if (it->second.empty()) free_by_class_.erase(it);
      p = entry->ptr;
      lru_.erase(entry);
      stats_.cached_bytes -= cls;
      hit = true;
    }
  }
  if (p == nullptr) {
    p = os_alloc(size);
    if (p == nullptr && stats_.cached_bytes > 0) {
      // Cached blocks of other classes may be what stands between us and success.
      evict_locked(0);
      p = os_alloc(size);
    }
    if (p == nullptr) {
      fail(ErrorKind::Runtime, "cpu_allocator", "out of memory: failed to allocate ", nbytes,
           " bytes (rounded to ", size, "); ", stats_.allocated_bytes,
           " bytes currently allocated");
    }
    ++stats_.num_os_allocs;
  }
  try {
    live_.emplace(p, LiveBlock{size, cacheable});
  } catch (...) {  // bookkeeping failed: do not leak the block
    os_free_locked(p);
    throw;
  }
  if (hit) ++stats_.num_cache_hits;
  ++stats_.num_allocs;
  stats_.allocated_bytes += size;
  if (stats_.allocated_bytes > stats_.peak_allocated_bytes)
    stats_.peak_allocated_bytes = stats_.allocated_bytes;
  return p;
}

void CpuAllocator::deallocate(void* p) {
  if (p == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  MM_CHECK(it != live_.end(), Runtime, "cpu_allocator",
           "deallocate: pointer ", p,
           " was not returned by this allocator, or was already freed");
  const LiveBlock block = it->second;
  live_.erase(it);
  stats_.allocated_bytes -= block.size;

  if (!block.cacheable || block.size > config_.max_cached_block_bytes ||
      block.size > config_.cache_limit_bytes) {
    os_free_locked(p);
    return;
  }
  try {
    LruList::iterator entry = lru_.insert(lru_.end(), CachedBlock{p, block.size});
    try {
      free_by_class_[block.size].push_back(entry);
    } catch (...) {
      lru_.erase(entry);
      throw;
    }
  } catch (...) {  // no memory for bookkeeping: just give the block back instead of caching it
    os_free_locked(p);
    return;
  }
  stats_.cached_bytes += block.size;
  evict_locked(config_.cache_limit_bytes);
}

void CpuAllocator::evict_locked(size_t limit) {
  while (stats_.cached_bytes > limit && !lru_.empty()) {
    const CachedBlock oldest = lru_.front();
    auto cls = free_by_class_.find(oldest.size);
    MM_INTERNAL_ASSERT(cls != free_by_class_.end() && cls->second.front() == lru_.begin());
    cls->second.pop_front();
    if (cls->second.empty()) free_by_class_.erase(cls);
    lru_.pop_front();
    stats_.cached_bytes -= oldest.size;
    os_free_locked(oldest.ptr);
  }
}

void CpuAllocator::os_free_locked(void* p) {
  std::free(p);
  ++stats_.num_os_frees;
}

void CpuAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  evict_locked(0);
}

void CpuAllocator::set_cache_limit(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  config_.cache_limit_bytes = bytes;
  evict_locked(bytes);
}

size_t CpuAllocator::cache_limit() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_.cache_limit_bytes;
}

CpuAllocatorStats CpuAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CpuAllocator::reset_peak_stats() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
}

CpuAllocator& cpu_allocator() {
  // Deliberately leaked: tensors owned by other static objects may free their storage during
  // static destruction, after a function-local static allocator would already be gone.
  static CpuAllocator* instance = new CpuAllocator();
  return *instance;
}

}  // namespace mm
