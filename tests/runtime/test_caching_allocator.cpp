#include "runtime/cuda_caching_allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "runtime/error.h"

namespace mm {
namespace {

constexpr size_t KiB = size_t(1) << 10;
constexpr size_t MiB = size_t(1) << 20;

// Fake device: hands out host memory from aligned_alloc (the allocator never touches it), records
// every call, and refuses allocations that would exceed `capacity` bytes outstanding.
class FakeDevice : public DeviceMemoryInterface {
 public:
  explicit FakeDevice(size_t capacity = SIZE_MAX) : capacity(capacity) {}
  ~FakeDevice() override {
    EXPECT_TRUE(live.empty()) << live.size() << " device allocations leaked";
    for (auto& [p, n] : live) std::free(p);
  }
  void* raw_alloc(size_t nbytes) override {
    alloc_calls.push_back(nbytes);
    if (nbytes > capacity || in_use + nbytes > capacity) {
      ++refused;
      return nullptr;
    }
    void* p = std::aligned_alloc(4096, (nbytes + 4095) / 4096 * 4096);
    live[p] = nbytes;
    in_use += nbytes;
    return p;
  }
  void raw_free(void* p) override {
    auto it = live.find(p);
    if (it == live.end()) {
      ADD_FAILURE() << "raw_free of a pointer the device never handed out";
      return;
    }
    free_calls.push_back(it->second);
    in_use -= it->second;
    live.erase(it);
    std::free(p);
  }

  size_t capacity;
  size_t in_use = 0;
  int refused = 0;
  std::map<void*, size_t> live;
  std::vector<size_t> alloc_calls;  // sizes of every raw_alloc call, refused ones included
  std::vector<size_t> free_calls;   // sizes of freed segments
};

uintptr_t addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

TEST(CachingAllocator, RoundingAndSegmentSizes) {
  EXPECT_EQ(CachingAllocator::round_size(1), 512u);
  EXPECT_EQ(CachingAllocator::round_size(512), 512u);
  EXPECT_EQ(CachingAllocator::round_size(513), 1024u);
  EXPECT_EQ(CachingAllocator::round_size(MiB + 1), MiB + 512);
  EXPECT_EQ(CachingAllocator::segment_size(512), 2 * MiB);
  EXPECT_EQ(CachingAllocator::segment_size(MiB), 2 * MiB);
  EXPECT_EQ(CachingAllocator::segment_size(MiB + 512), 20 * MiB);
  EXPECT_EQ(CachingAllocator::segment_size(10 * MiB - 512), 20 * MiB);
  EXPECT_EQ(CachingAllocator::segment_size(10 * MiB), 10 * MiB);
  EXPECT_EQ(CachingAllocator::segment_size(11 * MiB), 12 * MiB);

  FakeDevice dev;
  CachingAllocator alloc(&dev);
  void* a = alloc.allocate(1);
  EXPECT_EQ(alloc.stats().allocated_bytes, 512u);
  void* b = alloc.allocate(513);
  EXPECT_EQ(alloc.stats().allocated_bytes, 512u + 1024u);
  EXPECT_EQ(addr(b) - addr(a), 512u);  // a occupies exactly one 512-byte granule
  EXPECT_EQ(alloc.allocate(0), nullptr);
  alloc.deallocate(nullptr);
  EXPECT_EQ(alloc.stats().num_allocs, 2u);
  alloc.deallocate(a);
  alloc.deallocate(b);
}

TEST(CachingAllocator, BlocksAre512Aligned) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  std::vector<void*> ptrs;
  for (size_t n : {size_t(1), size_t(700), size_t(4097), MiB - 3, MiB + 3, 12 * MiB + 5})
    ptrs.push_back(alloc.allocate(n));
  for (void* p : ptrs) EXPECT_EQ(addr(p) % 512, 0u);
  for (void* p : ptrs) alloc.deallocate(p);
}

TEST(CachingAllocator, SmallAndLargePoolChoice) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  void* s = alloc.allocate(MiB);  // largest small request
  EXPECT_EQ(dev.alloc_calls, (std::vector<size_t>{2 * MiB}));
  void* l2 = alloc.allocate(11 * MiB);  // >= 10 MiB: dedicated segment rounded to 2 MiB
  EXPECT_EQ(dev.alloc_calls.back(), 12 * MiB);
  void* l1 = alloc.allocate(MiB + 1);  // smallest large request: shared 20 MiB segment
  EXPECT_EQ(dev.alloc_calls.back(), 20 * MiB);
  EXPECT_EQ(dev.alloc_calls.size(), 3u);
  auto snap = alloc.snapshot();
  ASSERT_EQ(snap.size(), 3u);
  int small = 0;
  for (auto& seg : snap) small += seg.small_pool ? 1 : 0;
  EXPECT_EQ(small, 1);

