// CPU allocator: 64-byte aligned memory with a size-class cache.
//
// Why a cache at all: a training loop allocates and frees the same tensor sizes every step. Large
// blocks from glibc come straight from mmap and go back with munmap on free, so each step would
// page-fault (and zero) fresh pages again. Keeping freed blocks and handing them back for the
// next request of the same size class avoids that, the same idea as PyTorch's CPU caching and
// glibc's bins, but explicit and bounded.
//
// Alignment: every block is 64-byte aligned (one cache line, and the widest AVX-512 vector), and
// every size is a multiple of 64, so vectorized kernels never need a scalar prologue and two
// tensors never share a cache line.
//
// Size classes (CpuAllocator::round_size): requests are rounded up to a multiple of 64; up to
// 256 bytes that multiple is the class. Above 256 bytes each octave [2^k, 2^(k+1)) is split into
// 4 equal steps of 2^(k-2), i.e. classes 2^k, 1.25*2^k, 1.5*2^k, 1.75*2^k. The waste per block is
// therefore below 2^(k-2) <= 25% of the request (about 12.5% on average) plus < 64 bytes of
// alignment padding, while the number of distinct classes stays small (4 per octave), so freed
// blocks are very likely to fit the next request of a similar size.
//
// Bounds: blocks whose class exceeds max_cached_block_bytes (default 256 MiB) bypass the cache
// (allocated at their 64-rounded size, freed straight to the OS): caching a rare giant buffer
// would pin memory for little benefit. The total of cached (free) bytes is capped by
// cache_limit_bytes (default 2 GiB, settable); when a free pushes the cache over the cap the
// least-recently freed blocks are returned to the OS. If the OS refuses an allocation, the whole
// cache is released and the allocation retried once before failing.
//
// Zero-byte requests return a valid, unique, non-null, 64-aligned pointer (a block of the
// smallest class, 64 bytes) that must be passed to deallocate like any other: callers never need
// a special case for empty tensors. deallocate(nullptr) is a no-op.
//
// Thread-safe: one mutex guards all state (allocations are coarse-grained tensor buffers, so a
// single lock is not a bottleneck).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <unordered_map>

namespace mm {

struct CpuAllocatorStats {
  size_t allocated_bytes = 0;       // live blocks, at their rounded size
  size_t cached_bytes = 0;          // free blocks held in the cache
  size_t peak_allocated_bytes = 0;  // max of allocated_bytes since construction / reset_peak_stats
  uint64_t num_allocs = 0;          // successful allocate() calls
  uint64_t num_cache_hits = 0;      // allocations served from the cache
  uint64_t num_os_allocs = 0;       // blocks obtained from the OS
  uint64_t num_os_frees = 0;        // blocks returned to the OS
};

struct CpuAllocatorConfig {
  size_t max_cached_block_bytes = size_t(256) << 20;  // larger blocks bypass the cache
  size_t cache_limit_bytes = size_t(2) << 30;         // cap on cached_bytes
};

class CpuAllocator {
 public:
  static constexpr size_t kAlignment = 64;
  // Requests above this are rejected up front so size rounding can never overflow.
  static constexpr size_t kMaxRequestBytes = size_t(1) << 60;

  explicit CpuAllocator(CpuAllocatorConfig config = {});
  // Returns all memory (cached and still-live blocks) to the OS: pointers handed out by this
  // instance become invalid. The global instance is never destroyed.
  ~CpuAllocator();
  CpuAllocator(const CpuAllocator&) = delete;
  CpuAllocator& operator=(const CpuAllocator&) = delete;

  // 64-byte aligned block of at least nbytes. Throws mm::Error(Runtime) naming the size when the
  // OS cannot provide it.
  void* allocate(size_t nbytes);
  // Frees a block from allocate(). nullptr is a no-op; a pointer this allocator did not hand out
  // (or already freed) throws mm::Error(Runtime).
  void deallocate(void* p);
  // Returns every cached block to the OS.
  void empty_cache();
  // Sets the cap on cached bytes, evicting least-recently freed blocks down to it.
  void set_cache_limit(size_t bytes);
  size_t cache_limit() const;
  CpuAllocatorStats stats() const;
  void reset_peak_stats();

  // The size class of a request (see header comment). nbytes must be <= kMaxRequestBytes.
  static size_t round_size(size_t nbytes);

 private:
  struct CachedBlock {
    void* ptr;
    size_t size;
  };
  struct LiveBlock {
    size_t size;
    bool cacheable;  // false for blocks that bypassed the cache (their size is not a class)
  };
  using LruList = std::list<CachedBlock>;

  void evict_locked(size_t limit);
  void os_free_locked(void* p);

  CpuAllocatorConfig config_;
  mutable std::mutex mu_;
  // Free blocks, least-recently freed first; eviction pops from the front.
  LruList lru_;
  // Per size class, the class's entries of lru_ in free order. Reuse takes the back (most
  // recently freed: likely still warm in cache/TLB); eviction takes the front, which is always
  // lru_.front() because both containers are appended in the same order.
  std::unordered_map<size_t, std::deque<LruList::iterator>> free_by_class_;
  std::unordered_map<void*, LiveBlock> live_;
  CpuAllocatorStats stats_;
};

// The process-wide CPU allocator used for all CPU tensor storage.
CpuAllocator& cpu_allocator();

}  // namespace mm
