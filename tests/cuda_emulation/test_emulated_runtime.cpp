// The emulated CUDA runtime: lazy stream queues and their ordering (streams, events, the legacy
// stream's implicit synchronisation, pageable copies), device memory (poison, bounds, OOM) and the
// errors each call returns.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "runtime/tensor.h"
#include "tests/cuda_emulation/emulation_test_util.h"

namespace mm::cuda::testing {
namespace {

__global__ void fill(float* x, int n, float v) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) x[i] = v;
}
__global__ void add_from(float* y, const float* x, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) y[i] += x[i];
}

template <typename... A>
void launch_on(cudaStream_t s, void (*k)(A...), dim3 g, dim3 b, auto... args) {
  emu::launch_kernel(g, b, 0, s, "test", [=] { k(args...); });
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(EmulatedRuntime, FreshDeviceMemoryIsPoisonedWithNaN) {
  float* f = device_alloc<float>(64);
  double* d = device_alloc<double>(8);
  for (float v : to_host(f, 64)) EXPECT_TRUE(std::isnan(v));
  for (double v : to_host(d, 8)) EXPECT_TRUE(std::isnan(v));
  cudaFree(f);
  cudaFree(d);
}

TEST(EmulatedRuntime, KernelsRunLazilyAtSynchronisation) {
  float* x = device_alloc<float>(100);
  launch_on(cudaStreamLegacy, fill, dim3(2), dim3(32), x, 100, 3.0f);
  EXPECT_TRUE(std::isnan(peek(x + 99))) << "queued work ran before anyone synchronised";
  ASSERT_EQ(cudaStreamSynchronize(cudaStreamLegacy), cudaSuccess);
  EXPECT_EQ(peek(x + 99), 3.0f);
  cudaFree(x);
}

TEST(EmulatedRuntime, PageableHostToDeviceCopyIsStagedAtTheCall) {
  float* x = device_alloc<float>(4);
  std::vector<float> h = {1, 2, 3, 4};
  ASSERT_EQ(cudaMemcpyAsync(x, h.data(), 16, cudaMemcpyHostToDevice, cudaStreamLegacy), cudaSuccess);
  h.assign(4, -1.0f);  // allowed: the runtime has already staged the pageable source
  EXPECT_EQ(to_host(x, 4), (std::vector<float>{1, 2, 3, 4}));
  cudaFree(x);
}

TEST(EmulatedRuntime, DeviceToPageableHostCopyCompletesBeforeReturning) {
  float* x = device_alloc<float>(8);
  launch_on(cudaStreamLegacy, fill, dim3(1), dim3(8), x, 8, 5.0f);
  std::vector<float> h(8, 0.0f);
  ASSERT_EQ(cudaMemcpyAsync(h.data(), x, 32, cudaMemcpyDeviceToHost, cudaStreamLegacy), cudaSuccess);
  EXPECT_EQ(h, std::vector<float>(8, 5.0f));  // the queued fill ran first, the copy finished
  cudaFree(x);
}

TEST(EmulatedRuntime, HostToHostCopyIsSynchronous) {
  float* x = device_alloc<float>(1);
  launch_on(cudaStreamLegacy, fill, dim3(1), dim3(1), x, 1, 1.0f);
  float a[2] = {1, 2}, b[2] = {0, 0};
  ASSERT_EQ(cudaMemcpyAsync(b, a, sizeof a, cudaMemcpyHostToHost, cudaStreamLegacy), cudaSuccess);
  EXPECT_EQ(b[1], 2.0f);
  EXPECT_EQ(peek(x), 1.0f) << "and ordered after the stream's earlier work";
  cudaFree(x);
}

TEST(EmulatedRuntime, PinnedDeviceToHostCopyIsAsynchronous) {
  float* x = device_alloc<float>(8);
  float* pinned = nullptr;
  ASSERT_EQ(cudaMallocHost(reinterpret_cast<void**>(&pinned), 32), cudaSuccess);
  std::fill_n(pinned, 8, 0.0f);
  launch_on(cudaStreamLegacy, fill, dim3(1), dim3(8), x, 8, 6.0f);
  ASSERT_EQ(cudaMemcpyAsync(pinned + 4, x, 16, cudaMemcpyDeviceToHost, cudaStreamLegacy), cudaSuccess);
  EXPECT_EQ(pinned[4], 0.0f) << "a copy into pinned memory (here its interior) must stay queued";
  ASSERT_EQ(cudaStreamSynchronize(cudaStreamLegacy), cudaSuccess);
  EXPECT_EQ(pinned[7], 6.0f);
  EXPECT_EQ(pinned[3], 0.0f);
  cudaFreeHost(pinned);
  cudaFree(x);
}

TEST(EmulatedRuntime, StreamWaitEventOrdersWorkAcrossStreams) {
  cudaStream_t a, b;
  ASSERT_EQ(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), cudaSuccess);
  cudaEvent_t done;
  ASSERT_EQ(cudaEventCreate(&done), cudaSuccess);
  float *x = device_alloc<float>(64), *y = device_alloc<float>(64);
  launch_on(b, fill, dim3(1), dim3(64), y, 64, 1.0f);
  launch_on(a, fill, dim3(1), dim3(64), x, 64, 2.0f);
  ASSERT_EQ(cudaEventRecord(done, a), cudaSuccess);
  ASSERT_EQ(cudaStreamWaitEvent(b, done, 0), cudaSuccess);
  launch_on(b, add_from, dim3(1), dim3(64), y, static_cast<const float*>(x), 64);
  EXPECT_TRUE(std::isnan(peek(x))) << "nothing should have run before synchronisation";
  ASSERT_EQ(cudaStreamSynchronize(b), cudaSuccess);  // runs a up to the event first, then b
  EXPECT_EQ(peek(y + 63), 3.0f);
  EXPECT_EQ(cudaEventQuery(done), cudaSuccess);
  ASSERT_EQ(cudaEventDestroy(done), cudaSuccess);
  EXPECT_EQ(cudaEventQuery(done), cudaErrorInvalidResourceHandle);
  (void)cudaGetLastError();
  cudaFree(x);
  cudaFree(y);
  cudaStreamDestroy(a);
  cudaStreamDestroy(b);
}

