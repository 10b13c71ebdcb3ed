// The CUDA device API the kernels rely on — block barriers, shuffles of every kind and width, votes,
// atomics, dynamic shared memory, 3-D grids, f16/bf16 conversions — checked against results worked out
// on the host from the CUDA Programming Guide's definitions. Compiled by nvcc in a CUDA build (run on a
// GPU) and as C++ in the emulation build (run by the emulator), so the two must agree with the same
// expectations. Skips without a device.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "runtime/cuda/launch.h"

namespace mm::cuda {

// cudaStreamLegacy, like the backend; defined there. (Declared in launch.h.)

namespace {

bool have_device() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return n > 0;
}

// A device buffer holding a copy of host data, read back with get().
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(const std::vector<T>& host) : n_(host.size()) {
    MM_CUDA_CHECK(cudaMalloc(&p_, n_ * sizeof(T)), "test");
    MM_CUDA_CHECK(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), "test");
  }
  explicit DeviceBuffer(size_t n, T fill = T()) : DeviceBuffer(std::vector<T>(n, fill)) {}
  ~DeviceBuffer() { cudaFree(p_); }
  T* get() const { return static_cast<T*>(p_); }
  std::vector<T> host() const {
    std::vector<T> h(n_);
    MM_CUDA_CHECK(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost), "test");
    return h;
  }

 private:
  void* p_ = nullptr;
  size_t n_;
};

// ---- block barrier + static shared memory -----------------------------------------------------

__global__ void block_tree_sum(const float* x, float* out) {
  __shared__ float buf[256];
  buf[threadIdx.x] = x[blockIdx.x * blockDim.x + threadIdx.x];
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = buf[0];
}

TEST(DeviceApi, SyncthreadsTreeReduction) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  std::vector<float> x(3 * 256);
  std::iota(x.begin(), x.end(), 0.0f);  // integers: every partial sum is exact
  DeviceBuffer<float> dx(x), out(3);
  launch(block_tree_sum, dim3(3), dim3(256), 0, "block_tree_sum", dx.get(), out.get());
  auto got = out.host();
  for (int b = 0; b < 3; ++b) {
    double want = 0;
    for (int i = 0; i < 256; ++i) want += x[b * 256 + i];
    EXPECT_EQ(got[b], want) << "block " << b;
  }
}

// ---- shuffles ---------------------------------------------------------------------------------

// Per thread: [idx, up, down, xor] results for one width, lane values v = 100·warp + lane.
__global__ void shuffles(int width, int* out) {
  const int t = threadIdx.x, lane = t % 32;
  const int v = 100 * (t / 32) + lane;
  out[4 * t + 0] = __shfl_sync(0xffffffffu, v, lane + 3, width);
  out[4 * t + 1] = __shfl_up_sync(0xffffffffu, v, 2, width);
  out[4 * t + 2] = __shfl_down_sync(0xffffffffu, v, 5, width);
  out[4 * t + 3] = __shfl_xor_sync(0xffffffffu, v, 3, width);
}

TEST(DeviceApi, ShufflesWithEveryWidth) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  for (int width : {32, 16, 8, 4, 2}) {
    DeviceBuffer<int> out(4 * 64, -7);
    launch(shuffles, dim3(1), dim3(64), 0, "shuffles", width, out.get());
    auto got = out.host();
    for (int t = 0; t < 64; ++t) {
      const int warp = t / 32, lane = t % 32, base = lane / width * width;
      auto val = [&](int l) { return 100 * warp + l; };
      // Programming Guide: idx reads lane srcLane mod width of its own segment; up/down keep their own
      // value when the source falls outside the segment; xor may not reach later segments.
      const int idx = val(base + (lane + 3) % width);
      const int up = lane - 2 >= base ? val(lane - 2) : val(lane);
      const int down = lane + 5 < base + width ? val(lane + 5) : val(lane);
      const int x = lane ^ 3;
      const int xr = x < base + width ? val(x) : val(lane);
      EXPECT_EQ(got[4 * t + 0], idx) << "idx width " << width << " thread " << t;
      EXPECT_EQ(got[4 * t + 1], up) << "up width " << width << " thread " << t;
      EXPECT_EQ(got[4 * t + 2], down) << "down width " << width << " thread " << t;
      EXPECT_EQ(got[4 * t + 3], xr) << "xor width " << width << " thread " << t;
    }
  }
}