  // A freed large segment is not used for small requests, nor a small one for large requests.
  alloc.deallocate(l2);
  alloc.deallocate(s);
  void* s2 = alloc.allocate(1000);  // reuses the small segment, not the 12 MiB one
  EXPECT_EQ(s2, s);
  // The small segment has ~2 MiB free but is not eligible; among the large free blocks (the
  // ~19 MiB tail of l1's segment and l2's 12 MiB block) best fit picks the 12 MiB one.
  void* big = alloc.allocate(2 * MiB);
  EXPECT_EQ(big, l2);
  EXPECT_EQ(dev.alloc_calls.size(), 3u);
  for (void* p : {s2, l1, big}) alloc.deallocate(p);
}

TEST(CachingAllocator, FreedBlockIsReusedWithoutDeviceCall) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  void* a = alloc.allocate(4096);
  alloc.deallocate(a);
  void* b = alloc.allocate(4000);  // same rounded size
  EXPECT_EQ(a, b);
  void* big = alloc.allocate(30 * MiB);
  alloc.deallocate(big);
  void* big2 = alloc.allocate(30 * MiB - 100);
  EXPECT_EQ(big, big2);
  EXPECT_EQ(dev.alloc_calls.size(), 2u);
  EXPECT_EQ(alloc.stats().num_device_allocs, 2u);
  alloc.deallocate(b);
  alloc.deallocate(big2);
}

TEST(CachingAllocator, SmallAllocationsShareOneSegment) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  void* a = alloc.allocate(1000);
  void* b = alloc.allocate(3000);
  ASSERT_EQ(dev.live.size(), 1u);
  const uintptr_t seg = addr(dev.live.begin()->first);
  EXPECT_EQ(addr(a), seg);
  EXPECT_EQ(addr(b), seg + 1024);
  EXPECT_LT(addr(b) + 3072, seg + 2 * MiB);
  auto snap = alloc.snapshot();
  ASSERT_EQ(snap.size(), 1u);
  ASSERT_EQ(snap[0].blocks.size(), 3u);  // a, b, free tail
  EXPECT_EQ(snap[0].blocks[2].size, 2 * MiB - 1024 - 3072);
  EXPECT_FALSE(snap[0].blocks[2].allocated);
  alloc.deallocate(a);
  alloc.deallocate(b);
}

TEST(CachingAllocator, LargeSplitOnlyWhenRemainderExceeds1MiB) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  void* a = alloc.allocate(9 * MiB);  // 20 MiB segment, 11 MiB remainder: split
  EXPECT_EQ(alloc.stats().allocated_bytes, 9 * MiB);
  void* b = alloc.allocate(10 * MiB);  // fits in the 11 MiB remainder: 1 MiB left, not split
  EXPECT_EQ(addr(b), addr(a) + 9 * MiB);
  EXPECT_EQ(alloc.stats().allocated_bytes, 20 * MiB);  // b holds 11 MiB, slack included
  EXPECT_EQ(dev.alloc_calls.size(), 1u);

  void* c = alloc.allocate(19 * MiB + 512 * KiB);  // own 20 MiB segment, 0.5 MiB slack
  EXPECT_EQ(dev.alloc_calls.back(), 20 * MiB);
  EXPECT_EQ(alloc.stats().allocated_bytes, 40 * MiB);
  for (void* p : {a, b, c}) alloc.deallocate(p);
  EXPECT_EQ(alloc.stats().allocated_bytes, 0u);
}