TEST(EmulatedRuntime, WaitingOnAnEventRunsTheOtherStreamOnlyUpToIt) {
  cudaStream_t a, b;
  ASSERT_EQ(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), cudaSuccess);
  cudaEvent_t e;
  ASSERT_EQ(cudaEventCreate(&e), cudaSuccess);
  float *x = device_alloc<float>(1), *y = device_alloc<float>(1), *z = device_alloc<float>(1);
  cudaMemset(y, 0, 4);
  launch_on(a, fill, dim3(1), dim3(1), x, 1, 1.0f);
  ASSERT_EQ(cudaEventRecord(e, a), cudaSuccess);
  launch_on(a, fill, dim3(1), dim3(1), z, 1, 5.0f);  // after the event
  ASSERT_EQ(cudaStreamWaitEvent(b, e, 0), cudaSuccess);
  launch_on(b, add_from, dim3(1), dim3(1), y, static_cast<const float*>(x), 1);
  ASSERT_EQ(cudaStreamSynchronize(b), cudaSuccess);
  EXPECT_EQ(peek(y), 1.0f);
  EXPECT_TRUE(std::isnan(peek(z))) << "work queued on a after the event ran";
  ASSERT_EQ(cudaEventSynchronize(e), cudaSuccess);
  EXPECT_TRUE(std::isnan(peek(z)));
  ASSERT_EQ(cudaStreamSynchronize(a), cudaSuccess);
  EXPECT_EQ(peek(z), 5.0f);
  cudaEventDestroy(e);
  cudaFree(x);
  cudaFree(y);
  cudaFree(z);
  cudaStreamDestroy(a);
  cudaStreamDestroy(b);
}

TEST(EmulatedRuntime, AWaitKeepsItsRecordWhenTheEventIsRecordedAgain) {
  cudaStream_t a, b, c;
  for (cudaStream_t* s : {&a, &b, &c}) ASSERT_EQ(cudaStreamCreateWithFlags(s, cudaStreamNonBlocking), cudaSuccess);
  cudaEvent_t e, e2;
  ASSERT_EQ(cudaEventCreate(&e), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&e2), cudaSuccess);
  float *x = device_alloc<float>(1), *y = device_alloc<float>(1);
  cudaMemset(y, 0, 4);
  launch_on(a, fill, dim3(1), dim3(1), x, 1, 2.0f);
  ASSERT_EQ(cudaEventRecord(e, a), cudaSuccess);
  ASSERT_EQ(cudaStreamWaitEvent(b, e, 0), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(e, c), cudaSuccess);  // re-recorded on an idle stream, which then completes
  ASSERT_EQ(cudaStreamSynchronize(c), cudaSuccess);
  launch_on(b, add_from, dim3(1), dim3(1), y, static_cast<const float*>(x), 1);
  ASSERT_EQ(cudaStreamSynchronize(b), cudaSuccess);
  EXPECT_EQ(peek(y), 2.0f) << "b's wait must still cover the first record on a";
  // Elapsed time between two completed records.
  ASSERT_EQ(cudaEventRecord(e2, c), cudaSuccess);
  ASSERT_EQ(cudaEventSynchronize(e2), cudaSuccess);
  float ms = -1;
  ASSERT_EQ(cudaEventElapsedTime(&ms, e, e2), cudaSuccess);
  EXPECT_GE(ms, 0.0f);
  cudaEventDestroy(e);
  cudaEventDestroy(e2);
  cudaFree(x);
  cudaFree(y);
  for (cudaStream_t s : {a, b, c}) cudaStreamDestroy(s);
}

