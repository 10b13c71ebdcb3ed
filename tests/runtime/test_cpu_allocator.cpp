#include "runtime/cpu_allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/error.h"

namespace mm {
namespace {

bool aligned64(const void* p) { return reinterpret_cast<uintptr_t>(p) % 64 == 0; }

TEST(CpuAllocator, BlocksAre64ByteAlignedAndWritable) {
  CpuAllocator alloc;
  std::vector<void*> ptrs;
  for (size_t n : {size_t(1), size_t(3), size_t(63), size_t(64), size_t(65), size_t(100),
                   size_t(1000), size_t(4097), size_t(1) << 20, (size_t(3) << 20) + 7}) {
    void* p = alloc.allocate(n);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(aligned64(p)) << "size " << n;
    std::memset(p, 0xAB, n);  // ASan flags it if the block is smaller than requested
    ptrs.push_back(p);
  }
  for (void* p : ptrs) alloc.deallocate(p);
  EXPECT_EQ(alloc.stats().allocated_bytes, 0u);
}

TEST(CpuAllocator, RoundSizeClasses) {
  EXPECT_EQ(CpuAllocator::round_size(0), 64u);
  EXPECT_EQ(CpuAllocator::round_size(1), 64u);
  EXPECT_EQ(CpuAllocator::round_size(64), 64u);
  EXPECT_EQ(CpuAllocator::round_size(65), 128u);
  EXPECT_EQ(CpuAllocator::round_size(200), 256u);
  EXPECT_EQ(CpuAllocator::round_size(256), 256u);
  EXPECT_EQ(CpuAllocator::round_size(257), 320u);  // octave [256,512): steps of 64
  EXPECT_EQ(CpuAllocator::round_size(1000), 1024u);
  EXPECT_EQ(CpuAllocator::round_size(1025), 1280u);  // octave [1024,2048): steps of 256
  EXPECT_EQ(CpuAllocator::round_size(1536), 1536u);
  EXPECT_EQ(CpuAllocator::round_size(1537), 1792u);
  EXPECT_EQ(CpuAllocator::round_size((size_t(1) << 20) + 1), (size_t(5) << 20) / 4);
}

TEST(CpuAllocator, RoundSizeBoundsWasteAndIsMonotonic) {
  size_t prev = 0;
  for (size_t n = 1; n < (size_t(1) << 22); n = n * 9 / 8 + 1) {
    const size_t c = CpuAllocator::round_size(n);
    EXPECT_GE(c, n);
    EXPECT_EQ(c % 64, 0u);
    EXPECT_GE(c, prev);
    EXPECT_LE(c - n, n / 4 + 63) << "n=" << n;  // documented bound: < 25% + alignment padding
    prev = c;
  }
}

TEST(CpuAllocator, FreedBlockIsReusedForSameClass) {
  CpuAllocator alloc;
  void* a = alloc.allocate(1000);
  alloc.deallocate(a);
  void* b = alloc.allocate(900);  // same class (1024)
  EXPECT_EQ(a, b);
  CpuAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.num_allocs, 2u);
  EXPECT_EQ(s.num_cache_hits, 1u);
  EXPECT_EQ(s.num_os_allocs, 1u);
  EXPECT_EQ(s.cached_bytes, 0u);
  void* c = alloc.allocate(2000);  // different class: fresh block
  EXPECT_NE(c, b);
  EXPECT_EQ(alloc.stats().num_os_allocs, 2u);
  alloc.deallocate(b);
  alloc.deallocate(c);
}

TEST(CpuAllocator, ZeroBytesGivesUniqueFreeablePointers) {
  CpuAllocator alloc;
  void* a = alloc.allocate(0);
  void* b = alloc.allocate(0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_TRUE(aligned64(a));
  EXPECT_EQ(alloc.stats().allocated_bytes, 128u);
  alloc.deallocate(a);
  alloc.deallocate(b);
  alloc.deallocate(nullptr);  // no-op
  EXPECT_EQ(alloc.stats().allocated_bytes, 0u);
  EXPECT_EQ(alloc.stats().cached_bytes, 128u);
}

TEST(CpuAllocator, StatsAreExact) {
  CpuAllocator alloc;
  void* a = alloc.allocate(100);   // 128
  void* b = alloc.allocate(1000);  // 1024
  CpuAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.allocated_bytes, 1152u);
  EXPECT_EQ(s.peak_allocated_bytes, 1152u);
  EXPECT_EQ(s.cached_bytes, 0u);
  alloc.deallocate(b);
  s = alloc.stats();
  EXPECT_EQ(s.allocated_bytes, 128u);
  EXPECT_EQ(s.cached_bytes, 1024u);
  EXPECT_EQ(s.peak_allocated_bytes, 1152u);
  void* c = alloc.allocate(1024);  // hit
  alloc.deallocate(a);
  alloc.deallocate(c);
  s = alloc.stats();
  EXPECT_EQ(s.allocated_bytes, 0u);
  EXPECT_EQ(s.cached_bytes, 1152u);
  EXPECT_EQ(s.num_allocs, 3u);
  EXPECT_EQ(s.num_cache_hits, 1u);
  EXPECT_EQ(s.num_os_allocs, 2u);
  EXPECT_EQ(s.num_os_frees, 0u);
  alloc.reset_peak_stats();
  EXPECT_EQ(alloc.stats().peak_allocated_bytes, 0u);
  alloc.empty_cache();
  s = alloc.stats();
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.num_os_frees, 2u);
}

