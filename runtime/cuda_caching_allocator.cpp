#include "runtime/cuda_caching_allocator.h"

#include <algorithm>
#include <cstdint>
#include <iomanip>
#include <memory>
#include <sstream>
#include <string>

#include "runtime/error.h"

namespace mm {

// A contiguous piece of one segment. The blocks of a segment form a doubly linked list in address
// order; a block with neither prev nor next is an unsplit segment.
struct CachingAllocator::Block {
  int stream = 0;
  size_t size = 0;
  void* ptr = nullptr;
  Pool* pool = nullptr;
  bool allocated = false;
  Block* prev = nullptr;
  Block* next = nullptr;
};

namespace {

constexpr const char* kAllocOp = "CachingAllocator::allocate";

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

std::string format_bytes(size_t n) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(2);
  if (n >= (size_t(1) << 30)) {
    os << static_cast<double>(n) / double(size_t(1) << 30) << " GiB";
  } else if (n >= (size_t(1) << 20)) {
    os << static_cast<double>(n) / double(size_t(1) << 20) << " MiB";
  } else if (n >= 1024) {
    os << static_cast<double>(n) / 1024.0 << " KiB";
  } else {
    return std::to_string(n) + " bytes";
  }
  os << " (" << n << " bytes)";
  return os.str();
}

}  // namespace

bool CachingAllocator::BlockComparator::operator()(const Block* a, const Block* b) const {
  if (a->stream != b->stream) return a->stream < b->stream;
  if (a->size != b->size) return a->size < b->size;
  return reinterpret_cast<uintptr_t>(a->ptr) < reinterpret_cast<uintptr_t>(b->ptr);
}

CachingAllocator::CachingAllocator(DeviceMemoryInterface* dev) : dev_(dev) {
  MM_CHECK(dev != nullptr, Value, "CachingAllocator", "device interface must not be null");
}

CachingAllocator::~CachingAllocator() {
  // Collect every block, return each segment (identified by its head block) to the device.
  std::vector<Block*> all;
  for (Pool* pool : {&small_pool_, &large_pool_})
    all.insert(all.end(), pool->blocks.begin(), pool->blocks.end());
  for (auto& [ptr, block] : active_) all.push_back(block);
  for (Block* b : all) {
    if (b->prev == nullptr) {
      try {
        dev_->raw_free(b->ptr);
      } catch (...) {  // a destructor must not throw; the memory is lost either way
      }
    }
  }
  for (Block* b : all) delete b;
}

size_t CachingAllocator::round_size(size_t nbytes) {
  if (nbytes < kMinBlockSize) return kMinBlockSize;
  return round_up(nbytes, kMinBlockSize);
}

size_t CachingAllocator::segment_size(size_t rounded) {
  if (rounded <= kSmallSize) return kSmallBuffer;
  if (rounded < kMinLargeAlloc) return kLargeBuffer;
  return round_up(rounded, kRoundLarge);
}

void* CachingAllocator::allocate(size_t nbytes, int stream_id) {
  if (nbytes == 0) return nullptr;
  MM_CHECK(nbytes <= kMaxRequestBytes, Runtime, kAllocOp, "cannot allocate ", nbytes,
           " bytes: exceeds the maximum request of ", kMaxRequestBytes, " bytes");
  const size_t size = round_size(nbytes);
  std::lock_guard<std::mutex> lock(mu_);
  Pool& pool = size <= kSmallSize ? small_pool_ : large_pool_;

  Block* block = find_free_block(pool, size, stream_id);
  if (block == nullptr) block = alloc_segment(pool, size, segment_size(size), stream_id, nbytes);

  // Register first: the block's address is its key, and splitting never changes it (the
  // allocated part keeps the lower address). On bad_alloc the block goes back to the pool.
  try {
    active_.emplace(block->ptr, block);
  } catch (...) {
    pool.blocks.insert(block);
    throw;
  }
  const bool split = pool.is_small ? block->size - size >= kMinBlockSize
                                   : block->size - size > kSmallSize;
  if (split) {
    try {
      split_block(block, size);
    } catch (...) {
      active_.erase(block->ptr);
      pool.blocks.insert(block);
      throw;
    }
  }
  block->allocated = true;
  ++stats_.num_allocs;
  stats_.allocated_bytes += block->size;
  update_peaks_locked();
  return block->ptr;
}

// Best fit: the smallest free block of this stream with size >= the request (lowest address on
// ties), removed from the pool. nullptr if none.
CachingAllocator::Block* CachingAllocator::find_free_block(Pool& pool, size_t size, int stream_id) {
  Block key;
  key.stream = stream_id;
  key.size = size;
  key.ptr = nullptr;  // sorts before every real block of this (stream, size)
  auto it = pool.blocks.lower_bound(&key);
  if (it == pool.blocks.end() || (*it)->stream != stream_id) return nullptr;
  Block* block = *it;
  pool.blocks.erase(it);
  return block;
}