TEST(EmulatedRuntime, LegacyStreamWaitsForBlockingStreams) {
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);  // blocking: ordered with the legacy stream
  float *x = device_alloc<float>(32), *y = device_alloc<float>(32);
  ASSERT_EQ(cudaMemset(y, 0, 128), cudaSuccess);
  launch_on(s, fill, dim3(1), dim3(32), x, 32, 4.0f);
  launch_on(cudaStreamLegacy, add_from, dim3(1), dim3(32), y, static_cast<const float*>(x), 32);
  EXPECT_EQ(to_host(y, 32), std::vector<float>(32, 4.0f));
  cudaFree(x);
  cudaFree(y);
  cudaStreamDestroy(s);
}

TEST(EmulatedRuntime, StreamQueryReportsPendingWork) {
  float* x = device_alloc<float>(1);
  launch_on(cudaStreamLegacy, fill, dim3(1), dim3(1), x, 1, 1.0f);
  EXPECT_EQ(cudaStreamQuery(cudaStreamLegacy), cudaErrorNotReady);
  EXPECT_EQ(cudaStreamQuery(cudaStreamLegacy), cudaSuccess);  // and polling makes progress
  cudaFree(x);
}

TEST(EmulatedRuntime, CopiesCheckDirectionAndBounds) {
  float* x = device_alloc<float>(4);
  float h[4] = {};
  EXPECT_EQ(cudaMemcpy(x, h, 16, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);  // directions swapped
  EXPECT_EQ(cudaMemcpy(h, x, 20, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);  // past the allocation
  EXPECT_EQ(cudaMemcpy(h, x + 1, 16, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemset(h, 0, 16), cudaErrorInvalidValue);  // host memory is not device memory
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // reading the last error clears it
  EXPECT_EQ(cudaMemcpy(h, x, 16, cudaMemcpyDefault), cudaSuccess);  // inferred: device to host
  EXPECT_EQ(cudaFree(h), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(x), cudaSuccess);
  EXPECT_EQ(cudaFree(x), cudaErrorInvalidValue);  // double free
  (void)cudaGetLastError();
}

TEST(EmulatedRuntime, InvalidHandlesAndDevices) {
  auto bogus = reinterpret_cast<cudaStream_t>(0x1234);
  EXPECT_EQ(cudaStreamSynchronize(bogus), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaStreamDestroy(bogus), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaSetDevice(1), cudaErrorInvalidDevice);
  EXPECT_STREQ(cudaGetErrorString(cudaErrorInvalidDevice), "invalid device ordinal");
  EXPECT_STREQ(cudaGetErrorName(cudaErrorInvalidResourceHandle), "cudaErrorInvalidResourceHandle");
  emu::launch_kernel(dim3(1), dim3(1), 0, bogus, "test", [] {});
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidResourceHandle);
}

TEST(EmulatedRuntime, OutOfMemoryIsAnErrorNotACrash) {
  void* p = reinterpret_cast<void*>(0x1);
  EXPECT_EQ(cudaMalloc(&p, size_t(1) << 50), cudaErrorMemoryAllocation);
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);
  EXPECT_STREQ(cudaGetErrorString(cudaErrorMemoryAllocation), "out of memory");
  try {
    Tensor t = Tensor::empty({int64_t(1) << 48}, DType::F32, cuda_device(0));
    ADD_FAILURE() << "a 1 PiB tensor was allocated";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of memory"), std::string::npos) << e.what();
  }
}

TEST(EmulatedRuntime, OneDeviceWithGpuLimits) {
  int n = 0;
  ASSERT_EQ(cudaGetDeviceCount(&n), cudaSuccess);
  EXPECT_EQ(n, 1);
  cudaDeviceProp p;
  ASSERT_EQ(cudaGetDeviceProperties(&p, 0), cudaSuccess);
  EXPECT_EQ(p.warpSize, 32);
  EXPECT_EQ(p.maxThreadsPerBlock, 1024);
  EXPECT_EQ(p.sharedMemPerBlock, 48u * 1024);
  int v = 0;
  ASSERT_EQ(cudaDeviceGetAttribute(&v, cudaDevAttrMaxBlockDimZ, 0), cudaSuccess);
  EXPECT_EQ(v, 64);
}

}  // namespace
}  // namespace mm::cuda::testing