TEST(CachingAllocator, BestFitPicksSmallestSufficientBlock) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  void* a = alloc.allocate(4096);
  void* sep1 = alloc.allocate(512);
  void* b = alloc.allocate(8192);
  void* sep2 = alloc.allocate(512);
  void* c = alloc.allocate(16384);
  void* sep3 = alloc.allocate(512);
  alloc.deallocate(c);
  alloc.deallocate(a);
  alloc.deallocate(b);
  EXPECT_EQ(alloc.allocate(5000), b);   // 4 KiB too small; 8 KiB beats 16 KiB and the tail
  EXPECT_EQ(alloc.allocate(4096), a);   // exact fit
  void* d = alloc.allocate(10000);      // 16 KiB block, split
  EXPECT_EQ(d, c);
  EXPECT_EQ(dev.alloc_calls.size(), 1u);
  for (void* p : {a, b, d, sep1, sep2, sep3}) alloc.deallocate(p);
}

TEST(CachingAllocator, AdjacentFreeBlocksCoalesce) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  void* a = alloc.allocate(512 * KiB);
  void* b = alloc.allocate(512 * KiB);
  void* c = alloc.allocate(512 * KiB);  // leaves a 512 KiB tail
  alloc.deallocate(a);
  alloc.deallocate(b);  // merges with a into a 1 MiB block at the segment start
  void* d = alloc.allocate(MiB);
  EXPECT_EQ(d, a);
  EXPECT_EQ(dev.alloc_calls.size(), 1u);  // without coalescing this would need a new segment

  // Freeing the middle last merges both neighbours: the segment becomes one block again.
  void* e = alloc.allocate(512 * KiB);  // the tail
  alloc.deallocate(d);
  alloc.deallocate(e);
  alloc.deallocate(c);
  auto snap = alloc.snapshot();
  ASSERT_EQ(snap.size(), 1u);
  ASSERT_EQ(snap[0].blocks.size(), 1u);
  EXPECT_EQ(snap[0].blocks[0].size, 2 * MiB);
  EXPECT_EQ(alloc.allocate(MiB + 0), a);  // whole-segment block serves again from the start
  alloc.empty_cache();                    // segment now split and partly live: kept
  EXPECT_EQ(dev.free_calls.size(), 0u);
  alloc.deallocate(a);
  alloc.empty_cache();
  EXPECT_EQ(dev.free_calls, (std::vector<size_t>{2 * MiB}));
}

TEST(CachingAllocator, LargeBlocksCoalesceAcrossSplits) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  void* a = alloc.allocate(4 * MiB);
  void* b = alloc.allocate(4 * MiB);
  void* c = alloc.allocate(4 * MiB);
  alloc.deallocate(a);
  alloc.deallocate(b);
  void* d = alloc.allocate(7 * MiB);  // only the merged 8 MiB run (or the 8 MiB tail) fits
  EXPECT_EQ(d, a);                    // best fit tie on 8 MiB: lowest address wins
  EXPECT_EQ(dev.alloc_calls.size(), 1u);
  alloc.deallocate(c);
  alloc.deallocate(d);
  EXPECT_EQ(alloc.snapshot()[0].blocks.size(), 1u);
}

TEST(CachingAllocator, BlocksAreTiedToTheirStream) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  void* a = alloc.allocate(4096, /*stream_id=*/0);
  alloc.deallocate(a);
  void* b = alloc.allocate(4096, /*stream_id=*/1);
  EXPECT_NE(b, a);
  EXPECT_EQ(dev.alloc_calls.size(), 2u);  // stream 1 could not use stream 0's cached segment
  void* c = alloc.allocate(4096, 0);
  EXPECT_EQ(c, a);
  void* d = alloc.allocate(8192, 1);  // stream 1's segment serves stream 1 again
  EXPECT_EQ(addr(d), addr(b) + 4096);
  EXPECT_EQ(dev.alloc_calls.size(), 2u);
  auto snap = alloc.snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_NE(snap[0].stream_id, snap[1].stream_id);
  for (void* p : {b, c, d}) alloc.deallocate(p);

  // The other direction: only a higher stream has free blocks (they sort after the request key).
  FakeDevice dev2;
  CachingAllocator alloc2(&dev2);
  void* x = alloc2.allocate(4096, /*stream_id=*/5);
  alloc2.deallocate(x);
  void* y = alloc2.allocate(4096, /*stream_id=*/2);
  EXPECT_NE(y, x);
  EXPECT_EQ(dev2.alloc_calls.size(), 2u);
  alloc2.deallocate(y);
}