// Gets a new segment from the device (freeing cached segments and retrying once if refused) and
// returns it as one free block, not in any pool. Throws on out-of-memory.
CachingAllocator::Block* CachingAllocator::alloc_segment(Pool& pool, size_t size, size_t seg_size,
                                                         int stream_id, size_t nbytes) {
  auto block = std::make_unique<Block>();  // before raw_alloc, so a bad_alloc here leaks nothing
  void* ptr = dev_->raw_alloc(seg_size);
  if (ptr == nullptr) {
    release_cached_segments_locked();
    ptr = dev_->raw_alloc(seg_size);
  }
  if (ptr == nullptr) {
    ++stats_.num_ooms;
    fail(ErrorKind::Runtime, kAllocOp, "out of device memory: tried to allocate ",
         format_bytes(nbytes), " on stream ", stream_id, " (rounded to ", format_bytes(size),
         ", needing a new segment of ", format_bytes(seg_size), "); ",
         format_bytes(stats_.allocated_bytes), " allocated, ",
         format_bytes(stats_.reserved_bytes), " reserved by the caching allocator. "
         "The device refused the segment even after all cached free segments were released.");
  }
  ++stats_.num_device_allocs;
  stats_.reserved_bytes += seg_size;
  update_peaks_locked();
  block->stream = stream_id;
  block->size = seg_size;
  block->ptr = ptr;
  block->pool = &pool;
  return block.release();
}

// Splits `block` (not in any pool) into its first `size` bytes and a free remainder that goes
// into the pool. The allocated part keeps the lower address, so a segment fills front to back.
void CachingAllocator::split_block(Block* block, size_t size) {
  auto rest = std::make_unique<Block>();
  rest->stream = block->stream;
  rest->size = block->size - size;
  rest->ptr = static_cast<char*>(block->ptr) + size;
  rest->pool = block->pool;
  rest->prev = block;
  rest->next = block->next;
  block->pool->blocks.insert(rest.get());  // may throw: nothing linked yet
  if (block->next != nullptr) block->next->prev = rest.get();
  block->next = rest.get();
  block->size = size;
  rest.release();
}

void CachingAllocator::deallocate(void* p) {
  if (p == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = active_.find(p);
  MM_CHECK(it != active_.end(), Runtime, "CachingAllocator::deallocate", "pointer ", p,
           " is not a live block of this allocator (never allocated here, an interior pointer, "
           "or already freed)");
  Block* block = it->second;
  active_.erase(it);
  block->allocated = false;
  stats_.allocated_bytes -= block->size;
  ++stats_.num_frees;
  try_merge(block, block->prev);
  try_merge(block, block->next);
  block->pool->blocks.insert(block);
}

// Merges free neighbour `src` into `dst` (dst is not in the pool; src, if free, is).
void CachingAllocator::try_merge(Block* dst, Block* src) {
  if (src == nullptr || src->allocated) return;
  dst->pool->blocks.erase(src);  // before any field of src changes: the set is keyed on them
  if (src == dst->prev) {
    dst->ptr = src->ptr;
    dst->prev = src->prev;
    if (dst->prev != nullptr) dst->prev->next = dst;
  } else {
    dst->next = src->next;
    if (dst->next != nullptr) dst->next->prev = dst;
  }
  dst->size += src->size;
  delete src;
}

// Returns every entirely free segment (an unsplit free block) of both pools to the device.
void CachingAllocator::release_cached_segments_locked() {
  for (Pool* pool : {&small_pool_, &large_pool_}) {
    for (auto it = pool->blocks.begin(); it != pool->blocks.end();) {
      Block* b = *it;
      if (b->prev != nullptr || b->next != nullptr) {
        ++it;
        continue;
      }
      dev_->raw_free(b->ptr);
      ++stats_.num_device_frees;
      stats_.reserved_bytes -= b->size;
      it = pool->blocks.erase(it);
      delete b;
    }
  }
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  release_cached_segments_locked();
}

void CachingAllocator::update_peaks_locked() {
  stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
  stats_.peak_reserved_bytes = std::max(stats_.peak_reserved_bytes, stats_.reserved_bytes);
}

CachingAllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak_stats() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
  stats_.peak_reserved_bytes = stats_.reserved_bytes;
}

std::vector<CachingSegmentInfo> CachingAllocator::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const Block*> heads;
  for (const Pool* pool : {&small_pool_, &large_pool_})
    for (const Block* b : pool->blocks)
      if (b->prev == nullptr) heads.push_back(b);
  for (const auto& [ptr, b] : active_)
    if (b->prev == nullptr) heads.push_back(b);
  std::sort(heads.begin(), heads.end(), [](const Block* a, const Block* b) {
    return reinterpret_cast<uintptr_t>(a->ptr) < reinterpret_cast<uintptr_t>(b->ptr);
  });
  std::vector<CachingSegmentInfo> out;
  for (const Block* head : heads) {
    CachingSegmentInfo seg{head->ptr, 0, head->stream, head->pool->is_small, {}};
    for (const Block* b = head; b != nullptr; b = b->next) {
      seg.blocks.push_back({b->ptr, b->size, b->allocated});
      seg.size += b->size;
    }
    out.push_back(std::move(seg));
  }
  return out;
}

}  // namespace mm