// Shuffles move 64-bit and floating values whole.
__global__ void shuffle_wide(double* d, long long* q) {
  const int lane = threadIdx.x;
  d[lane] = __shfl_xor_sync(0xffffffffu, 0.5 + lane, 16);
  q[lane] = __shfl_sync(0xffffffffu, (1LL << 40) + lane, 31 - lane);
}

TEST(DeviceApi, ShufflesOfDoublesAndLongs) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  DeviceBuffer<double> d(32);
  DeviceBuffer<long long> q(32);
  launch(shuffle_wide, dim3(1), dim3(32), 0, "shuffle_wide", d.get(), q.get());
  auto hd = d.host();
  auto hq = q.host();
  for (int l = 0; l < 32; ++l) {
    EXPECT_EQ(hd[l], 0.5 + (l ^ 16));
    EXPECT_EQ(hq[l], (1LL << 40) + (31 - l));
  }
}

// ---- votes ------------------------------------------------------------------------------------

// [ballot, any, all, all-with-one-false, any-all-false] over the full warp, then [ballot, any, all]
// over the even lanes only.
__global__ void votes(unsigned* out) {
  const int lane = threadIdx.x % 32;
  const int pred = lane % 3 == 0;
  unsigned* o = out + 8 * threadIdx.x;
  o[0] = __ballot_sync(0xffffffffu, pred);
  o[1] = __any_sync(0xffffffffu, lane == 31);
  o[2] = __all_sync(0xffffffffu, lane < 40);
  o[3] = __all_sync(0xffffffffu, lane != 5);
  o[4] = __any_sync(0xffffffffu, lane > 40);
  if (lane % 2 == 0) {
    o[5] = __ballot_sync(0x55555555u, pred);
    o[6] = __any_sync(0x55555555u, lane == 31);  // 31 is odd: not a participant
    o[7] = __all_sync(0x55555555u, lane % 2 == 0);
  }
}

TEST(DeviceApi, VotesOverFullAndPartialMasks) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  DeviceBuffer<unsigned> out(8 * 64, 0xDEADu);
  launch(votes, dim3(1), dim3(64), 0, "votes", out.get());
  auto got = out.host();
  unsigned ballot = 0, ballot_even = 0;
  for (int l = 0; l < 32; ++l)
    if (l % 3 == 0) {
      ballot |= 1u << l;
      if (l % 2 == 0) ballot_even |= 1u << l;
    }
  for (int t = 0; t < 64; ++t) {
    const unsigned* o = got.data() + 8 * t;
    EXPECT_EQ(o[0], ballot);
    EXPECT_EQ(o[1], 1u);
    EXPECT_EQ(o[2], 1u);
    EXPECT_EQ(o[3], 0u);
    EXPECT_EQ(o[4], 0u);
    if (t % 2 == 0) {
      EXPECT_EQ(o[5], ballot_even);
      EXPECT_EQ(o[6], 0u);
      EXPECT_EQ(o[7], 1u);
    } else {
      EXPECT_EQ(o[5], 0xDEADu);  // odd lanes did not vote
    }
  }
}

// ---- atomics ------------------------------------------------------------------------------------

struct AtomicTargets {
  int* count;
  int* olds;  // what each thread's atomicAdd(count, 1) returned
  unsigned long long* big;
  float* fsum;
  double* dsum;
  int* maxv;
  int* minv;
  unsigned* cas_count;
  int* last;
  int* down;
  unsigned *or_bits, *and_bits, *xor_bits, *inc, *dec;
};

__global__ void atomics(AtomicTargets a) {
  const int g = blockIdx.x * blockDim.x + threadIdx.x;
  a.olds[g] = atomicAdd(a.count, 1);
  atomicAdd(a.big, 1ULL << 33);
  atomicAdd(a.fsum, 0.5f);  // multiples of 0.5 up to 512: exact in any order
  atomicAdd(a.dsum, static_cast<double>(g));
  atomicMax(a.maxv, (g * 37) % 1000);
  atomicMin(a.minv, 5000 - g);
  unsigned old = atomicAdd(a.cas_count, 0u), seen;  // increment by compare-and-swap, retrying on contention
  while ((seen = atomicCAS(a.cas_count, old, old + 1)) != old) old = seen;
  atomicExch(a.last, 7);
  atomicSub(a.down, 1);
  atomicOr(a.or_bits, 1u << (g % 32));
  atomicAnd(a.and_bits, ~(1u << (g % 32)));
  atomicXor(a.xor_bits, 1u << (g % 32));
  atomicInc(a.inc, 99u);  // wraps to 0 after 99
  atomicDec(a.dec, 99u);  // wraps from 0 to 99
}