TEST(CachingAllocator, OomFreesCachedSegmentsAndRetries) {
  FakeDevice dev(21 * MiB);
  CachingAllocator alloc(&dev);
  void* s = alloc.allocate(1000);  // 2 MiB small segment
  alloc.deallocate(s);             // cached
  void* big = alloc.allocate(5 * MiB);  // 20 MiB segment does not fit next to the cached 2 MiB
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(dev.refused, 1);
  EXPECT_EQ(dev.alloc_calls, (std::vector<size_t>{2 * MiB, 20 * MiB, 20 * MiB}));
  EXPECT_EQ(dev.free_calls, (std::vector<size_t>{2 * MiB}));
  CachingAllocatorStats st = alloc.stats();
  EXPECT_EQ(st.num_ooms, 0u);
  EXPECT_EQ(st.reserved_bytes, 20 * MiB);
  EXPECT_EQ(st.peak_reserved_bytes, 20 * MiB);
  EXPECT_EQ(st.num_device_frees, 1u);
  alloc.deallocate(big);
}

TEST(CachingAllocator, OomWithoutCachedMemoryThrowsClearError) {
  FakeDevice dev(21 * MiB);
  CachingAllocator alloc(&dev);
  void* s = alloc.allocate(500);  // 512 B, live: its segment cannot be released
  try {
    alloc.allocate(5 * MiB);
    FAIL() << "expected an out-of-memory mm::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("out of device memory"), std::string::npos) << msg;
    EXPECT_NE(msg.find("5.00 MiB (5242880 bytes)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("512 bytes allocated"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2.00 MiB (2097152 bytes) reserved"), std::string::npos) << msg;
  }
  EXPECT_EQ(dev.refused, 2);  // first try and the retry
  EXPECT_TRUE(dev.free_calls.empty());
  CachingAllocatorStats st = alloc.stats();
  EXPECT_EQ(st.num_ooms, 1u);
  EXPECT_EQ(st.num_allocs, 1u);
  EXPECT_EQ(st.allocated_bytes, 512u);
  EXPECT_EQ(st.reserved_bytes, 2 * MiB);
  // The allocator is still usable afterwards.
  void* t = alloc.allocate(1000);
  EXPECT_EQ(addr(t), addr(s) + 512);
  alloc.deallocate(s);
  alloc.deallocate(t);
}

TEST(CachingAllocator, StatsAreExact) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  void* a = alloc.allocate(1000);     // 1024 from a 2 MiB segment
  void* b = alloc.allocate(3 * MiB);  // 3 MiB from a 20 MiB segment
  CachingAllocatorStats st = alloc.stats();
  EXPECT_EQ(st.allocated_bytes, 3 * MiB + 1024);
  EXPECT_EQ(st.reserved_bytes, 22 * MiB);
  EXPECT_EQ(st.peak_allocated_bytes, 3 * MiB + 1024);
  EXPECT_EQ(st.peak_reserved_bytes, 22 * MiB);
  EXPECT_EQ(st.num_allocs, 2u);
  EXPECT_EQ(st.num_frees, 0u);
  EXPECT_EQ(st.num_device_allocs, 2u);
  EXPECT_EQ(st.num_device_frees, 0u);
  alloc.deallocate(b);
  void* c = alloc.allocate(2 * MiB);  // reuses the large segment
  st = alloc.stats();
  EXPECT_EQ(st.allocated_bytes, 2 * MiB + 1024);
  EXPECT_EQ(st.peak_allocated_bytes, 3 * MiB + 1024);
  EXPECT_EQ(st.num_allocs, 3u);
  EXPECT_EQ(st.num_frees, 1u);
  EXPECT_EQ(st.num_device_allocs, 2u);
  alloc.deallocate(a);
  alloc.deallocate(c);
  alloc.empty_cache();
  st = alloc.stats();
  EXPECT_EQ(st.allocated_bytes, 0u);
  EXPECT_EQ(st.reserved_bytes, 0u);
  EXPECT_EQ(st.peak_reserved_bytes, 22 * MiB);
  EXPECT_EQ(st.num_frees, 3u);
  EXPECT_EQ(st.num_device_frees, 2u);
  EXPECT_EQ(st.num_ooms, 0u);
  alloc.reset_peak_stats();
  EXPECT_EQ(alloc.stats().peak_allocated_bytes, 0u);
  EXPECT_EQ(alloc.stats().peak_reserved_bytes, 0u);
}