TEST(CpuAllocator, LargeBlocksBypassTheCache) {
  CpuAllocatorConfig cfg;
  cfg.max_cached_block_bytes = 4096;
  CpuAllocator alloc(cfg);
  void* big = alloc.allocate(5000);  // class 5120 > 4096: uncached, sized at 64-rounding
  EXPECT_EQ(alloc.stats().allocated_bytes, 5056u);
  alloc.deallocate(big);
  CpuAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.num_os_frees, 1u);
  void* small = alloc.allocate(4096);  // at the threshold: cached
  alloc.deallocate(small);
  EXPECT_EQ(alloc.stats().cached_bytes, 4096u);
}

TEST(CpuAllocator, CacheCapEvictsLeastRecentlyFreed) {
  CpuAllocatorConfig cfg;
  cfg.cache_limit_bytes = 3 * 1024;
  CpuAllocator alloc(cfg);
  void* a = alloc.allocate(1024);
  void* b = alloc.allocate(1024);
  void* c = alloc.allocate(1024);
  void* d = alloc.allocate(1024);
  alloc.deallocate(a);
  alloc.deallocate(b);
  alloc.deallocate(c);
  EXPECT_EQ(alloc.stats().cached_bytes, 3072u);
  alloc.deallocate(d);  // over the cap: `a`, the oldest, goes back to the OS
  CpuAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.cached_bytes, 3072u);
  EXPECT_EQ(s.num_os_frees, 1u);
  // Reuse is most-recently-freed first: d, c, b; then a fresh block.
  EXPECT_EQ(alloc.allocate(1024), d);
  EXPECT_EQ(alloc.allocate(1024), c);
  EXPECT_EQ(alloc.allocate(1024), b);
  EXPECT_EQ(alloc.stats().num_os_allocs, 4u);
  void* e = alloc.allocate(1024);
  EXPECT_EQ(alloc.stats().num_os_allocs, 5u);
  for (void* p : {b, c, d, e}) alloc.deallocate(p);
}

TEST(CpuAllocator, EvictionAcrossClassesKeepsIndexConsistent) {
  CpuAllocatorConfig cfg;
  cfg.cache_limit_bytes = 2048;
  CpuAllocator alloc(cfg);
  void* a = alloc.allocate(1024);
  void* b = alloc.allocate(512);
  void* c = alloc.allocate(1024);
  void* d = alloc.allocate(1024);
  alloc.deallocate(a);  // 1024
  alloc.deallocate(b);  // 1536
  alloc.deallocate(c);  // 2560 > cap: evict a -> 1536
  alloc.deallocate(d);  // 2560: evict b -> 2048
  CpuAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.cached_bytes, 2048u);
  EXPECT_EQ(s.num_os_frees, 2u);
  EXPECT_EQ(alloc.allocate(1024), d);
  EXPECT_EQ(alloc.allocate(1024), c);
  void* fresh = alloc.allocate(512);
  EXPECT_EQ(alloc.stats().num_cache_hits, 2u);
  for (void* p : {c, d, fresh}) alloc.deallocate(p);
}