TEST(DeviceApi, AtomicsFromManyBlocks) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  constexpr int kBlocks = 4, kThreads = 256, n = kBlocks * kThreads;
  DeviceBuffer<int> count(1, 0), olds(n, -1), maxv(1, -1), minv(1, 1 << 30), last(1, 0), down(1, n);
  DeviceBuffer<unsigned long long> big(1, 0);
  DeviceBuffer<float> fsum(1, 0.0f);
  DeviceBuffer<double> dsum(1, 0.0);
  DeviceBuffer<unsigned> cas(1, 0u), or_bits(1, 0u), and_bits(1, ~0u), xor_bits(1, 0u), inc(1, 0u), dec(1, 0u);
  launch(atomics, dim3(kBlocks), dim3(kThreads), 0, "atomics",
         AtomicTargets{count.get(), olds.get(), big.get(), fsum.get(), dsum.get(), maxv.get(), minv.get(), cas.get(),
                       last.get(), down.get(), or_bits.get(), and_bits.get(), xor_bits.get(), inc.get(), dec.get()});
  int want_max = 0;
  for (int g = 0; g < n; ++g) want_max = std::max(want_max, (g * 37) % 1000);
  EXPECT_EQ(count.host()[0], n);
  auto o = olds.host();
  std::sort(o.begin(), o.end());
  for (int i = 0; i < n; ++i) ASSERT_EQ(o[i], i) << "atomicAdd must return each old value exactly once";
  EXPECT_EQ(big.host()[0], static_cast<unsigned long long>(n) << 33);
  EXPECT_EQ(fsum.host()[0], 0.5f * n);
  EXPECT_EQ(dsum.host()[0], n * (n - 1) / 2.0);
  EXPECT_EQ(maxv.host()[0], want_max);
  EXPECT_EQ(minv.host()[0], 5000 - (n - 1));
  EXPECT_EQ(cas.host()[0], static_cast<unsigned>(n));
  EXPECT_EQ(last.host()[0], 7);
  EXPECT_EQ(down.host()[0], 0);
  EXPECT_EQ(or_bits.host()[0], ~0u);
  EXPECT_EQ(and_bits.host()[0], 0u);
  EXPECT_EQ(xor_bits.host()[0], 0u);  // every bit toggled n/32 = 32 times
  EXPECT_EQ(inc.host()[0], static_cast<unsigned>(n % 100));           // counts 0..99 and wraps
  EXPECT_EQ(dec.host()[0], static_cast<unsigned>((100 - n % 100) % 100));  // 0 → 99 → ... after n steps
}

// ---- dynamic shared memory ----------------------------------------------------------------------

__global__ void reverse_in_shared(const float* x, float* y, int n) {
  MM_DYNAMIC_SHARED(float, buf);
  const float* row = x + blockIdx.x * n;
  for (int i = threadIdx.x; i < n; i += blockDim.x) buf[i] = row[i];
  __syncthreads();
  for (int i = threadIdx.x; i < n; i += blockDim.x) y[blockIdx.x * n + i] = buf[n - 1 - i];
}

TEST(DeviceApi, DynamicSharedMemoryPerBlock) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  const int n = 1000, rows = 3;
  std::vector<float> x(rows * n);
  std::iota(x.begin(), x.end(), 1.0f);
  DeviceBuffer<float> dx(x), dy(rows * n);
  launch(reverse_in_shared, dim3(rows), dim3(128), n * sizeof(float), "reverse_in_shared", dx.get(), dy.get(), n);
  auto y = dy.host();
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < n; ++i) ASSERT_EQ(y[r * n + i], x[r * n + n - 1 - i]) << r << "," << i;
}

// ---- 3-D grids and blocks -----------------------------------------------------------------------

__global__ void coordinates(int* out) {
  const int bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const int tx = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const int g = bx * (blockDim.x * blockDim.y * blockDim.z) + tx;
  out[4 * g + 0] = blockIdx.x * 100 + blockIdx.y * 10 + blockIdx.z;
  out[4 * g + 1] = threadIdx.x * 100 + threadIdx.y * 10 + threadIdx.z;
  out[4 * g + 2] = gridDim.x * 100 + gridDim.y * 10 + gridDim.z;
  out[4 * g + 3] = blockDim.x * 100 + blockDim.y * 10 + blockDim.z;
}