TEST(CachingAllocator, EmptyCacheReleasesOnlyFullyFreeSegments) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  void* live_small = alloc.allocate(1000);  // segment 1 (2 MiB): stays live
  void* freed_large = alloc.allocate(12 * MiB);  // segment 2 (12 MiB): freed entirely
  void* split_a = alloc.allocate(3 * MiB);  // segment 3 (20 MiB): half free
  void* split_b = alloc.allocate(3 * MiB);
  alloc.deallocate(freed_large);
  alloc.deallocate(split_a);
  alloc.empty_cache();
  EXPECT_EQ(dev.free_calls, (std::vector<size_t>{12 * MiB}));
  EXPECT_EQ(alloc.stats().reserved_bytes, 22 * MiB);
  EXPECT_EQ(alloc.snapshot().size(), 2u);
  alloc.deallocate(split_b);  // now segment 3 is one free block again
  alloc.empty_cache();
  EXPECT_EQ(dev.free_calls, (std::vector<size_t>{12 * MiB, 20 * MiB}));
  EXPECT_EQ(alloc.stats().reserved_bytes, 2 * MiB);
  alloc.deallocate(live_small);
}

TEST(CachingAllocator, FreeingUnknownPointerThrows) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  int local = 0;
  EXPECT_THROW(alloc.deallocate(&local), Error);
  void* p = alloc.allocate(4096);
  EXPECT_THROW(alloc.deallocate(static_cast<char*>(p) + 512), Error);  // interior pointer
  alloc.deallocate(p);
  try {
    alloc.deallocate(p);
    FAIL() << "double free must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
    EXPECT_NE(std::string(e.what()).find("CachingAllocator::deallocate"), std::string::npos);
  }
  EXPECT_EQ(alloc.stats().num_frees, 1u);
}

TEST(CachingAllocator, DestructorReturnsAllSegments) {
  FakeDevice dev;
  {
    CachingAllocator alloc(&dev);
    alloc.allocate(1000);     // left live on purpose
    void* b = alloc.allocate(2000);
    alloc.allocate(15 * MiB);
    alloc.deallocate(b);
    EXPECT_EQ(dev.live.size(), 2u);
  }
  EXPECT_TRUE(dev.live.empty());
  EXPECT_EQ(dev.free_calls.size(), 2u);
}

TEST(CachingAllocator, NullDeviceIsRejected) {
  EXPECT_THROW({ CachingAllocator a(nullptr); }, Error);
}

TEST(CachingAllocator, ConcurrentUseIsConsistent) {
  FakeDevice dev;
  CachingAllocator alloc(&dev);
  constexpr int kThreads = 8, kIters = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&alloc, t] {
      std::vector<void*> mine;
      for (int i = 0; i < kIters; ++i) {
        const size_t n = (i % 7 == 0) ? (2 + size_t(i % 5)) * MiB : 512 + size_t((i * 131) % 60000);
        mine.push_back(alloc.allocate(n, t % 2));
        if (mine.size() > 6) {
          alloc.deallocate(mine.front());
          mine.erase(mine.begin());
        }
      }
      for (void* p : mine) alloc.deallocate(p);
    });
  }
  for (auto& th : threads) th.join();
  CachingAllocatorStats st = alloc.stats();
  EXPECT_EQ(st.allocated_bytes, 0u);
  EXPECT_EQ(st.num_allocs, uint64_t(kThreads) * kIters);
  EXPECT_EQ(st.num_frees, st.num_allocs);
  EXPECT_LT(st.num_device_allocs, 100u);  // caching works under contention
  for (const auto& seg : alloc.snapshot()) EXPECT_EQ(seg.blocks.size(), 1u);  // all coalesced
  alloc.empty_cache();
  EXPECT_TRUE(dev.live.empty());
  EXPECT_EQ(alloc.stats().reserved_bytes, 0u);
}

}  // namespace
}  // namespace mm