TEST(CpuAllocator, SetCacheLimitEvictsDownToIt) {
  CpuAllocator alloc;
  std::vector<void*> ptrs;
  for (int i = 0; i < 4; ++i) ptrs.push_back(alloc.allocate(1024));
  for (void* p : ptrs) alloc.deallocate(p);
  EXPECT_EQ(alloc.stats().cached_bytes, 4096u);
  alloc.set_cache_limit(2048);
  EXPECT_EQ(alloc.cache_limit(), 2048u);
  EXPECT_EQ(alloc.stats().cached_bytes, 2048u);
  alloc.set_cache_limit(0);
  EXPECT_EQ(alloc.stats().cached_bytes, 0u);
  void* p = alloc.allocate(64);
  alloc.deallocate(p);  // limit 0: nothing is cached
  EXPECT_EQ(alloc.stats().cached_bytes, 0u);
  EXPECT_EQ(alloc.stats().num_os_frees, 5u);
}

TEST(CpuAllocator, ImpossibleSizeThrowsRuntimeErrorNamingTheSize) {
  CpuAllocator alloc;
  const size_t huge = std::numeric_limits<size_t>::max() - 10;
  try {
    alloc.allocate(huge);
    FAIL() << "expected mm::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
    EXPECT_NE(std::string(e.what()).find(std::to_string(huge)), std::string::npos) << e.what();
  }
  EXPECT_EQ(alloc.stats().allocated_bytes, 0u);
  EXPECT_EQ(alloc.stats().num_allocs, 0u);
}

TEST(CpuAllocator, FreeingUnknownOrFreedPointerThrows) {
  CpuAllocator alloc;
  int local = 0;
  EXPECT_THROW(alloc.deallocate(&local), Error);
  void* p = alloc.allocate(128);
  EXPECT_THROW(alloc.deallocate(static_cast<char*>(p) + 64), Error);  // interior pointer
  alloc.deallocate(p);
  try {
    alloc.deallocate(p);  // double free
    FAIL() << "expected mm::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
  }
  EXPECT_EQ(alloc.stats().cached_bytes, 128u);  // the double free did not cache it twice
}

TEST(CpuAllocator, ConcurrentUseIsConsistent) {
  CpuAllocator alloc;
  constexpr int kThreads = 8, kIters = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&alloc, t] {
      std::vector<void*> mine;
      for (int i = 0; i < kIters; ++i) {
        const size_t n = 64 + size_t((i * 37 + t * 11) % 4000);
        void* p = alloc.allocate(n);
        std::memset(p, t, n);
        mine.push_back(p);
        if (mine.size() > 4) {
          alloc.deallocate(mine.front());
          mine.erase(mine.begin());
        }
      }
      for (void* p : mine) alloc.deallocate(p);
    });
  }
  for (auto& th : threads) th.join();
  CpuAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.allocated_bytes, 0u);
  EXPECT_EQ(s.num_allocs, uint64_t(kThreads) * kIters);
  EXPECT_EQ(s.num_allocs, s.num_cache_hits + s.num_os_allocs);
  EXPECT_GT(s.num_cache_hits, 0u);
}

TEST(CpuAllocator, GlobalInstanceIsShared) {
  CpuAllocator& g = cpu_allocator();
  EXPECT_EQ(&g, &cpu_allocator());
  EXPECT_EQ(g.cache_limit(), size_t(2) << 30);
  void* p = g.allocate(10);
  EXPECT_TRUE(aligned64(p));
  g.deallocate(p);
}

}  // namespace
}  // namespace mm
