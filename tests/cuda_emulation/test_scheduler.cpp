// The scheduler: every visiting order and worker count gives the same results for correct kernels;
// lanes that exit early leave warp collectives and barriers to the lanes still alive.
#include <gtest/gtest.h>

#include <numeric>

#include "ops/cuda/block_reduce.cuh"
#include "tests/cuda_emulation/emulation_test_util.h"

namespace mm::cuda::testing {
namespace {

struct AddOp {
  float operator()(float a, float b) const { return a + b; }
};

// One sum per block through the project's block_reduce (shuffles + shared memory + barriers).
__global__ void row_sums(const float* x, int n, float* out) {
  __shared__ float shared[32];
  float s = 0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += x[blockIdx.x * n + i];
  s = block_reduce(s, AddOp{}, 0.0f, shared);
  if (threadIdx.x == 0) out[blockIdx.x] = s;
}

__global__ void count_up(unsigned* counter, int per_thread) {
  for (int i = 0; i < per_thread; ++i) atomicAdd(counter, 1u);
}

class EveryScheduleTest : public ::testing::TestWithParam<std::tuple<emu::ScheduleOrder, int>> {
 protected:
  void SetUp() override {
    emu::set_schedule_order(std::get<0>(GetParam()));
    emu::set_workers(std::get<1>(GetParam()));
  }
  void TearDown() override {
    emu::set_schedule_order(emu::ScheduleOrder::Forward);
    emu::set_workers(1);
  }
};

TEST_P(EveryScheduleTest, BlockReductionsAndAtomicsAgree) {
  const int rows = 7, n = 1000;
  std::vector<float> h(rows * n);
  std::iota(h.begin(), h.end(), 0.0f);  // integer sums below 2^24: exact in any order
  float* x = device_alloc<float>(h.size());
  float* out = device_alloc<float>(rows);
  cudaMemcpy(x, h.data(), h.size() * 4, cudaMemcpyHostToDevice);
  launch(row_sums, dim3(rows), dim3(256), 0, "row_sums", static_cast<const float*>(x), n, out);
  auto got = to_host(out, rows);
  for (int r = 0; r < rows; ++r) {
    double want = 0;
    for (int i = 0; i < n; ++i) want += h[r * n + i];
    EXPECT_EQ(got[r], want) << "row " << r;
  }
  unsigned* counter = device_alloc<unsigned>(1);
  cudaMemset(counter, 0, 4);
  launch(count_up, dim3(16), dim3(128), 0, "count_up", counter, 10);
  EXPECT_EQ(to_host(counter, 1)[0], 16u * 128u * 10u);
  cudaFree(x);
  cudaFree(out);
  cudaFree(counter);
}

INSTANTIATE_TEST_SUITE_P(Orders, EveryScheduleTest,
                         ::testing::Combine(::testing::Values(emu::ScheduleOrder::Forward, emu::ScheduleOrder::Reverse,
                                                              emu::ScheduleOrder::Shuffle),
                                            ::testing::Values(1, 2)));

// Lanes 20..31 return at once; the rest still shuffle (full mask: exited lanes drop out, as on a GPU)
// and meet at __syncthreads without the exited threads.
__global__ void early_exit(int* out) {
  const int lane = threadIdx.x % 32;
  if (lane >= 20) return;
  const int v = __shfl_down_sync(0xffffffffu, lane, 1);
  __syncthreads();
  out[threadIdx.x] = v;
}

TEST(Scheduler, ExitedLanesLeaveCollectivesAndBarriers) {
  int* out = device_alloc<int>(64);
  cudaMemset(out, 0xFF, 64 * 4);
  launch(early_exit, dim3(1), dim3(64), 0, "early_exit", out);
  auto h = to_host(out, 64);
  for (int t = 0; t < 64; ++t) {
    const int lane = t % 32;
    if (lane >= 20) {
      EXPECT_EQ(h[t], -1) << t;  // never written
    } else if (lane < 19) {
      EXPECT_EQ(h[t], lane + 1) << t;
    } else {
      EXPECT_EQ(h[t], -1) << "lane 19 reads lane 20, which exited: the poison value";
    }
  }
  cudaFree(out);
}

// A block whose size is not a multiple of 32: the last warp is partial and its collectives involve
// only the lanes that exist.
__global__ void partial_warp_ballot(unsigned* out) { out[threadIdx.x] = __ballot_sync(0xffffffffu, 1); }

TEST(Scheduler, PartialLastWarp) {
  unsigned* out = device_alloc<unsigned>(40);
  launch(partial_warp_ballot, dim3(1), dim3(40), 0, "partial_warp_ballot", out);
  auto h = to_host(out, 40);
  for (int t = 0; t < 32; ++t) EXPECT_EQ(h[t], 0xffffffffu);
  for (int t = 32; t < 40; ++t) EXPECT_EQ(h[t], 0xffu);
  cudaFree(out);
}

}  // namespace
}  // namespace mm::cuda::testing