TEST(DeviceApi, ThreeDimensionalGridAndBlock) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  const dim3 grid(2, 3, 2), block(4, 2, 3);
  const int n = 12 * 24;
  DeviceBuffer<int> out(4 * n, -1);
  launch(coordinates, grid, block, 0, "coordinates", out.get());
  auto got = out.host();
  for (unsigned bz = 0; bz < 2; ++bz)
    for (unsigned by = 0; by < 3; ++by)
      for (unsigned bx = 0; bx < 2; ++bx)
        for (unsigned tz = 0; tz < 3; ++tz)
          for (unsigned ty = 0; ty < 2; ++ty)
            for (unsigned tx = 0; tx < 4; ++tx) {
              const unsigned g = (bx + 2 * (by + 3 * bz)) * 24 + tx + 4 * (ty + 2 * tz);
              EXPECT_EQ(got[4 * g + 0], static_cast<int>(bx * 100 + by * 10 + bz));
              EXPECT_EQ(got[4 * g + 1], static_cast<int>(tx * 100 + ty * 10 + tz));
              EXPECT_EQ(got[4 * g + 2], 232);
              EXPECT_EQ(got[4 * g + 3], 423);
            }
}

// ---- f16 / bf16 -----------------------------------------------------------------------------------

__global__ void round_trip_half(const float* x, float* h, float* b, int n) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    h[i] = __half2float(__float2half_rn(x[i]));
    b[i] = __bfloat162float(__float2bfloat16_rn(x[i]));
  }
}

TEST(DeviceApi, HalfAndBfloat16Conversions) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  std::vector<float> x = {0.0f, -0.0f, 1.0f, 1.0009765625f, 3.14159265f, -65504.0f, 65520.0f, 1e-8f, 1e-40f, 1e30f};
  // The float bits of each value after a round trip through f16 and through bf16, round to nearest
  // even: computed independently with numpy's float16 and a 16-bit RNE truncation of the f32 bits.
  const uint32_t want_half[] = {0x0, 0x80000000, 0x3f800000, 0x3f802000, 0x40490000,
                                0xc77fe000, 0x7f800000, 0x0, 0x0, 0x7f800000};
  const uint32_t want_bf16[] = {0x0, 0x80000000, 0x3f800000, 0x3f800000, 0x40490000,
                                0xc7800000, 0x47800000, 0x322c0000, 0x10000, 0x714a0000};
  const int n = static_cast<int>(x.size());
  DeviceBuffer<float> dx(x), h(n), b(n);
  launch(round_trip_half, dim3(1), dim3(32), 0, "round_trip_half", dx.get(), h.get(), b.get(), n);
  auto hh = h.host(), hb = b.host();
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(std::bit_cast<uint32_t>(hh[i]), want_half[i]) << "f16 " << x[i];
    EXPECT_EQ(std::bit_cast<uint32_t>(hb[i]), want_bf16[i]) << "bf16 " << x[i];
  }
}

// ---- launch configuration errors ------------------------------------------------------------------

__global__ void noop() {}

TEST(DeviceApi, InvalidLaunchConfigurationsAreErrors) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device";
  for (auto [grid, block, shared] : {std::tuple{dim3(1), dim3(1025), size_t(0)},
                                     std::tuple{dim3(1), dim3(32, 32, 2), size_t(0)},
                                     std::tuple{dim3(1), dim3(1, 1, 65), size_t(0)},
                                     std::tuple{dim3(0), dim3(32), size_t(0)},
                                     std::tuple{dim3(1, 65536), dim3(32), size_t(0)}}) {
    try {
      launch(noop, grid, block, shared, "noop");
      ADD_FAILURE() << "no error for grid " << grid.x << "," << grid.y << " block " << block.x << "," << block.y
                    << "," << block.z;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cudaErrorInvalidConfiguration"), std::string::npos) << e.what();
    }
  }
  try {  // more dynamic shared memory than a block may have: an invalid argument, not a configuration
    launch(noop, dim3(1), dim3(32), size_t(1) << 20, "noop");
    ADD_FAILURE() << "no error for 1 MiB of shared memory";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cudaErrorInvalidValue"), std::string::npos) << e.what();
  }
  launch(noop, dim3(1), dim3(1024), 0, "noop");  // the largest legal block still launches
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

}  // namespace
}  // namespace mm::cuda
