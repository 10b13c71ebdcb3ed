// Planted bugs: kernels with the mistakes the emulation exists to catch, each next to its correct
// twin. If one of these tests fails, the harness has lost the ability to see that kind of bug.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "tests/cuda_emulation/emulation_test_util.h"

namespace mm::cuda::testing {
namespace {

constexpr int kThreads = 256;

// Sum of 256 values: partials in shared memory, thread 0 adds them up. The buggy twin forgets the
// barrier between the writes and thread 0's reads.
template <bool kSync>
__global__ void block_sum(const float* x, float* out) {
  __shared__ float part[kThreads];
  part[threadIdx.x] = x[threadIdx.x];
  if (kSync) __syncthreads();
  if (threadIdx.x == 0) {
    float s = 0;
    for (int i = 0; i < kThreads; ++i) s += part[i];
    *out = s;
  }
}

float run_block_sum(void (*kernel)(const float*, float*)) {
  std::vector<float> h(kThreads);
  std::iota(h.begin(), h.end(), 1.0f);
  float* x = device_alloc<float>(kThreads);
  float* out = device_alloc<float>(1);
  cudaMemcpy(x, h.data(), sizeof(float) * kThreads, cudaMemcpyHostToDevice);
  // Shared memory is per block and reused between launches: fill it from fresh (NaN-poisoned) memory
  // first, so it cannot hold the right partials by accident.
  float* poison = device_alloc<float>(kThreads);
  launch(block_sum<true>, dim3(1), dim3(kThreads), 0, "reset", static_cast<const float*>(poison), out);
  launch(kernel, dim3(1), dim3(kThreads), 0, "block_sum", static_cast<const float*>(x), out);
  float r = to_host(out, 1)[0];
  cudaFree(poison);
  cudaFree(x);
  cudaFree(out);
  return r;
}

TEST(PlantedBugs, MissingSyncthreadsGivesAWrongSum) {
  const float want = kThreads * (kThreads + 1) / 2.0f;
  EXPECT_EQ(run_block_sum(block_sum<true>), want);
  EXPECT_NE(run_block_sum(block_sum<false>), want);
}

// Accumulates into `out` with atomics; the host is supposed to zero `out` first.
__global__ void accumulate(const float* x, int n, float* out) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) atomicAdd(out, x[i]);
}

TEST(PlantedBugs, UninitialisedDeviceMemoryReadsAsNaN) {
  std::vector<float> h(100, 1.0f);
  float* x = device_alloc<float>(100);
  float* out = device_alloc<float>(1);
  cudaMemcpy(x, h.data(), 400, cudaMemcpyHostToDevice);
  launch(accumulate, dim3(1), dim3(64), 0, "accumulate", static_cast<const float*>(x), 100, out);  // bug: no memset
  EXPECT_TRUE(std::isnan(to_host(out, 1)[0]));
  cudaMemset(out, 0, sizeof(float));
  launch(accumulate, dim3(1), dim3(64), 0, "accumulate", static_cast<const float*>(x), 100, out);
  EXPECT_EQ(to_host(out, 1)[0], 100.0f);
  cudaFree(x);
  cudaFree(out);
}

// Reads dynamic shared memory that only half the threads wrote.
__global__ void half_written_shared(float* out) {
  MM_DYNAMIC_SHARED(float, buf);
  if (threadIdx.x < 16) buf[threadIdx.x] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = buf[threadIdx.x];
}

TEST(PlantedBugs, UnwrittenSharedMemoryReadsAsNaN) {
  float* out = device_alloc<float>(32);
  launch(half_written_shared, dim3(1), dim3(32), 32 * sizeof(float), "half_written_shared", out);
  auto h = to_host(out, 32);
  for (int i = 0; i < 32; ++i) {
    if (i < 16)
      EXPECT_EQ(h[i], 1.0f);
    else
      EXPECT_TRUE(std::isnan(h[i])) << i;
  }
  cudaFree(out);
}

// Writes one element past the end of its buffer (the classic `i <= n`).
__global__ void off_by_one(float* y, int n) {
  for (int i = threadIdx.x; i <= n; i += blockDim.x) y[i] = 0.0f;
}

#if defined(__SANITIZE_ADDRESS__)
TEST(PlantedBugsDeathTest, OutOfBoundsWriteIsCaughtByAddressSanitizer) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        float* y = device_alloc<float>(100);
        launch(off_by_one, dim3(1), dim3(32), 0, "off_by_one", y, 100);
        cudaDeviceSynchronize();
      },
      "heap-buffer-overflow");
}
#endif

TEST(PlantedBugs, InBoundsTwinOfTheOutOfBoundsKernelIsClean) {
  float* y = device_alloc<float>(101);
  launch(off_by_one, dim3(1), dim3(32), 0, "off_by_one", y, 100);
  EXPECT_EQ(to_host(y, 101), std::vector<float>(101, 0.0f));
  cudaFree(y);
}

// Half a warp waits in a shuffle for lanes that went on to __syncthreads: a GPU hangs here.
__global__ void divergent_shuffle(float* out) {
  float v = static_cast<float>(threadIdx.x);
  if (threadIdx.x % 32 < 16) v = __shfl_sync(0xffffffffu, v, 0);
  __syncthreads();
  out[threadIdx.x] = v;
}

TEST(PlantedBugsDeathTest, DivergentCollectiveIsReportedAsDeadlock) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        float* out = device_alloc<float>(64);
        launch(divergent_shuffle, dim3(1), dim3(64), 0, "divergent_shuffle", out);
        cudaDeviceSynchronize();
      },
      "kernel 'divergent_shuffle'.*deadlock");
}

__global__ void mismatched_collectives(int* out) {
  const int lane = threadIdx.x % 32;
  out[lane] = lane % 2 ? __shfl_xor_sync(0xffffffffu, lane, 1) : __shfl_down_sync(0xffffffffu, lane, 1);
}

// Lanes in divergent branches may use different collectives on disjoint masks (legal on Volta+).
__global__ void disjoint_collectives(int* out) {
  const int lane = threadIdx.x % 32;
  out[lane] = lane < 16 ? __shfl_sync(0x0000ffffu, lane, 15) : __shfl_xor_sync(0xffff0000u, lane, 1);
}

TEST(PlantedBugs, DisjointDivergentCollectivesAreLegal) {
  int* out = device_alloc<int>(32);
  launch(disjoint_collectives, dim3(1), dim3(32), 0, "disjoint_collectives", out);
  auto h = to_host(out, 32);
  for (int l = 0; l < 32; ++l) EXPECT_EQ(h[l], l < 16 ? 15 : l ^ 1) << l;
  cudaFree(out);
}

TEST(PlantedBugsDeathTest, LanesMeetingAtDifferentCollectivesAreReported) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        int* out = device_alloc<int>(32);
        launch(mismatched_collectives, dim3(1), dim3(32), 0, "mismatched_collectives", out);
        cudaDeviceSynchronize();
      },
      "deadlock.*lanes of warp 0 wait at different warp collectives");
}

__global__ void mask_without_own_lane(int* out) {
  out[threadIdx.x] = __shfl_sync(0x1u, static_cast<int>(threadIdx.x), 0);
}

TEST(PlantedBugsDeathTest, MaskThatOmitsTheCallingLaneIsReported) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        int* out = device_alloc<int>(2);
        launch(mask_without_own_lane, dim3(1), dim3(2), 0, "mask_without_own_lane", out);
        cudaDeviceSynchronize();
      },
      "lane 1 with a mask \\(0x00000001\\) that does not include it");
}

}  // namespace
}  // namespace mm::cuda::testing
