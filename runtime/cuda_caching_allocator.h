// CUDA caching allocator, modeled on PyTorch's CUDACachingAllocator.
//
// cudaMalloc/cudaFree are slow (cudaFree synchronizes the whole device), so device memory is
// requested in large segments, carved into blocks, and freed blocks are kept for reuse instead of
// being returned. This file is plain host C++: the device is reached only through
// DeviceMemoryInterface (the real implementation wraps cudaMalloc/cudaFree and lives elsewhere),
// so all of the bookkeeping below is unit-tested on CPU-only machines with a fake device. The
// allocator never dereferences the pointers it manages.
//
// Behaviour, and why:
//  * Sizes are rounded up to a multiple of 512 bytes (kMinBlockSize); 0 bytes returns nullptr
//    (and deallocate(nullptr) is a no-op), as PyTorch does. 512 keeps every block aligned for
//    any vector load and bounds the number of distinct sizes.
//  * Two pools. Requests <= 1 MiB (kSmallSize) use the small pool, served from 2 MiB segments
//    (kSmallBuffer); bigger ones use the large pool, with 20 MiB segments (kLargeBuffer) for
//    requests < 10 MiB (kMinLargeAlloc) and otherwise a segment of the request rounded up to
//    2 MiB (kRoundLarge). Keeping small blocks away from large segments stops many tiny
//    long-lived tensors from pinning big segments (fragmentation), and packing medium requests
//    into shared 20 MiB segments cuts the number of cudaMalloc calls.
//  * Best fit: each pool is an ordered set keyed by (stream, size, address); lower_bound finds
//    the smallest free block of the right stream that fits, lowest address first on ties.
//  * Splitting: if the chosen block is bigger than needed, the tail becomes a new free block
//    when the remainder is worth keeping: >= 512 B in the small pool, > 1 MiB in the large pool.
//    An unsplit large block is handed out whole (up to 1 MiB of internal slack), which avoids
//    littering the large pool with slivers no large request can use. allocated_bytes counts the
//    size of the block handed out, slack included, so it always agrees with what is pinned.
//  * Coalescing: on free, a block merges with its free neighbours in the same segment, so a
//    segment whose blocks are all free becomes one unsplit block again.
//  * Streams: a block is tied to the stream it was allocated on and is reused only for requests
//    on that same stream_id. Kernels on one stream run in order, so a block freed on the host
//    may still be read by queued kernels on its stream but can safely be given to the next
//    kernel of that stream; handing it to another stream would need event synchronization.
//  * Out of memory: if the device refuses a segment, every cached segment that is entirely free
//    (unsplit) is returned to the device (as empty_cache) and the request retried once; if that
//    fails too, num_ooms is incremented and mm::Error(Runtime) is thrown, giving the requested
//    size and the allocated/reserved totals so the user can tell real exhaustion from caching.
//  * empty_cache() returns every entirely free segment to the device; segments with any live
//    block stay. Destroying the allocator returns all segments, live ones included.
//  * Freeing a pointer that is not a live block of this allocator (unknown, interior, or already
//    freed) throws mm::Error(Runtime).
//  * Thread-safe: one mutex guards all state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

namespace mm {

// The device memory primitive the allocator is built on.
struct DeviceMemoryInterface {
  virtual ~DeviceMemoryInterface() = default;
  virtual void* raw_alloc(size_t nbytes) = 0;  // returns nullptr when out of memory
  virtual void raw_free(void* ptr) = 0;
};

struct CachingAllocatorStats {
  size_t allocated_bytes = 0;       // live blocks (block sizes, i.e. rounded, slack included)
  size_t reserved_bytes = 0;        // segments currently held from the device
  size_t peak_allocated_bytes = 0;
  size_t peak_reserved_bytes = 0;
  uint64_t num_allocs = 0;          // successful non-zero allocate() calls
  uint64_t num_frees = 0;           // deallocate() calls that freed a block
  uint64_t num_device_allocs = 0;   // successful raw_alloc calls
  uint64_t num_device_frees = 0;    // raw_free calls
  uint64_t num_ooms = 0;            // allocate() calls that threw out-of-memory
};

// Introspection (memory snapshot): one entry per segment, blocks in address order.
struct CachingBlockInfo {
  void* ptr;
  size_t size;
  bool allocated;
};
struct CachingSegmentInfo {
  void* ptr;
  size_t size;
  int stream_id;
  bool small_pool;
  std::vector<CachingBlockInfo> blocks;
};

class CachingAllocator {
 public:
  static constexpr size_t kMinBlockSize = 512;                // rounding granularity
  static constexpr size_t kSmallSize = size_t(1) << 20;       // largest small-pool request
  static constexpr size_t kSmallBuffer = size_t(2) << 20;     // small-pool segment size
  static constexpr size_t kLargeBuffer = size_t(20) << 20;    // shared large-pool segment size
  static constexpr size_t kMinLargeAlloc = size_t(10) << 20;  // from here segments fit the request
  static constexpr size_t kRoundLarge = size_t(2) << 20;      // rounding of dedicated segments
  // Requests above this are rejected up front so rounding can never overflow.
  static constexpr size_t kMaxRequestBytes = size_t(1) << 60;

  // dev must outlive the allocator.
  explicit CachingAllocator(DeviceMemoryInterface* dev);
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(size_t nbytes, int stream_id = 0);
  void deallocate(void* p);
  void empty_cache();
  CachingAllocatorStats stats() const;
  void reset_peak_stats();  // peaks := current values
  std::vector<CachingSegmentInfo> snapshot() const;

  // nbytes rounded to the block granularity (512 B, minimum 512).
  static size_t round_size(size_t nbytes);
  // Size of the segment requested from the device for a rounded request.
  static size_t segment_size(size_t rounded);

 private:
  struct Block;
  struct BlockComparator {
    bool operator()(const Block* a, const Block* b) const;
  };
  using BlockSet = std::set<Block*, BlockComparator>;
  struct Pool {
    BlockSet blocks;  // free blocks only
    bool is_small;
  };

  Block* find_free_block(Pool& pool, size_t size, int stream_id);
  Block* alloc_segment(Pool& pool, size_t size, size_t seg_size, int stream_id, size_t nbytes);
  void split_block(Block* block, size_t size);
  void try_merge(Block* dst, Block* src);
  void release_cached_segments_locked();
  void update_peaks_locked();

  DeviceMemoryInterface* dev_;
  mutable std::mutex mu_;
  Pool small_pool_{{}, true};
  Pool large_pool_{{}, false};
  std::unordered_map<void*, Block*> active_;  // live blocks by address
  CachingAllocatorStats stats_;
};

}  // namespace mm
