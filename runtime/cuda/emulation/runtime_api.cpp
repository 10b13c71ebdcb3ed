// The CUDA runtime API on the host: one emulated device, device memory as host memory, streams as
// lazy queues (see emulator.h for the model). Only what the project calls and its obvious companions
// are implemented; each checks its arguments and returns the error a GPU's runtime documents.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "runtime/cuda/emulation/emulator.h"

namespace mm::cuda::emu {

namespace {

// ---- state -----------------------------------------------------------------------------------

// A point in a stream's queue: set when the queue has run up to it. Event records and the implicit
// dependencies between the legacy stream and blocking streams are markers, so waiting on one runs a
// stream only as far as needed — never the work queued after it.
struct Marker {
  bool done = false;
  std::chrono::steady_clock::time_point when;
};

struct StreamState {
  std::deque<std::function<void()>> work;
  bool blocking = true;  // ordered with the legacy default stream
};

struct EventState {
  cudaStream_t stream = nullptr;  // where the latest record was made
  std::shared_ptr<Marker> last;   // the latest record; null until recorded
  bool timing = true;
};

// One lock for all emulator state. Recursive: running queued work can run other streams' work
// (waits on markers), and work never calls back into the API otherwise.
std::recursive_mutex& mu() {
  static std::recursive_mutex m;
  return m;
}

struct DeviceState {
  StreamState legacy;
  std::map<cudaStream_t, std::unique_ptr<StreamState>> streams;  // created streams
  std::map<uintptr_t, size_t> allocations;                       // device memory: start → bytes
  std::map<uintptr_t, size_t> pinned;                            // cudaMallocHost memory: start → bytes
  std::map<cudaEvent_t, std::shared_ptr<EventState>> events;
  size_t used = 0;
};

DeviceState& dev() {
  static DeviceState* d = new DeviceState();  // never destroyed: tensors may be freed during exit
  return *d;
}

thread_local cudaError_t t_last_error = cudaSuccess;
thread_local int t_device = 0;

size_t total_memory() {
  static size_t total = [] {
    const char* env = std::getenv("MMALIGN_EMU_DEVICE_MEMORY");  // bytes; default 16 GiB
    return env ? static_cast<size_t>(std::strtoull(env, nullptr, 10)) : size_t(16) << 30;
  }();
  return total;
}

bool is_legacy(cudaStream_t s) { return s == nullptr || s == cudaStreamLegacy; }

// The queue a handle names; nullptr for an unknown or destroyed handle. cudaStreamPerThread is the
// legacy stream here: the project never compiles with per-thread default streams.
StreamState* lookup(cudaStream_t s) {
  if (is_legacy(s) || s == cudaStreamPerThread) return &dev().legacy;
  auto it = dev().streams.find(s);
  return it == dev().streams.end() ? nullptr : it->second.get();
}

void run_one(StreamState& st) {
  if (in_kernel()) {  // a kernel (or a queued closure run by one) re-entering the runtime
    std::fprintf(stderr, "mmalign CUDA emulation: the CUDA runtime was called from inside a kernel\n");
    std::abort();
  }
  auto w = std::move(st.work.front());
  st.work.pop_front();
  w();
}

void run_all(StreamState& st) {
  while (!st.work.empty()) run_one(st);
}

// Runs `st` front to back until `m` is reached (nothing, if it already was).
void run_until(StreamState& st, const Marker& m) {
  while (!m.done && !st.work.empty()) run_one(st);
}

std::shared_ptr<Marker> append_marker(StreamState& st) {
  auto m = std::make_shared<Marker>();
  st.work.push_back([m] {
    m->done = true;
    m->when = std::chrono::steady_clock::now();
  });
  return m;
}

// Queued on `target`: "run stream h up to marker m first". By handle, not pointer: a stream destroyed
// meanwhile ran all its work when it was destroyed, so the marker is then already done.
void append_wait(StreamState& target, cudaStream_t h, std::shared_ptr<Marker> m) {
  target.work.push_back([h, m] {
    if (StreamState* s = lookup(h)) run_until(*s, *m);
  });
}

// Appends work to a stream after its implicit dependencies: the legacy default stream waits for the
// work already queued on every blocking stream, and a blocking stream for the legacy stream's.
void push(StreamState& target, std::function<void()> work) {
  DeviceState& d = dev();
  if (&target == &d.legacy) {
    for (auto& [h, st] : d.streams)
      if (st->blocking && !st->work.empty()) append_wait(target, h, append_marker(*st));
  } else if (target.blocking && !d.legacy.work.empty()) {
    append_wait(target, cudaStreamLegacy, append_marker(d.legacy));
  }
  target.work.push_back(std::move(work));
}

bool in_map(const std::map<uintptr_t, size_t>& a, const void* p, size_t n) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  auto it = a.upper_bound(addr);
  if (it == a.begin()) return false;
  --it;
  return addr >= it->first && addr + n >= addr && addr + n <= it->first + it->second;
}

cudaError_t fail(cudaError_t e) { return set_last_error(e); }

bool is_device_range_locked(const void* p, size_t n) { return in_map(dev().allocations, p, n); }
bool is_pinned_range(const void* p, size_t n) { return in_map(dev().pinned, p, n); }

// Which side each pointer must be on for `kind`; cudaMemcpyDefault infers it from the pointers.
cudaError_t check_copy(void* dst, const void* src, size_t n, cudaMemcpyKind& kind) {
  if (n == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return cudaErrorInvalidValue;
  const bool dst_dev = is_device_range_locked(dst, n), src_dev = is_device_range_locked(src, n);
  if (kind == cudaMemcpyDefault)
    kind = dst_dev ? (src_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                   : (src_dev ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  bool want_dst_dev, want_src_dev;
  switch (kind) {
    case cudaMemcpyHostToHost: want_dst_dev = false, want_src_dev = false; break;
    case cudaMemcpyHostToDevice: want_dst_dev = true, want_src_dev = false; break;
    case cudaMemcpyDeviceToHost: want_dst_dev = false, want_src_dev = true; break;
    case cudaMemcpyDeviceToDevice: want_dst_dev = true, want_src_dev = true; break;
    default: return cudaErrorInvalidMemcpyDirection;
  }
  // A pointer on the wrong side (or a device range that runs past its allocation) is undefined
  // behaviour on a GPU; here it is an error, which is what a test wants to see.
  if (dst_dev != want_dst_dev || src_dev != want_src_dev) return cudaErrorInvalidValue;
  return cudaSuccess;
}

}  // namespace

// ---- emulator.h ------------------------------------------------------------------------------------

cudaError_t set_last_error(cudaError_t e) {
  if (e != cudaSuccess) t_last_error = e;
  return e;
}

cudaError_t enqueue(cudaStream_t stream, std::function<void()> work) {
  std::lock_guard<std::recursive_mutex> lock(mu());
  StreamState* st = lookup(stream);
  if (st == nullptr) return cudaErrorInvalidResourceHandle;
  push(*st, std::move(work));
  return cudaSuccess;
}

cudaError_t flush(cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(mu());
  StreamState* st = lookup(stream);
  if (st == nullptr) return cudaErrorInvalidResourceHandle;
  run_all(*st);  // its dependencies on other streams are queued in it as waits
  return cudaSuccess;
}

void flush_all() {
  std::lock_guard<std::recursive_mutex> lock(mu());
  run_all(dev().legacy);
  for (auto& [h, st] : dev().streams) run_all(*st);
}

bool is_device_range(const void* p, size_t n) {
  std::lock_guard<std::recursive_mutex> lock(mu());
  return is_device_range_locked(p, n);
}

}  // namespace mm::cuda::emu

using namespace mm::cuda::emu;
using Lock = std::lock_guard<std::recursive_mutex>;

extern "C" {

// ---- errors ----------------------------------------------------------------------------------------

cudaError_t cudaGetLastError() {
  cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return t_last_error; }

// The names and the runtime's own messages for the errors this emulation can produce.
#define MM_EMU_ERRORS(X)                                                          \
  X(cudaSuccess, "no error")                                                      \
  X(cudaErrorInvalidValue, "invalid argument")                                    \
  X(cudaErrorMemoryAllocation, "out of memory")                                   \
  X(cudaErrorInvalidConfiguration, "invalid configuration argument")              \
  X(cudaErrorInvalidMemcpyDirection, "invalid copy direction for memcpy")         \
  X(cudaErrorInvalidDevice, "invalid device ordinal")                             \
  X(cudaErrorInvalidResourceHandle, "invalid resource handle")                    \
  X(cudaErrorNotReady, "device not ready")                                        \
  X(cudaErrorNoDevice, "no CUDA-capable device is detected")                      \
  X(cudaErrorLaunchFailure, "unspecified launch failure")                         \
  X(cudaErrorIllegalAddress, "an illegal memory access was encountered")          \
  X(cudaErrorNotSupported, "operation not supported")                             \
  X(cudaErrorUnknown, "unknown error")

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
#define MM_EMU_NAME(code, text) \
  case code: return #code;
    MM_EMU_ERRORS(MM_EMU_NAME)
#undef MM_EMU_NAME
    default: return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
#define MM_EMU_TEXT(code, text) \
  case code: return text;
    MM_EMU_ERRORS(MM_EMU_TEXT)
#undef MM_EMU_TEXT
    default: return "unrecognized error code";
  }
}

// ---- device --------------------------------------------------------------------------------------

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return fail(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return fail(cudaErrorInvalidValue);
  *device = t_device;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  t_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof *prop);
  std::strncpy(prop->name, "mmalign CUDA emulation (CPU)", sizeof prop->name - 1);
  prop->totalGlobalMem = total_memory();
  prop->sharedMemPerBlock = kSharedBytesPerBlock;
  prop->sharedMemPerBlockOptin = kSharedBytesPerBlock;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024, prop->maxThreadsDim[1] = 1024, prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647, prop->maxGridSize[1] = 65535, prop->maxGridSize[2] = 65535;
  prop->major = 8;
  prop->minor = 0;
  prop->multiProcessorCount = 1;
  prop->maxThreadsPerMultiProcessor = 2048;
  prop->unifiedAddressing = 1;
  prop->concurrentKernels = 0;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (value == nullptr) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  cudaDeviceProp p;
  cudaGetDeviceProperties(&p, 0);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = p.maxThreadsPerBlock; break;
    case cudaDevAttrMaxBlockDimX: *value = p.maxThreadsDim[0]; break;
    case cudaDevAttrMaxBlockDimY: *value = p.maxThreadsDim[1]; break;
    case cudaDevAttrMaxBlockDimZ: *value = p.maxThreadsDim[2]; break;
    case cudaDevAttrMaxGridDimX: *value = p.maxGridSize[0]; break;
    case cudaDevAttrMaxGridDimY: *value = p.maxGridSize[1]; break;
    case cudaDevAttrMaxGridDimZ: *value = p.maxGridSize[2]; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(p.sharedMemPerBlock); break;
    case cudaDevAttrWarpSize: *value = p.warpSize; break;
    case cudaDevAttrMultiProcessorCount: *value = p.multiProcessorCount; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = p.maxThreadsPerMultiProcessor; break;
    case cudaDevAttrComputeCapabilityMajor: *value = p.major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = p.minor; break;
    default: return fail(cudaErrorNotSupported);  // not modelled: say so rather than invent a value
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  flush_all();
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* v) {
  if (v == nullptr) return fail(cudaErrorInvalidValue);
  *v = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* v) {
  if (v == nullptr) return fail(cudaErrorInvalidValue);
  *v = CUDART_VERSION;
  return cudaSuccess;
}

// ---- memory --------------------------------------------------------------------------------------

cudaError_t cudaMalloc(void** ptr, size_t size) {
  if (ptr == nullptr) return fail(cudaErrorInvalidValue);
  Lock lock(mu());
  DeviceState& d = dev();
  *ptr = nullptr;
  if (size == 0) return cudaSuccess;
  if (size > total_memory() - d.used) return fail(cudaErrorMemoryAllocation);
  // Exactly `size` bytes (AddressSanitizer then flags the first byte past the end), aligned like
  // cudaMalloc's, and poisoned: every byte 0xFF, a NaN in every float/double lane.
  void* p = nullptr;
  if (posix_memalign(&p, 256, size) != 0) return fail(cudaErrorMemoryAllocation);
  std::memset(p, 0xFF, size);
  d.allocations[reinterpret_cast<uintptr_t>(p)] = size;
  d.used += size;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  Lock lock(mu());
  flush_all();  // cudaFree synchronises the device: queued work may still use the memory
  DeviceState& d = dev();
  auto it = d.allocations.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == d.allocations.end()) return fail(cudaErrorInvalidValue);
  d.used -= it->second;
  d.allocations.erase(it);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (free_bytes == nullptr || total_bytes == nullptr) return fail(cudaErrorInvalidValue);
  Lock lock(mu());
  *total_bytes = total_memory();
  *free_bytes = total_memory() - dev().used;
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t size) {
  if (ptr == nullptr) return fail(cudaErrorInvalidValue);
  Lock lock(mu());
  *ptr = nullptr;
  if (size == 0) return cudaSuccess;
  if (posix_memalign(ptr, 256, size) != 0) return fail(cudaErrorMemoryAllocation);
  dev().pinned[reinterpret_cast<uintptr_t>(*ptr)] = size;
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  Lock lock(mu());
  flush_all();
  if (dev().pinned.erase(reinterpret_cast<uintptr_t>(ptr)) == 0) return fail(cudaErrorInvalidValue);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind, cudaStream_t stream) {
  Lock lock(mu());
  if (lookup(stream) == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (cudaError_t e = check_copy(dst, src, n, kind); e != cudaSuccess) return fail(e);
  if (n == 0) return cudaSuccess;
  if (kind == cudaMemcpyHostToHost) {  // always synchronous with the host
    flush(stream);
    std::memcpy(dst, src, n);
    return cudaSuccess;
  }
  if (kind == cudaMemcpyHostToDevice && !is_pinned_range(src, n)) {
    // Pageable source: the runtime stages it before returning, so the caller may reuse it at once.
    auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(src),
                                                                static_cast<const unsigned char*>(src) + n);
    enqueue(stream, [dst, staged] { std::memcpy(dst, staged->data(), staged->size()); });
    return cudaSuccess;
  }
  if (kind == cudaMemcpyDeviceToHost && !is_pinned_range(dst, n)) {
    // Pageable destination: the call returns only once the copy is done.
    flush(stream);
    std::memcpy(dst, src, n);
    return cudaSuccess;
  }
  enqueue(stream, [dst, src, n] { std::memcpy(dst, src, n); });
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind kind) {
  Lock lock(mu());
  if (cudaError_t e = cudaMemcpyAsync(dst, src, n, kind, cudaStreamLegacy); e != cudaSuccess) return e;
  flush(cudaStreamLegacy);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t n, cudaStream_t stream) {
  Lock lock(mu());
  if (lookup(stream) == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (n == 0) return cudaSuccess;
  if (dst == nullptr || !is_device_range_locked(dst, n)) return fail(cudaErrorInvalidValue);
  enqueue(stream, [dst, value, n] { std::memset(dst, value, n); });
  return cudaSuccess;
}

cudaError_t cudaMemset(void* dst, int value, size_t n) {
  Lock lock(mu());
  if (cudaError_t e = cudaMemsetAsync(dst, value, n, cudaStreamLegacy); e != cudaSuccess) return e;
  flush(cudaStreamLegacy);
  return cudaSuccess;
}

// ---- streams -------------------------------------------------------------------------------------

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  if (stream == nullptr || (flags & ~unsigned(cudaStreamNonBlocking)) != 0) return fail(cudaErrorInvalidValue);
  Lock lock(mu());
  auto st = std::make_unique<StreamState>();
  st->blocking = (flags & cudaStreamNonBlocking) == 0;
  *stream = reinterpret_cast<cudaStream_t>(st.get());
  dev().streams[*stream] = std::move(st);
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  Lock lock(mu());
  auto it = dev().streams.find(stream);
  if (it == dev().streams.end()) return fail(cudaErrorInvalidResourceHandle);
  run_all(*it->second);  // queued work still completes, as on a GPU
  dev().streams.erase(it);
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  cudaError_t e = flush(stream);
  return e == cudaSuccess ? e : fail(e);
}

// Reports cudaErrorNotReady while work is queued, as a busy GPU would — and then runs it, so a
// caller that polls does finish.
cudaError_t cudaStreamQuery(cudaStream_t stream) {
  Lock lock(mu());
  StreamState* st = lookup(stream);
  if (st == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (st->work.empty()) return cudaSuccess;
  flush(stream);
  return cudaErrorNotReady;
}

// ---- events --------------------------------------------------------------------------------------

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  if (event == nullptr || (flags & ~unsigned(cudaEventBlockingSync | cudaEventDisableTiming | cudaEventInterprocess)))
    return fail(cudaErrorInvalidValue);
  Lock lock(mu());
  auto ev = std::make_shared<EventState>();
  ev->timing = (flags & cudaEventDisableTiming) == 0;
  *event = reinterpret_cast<cudaEvent_t>(ev.get());
  dev().events[*event] = std::move(ev);
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  Lock lock(mu());
  if (dev().events.erase(event) == 0) return fail(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  Lock lock(mu());
  auto it = dev().events.find(event);
  StreamState* st = lookup(stream);
  if (it == dev().events.end() || st == nullptr) return fail(cudaErrorInvalidResourceHandle);
  // A record is a marker queued like any other work (after the stream's implicit dependencies).
  auto m = std::make_shared<Marker>();
  push(*st, [m] {
    m->done = true;
    m->when = std::chrono::steady_clock::now();
  });
  it->second->stream = stream;
  it->second->last = std::move(m);
  return cudaSuccess;
}

namespace {
std::shared_ptr<EventState> find_event(cudaEvent_t e) {
  auto it = dev().events.find(e);
  return it == dev().events.end() ? nullptr : it->second;
}
bool event_done(const EventState& ev) { return ev.last == nullptr || ev.last->done; }
void run_to_event(const EventState& ev) {
  if (ev.last == nullptr || ev.last->done) return;
  if (StreamState* s = lookup(ev.stream)) run_until(*s, *ev.last);
}
}  // namespace

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  Lock lock(mu());
  std::shared_ptr<EventState> ev = find_event(event);
  if (ev == nullptr) return fail(cudaErrorInvalidResourceHandle);
  run_to_event(*ev);
  return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  Lock lock(mu());
  std::shared_ptr<EventState> ev = find_event(event);
  if (ev == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (event_done(*ev)) return cudaSuccess;
  run_to_event(*ev);  // as cudaStreamQuery: not ready now, done by the next query
  return cudaErrorNotReady;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags) {
  Lock lock(mu());
  std::shared_ptr<EventState> ev = find_event(event);
  StreamState* st = lookup(stream);
  if (ev == nullptr || st == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (flags != 0) return fail(cudaErrorInvalidValue);
  if (ev->last == nullptr) return cudaSuccess;  // waiting on a never-recorded event is a no-op
  // Waits for the record made before this call, even if the event is recorded again later.
  const cudaStream_t other = ev->stream;
  std::shared_ptr<Marker> m = ev->last;
  push(*st, [other, m] {
    if (StreamState* s = lookup(other)) run_until(*s, *m);
  });
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (ms == nullptr) return fail(cudaErrorInvalidValue);
  Lock lock(mu());
  std::shared_ptr<EventState> a = find_event(start), b = find_event(end);
  if (a == nullptr || b == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (!a->timing || !b->timing || a->last == nullptr || b->last == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (!a->last->done || !b->last->done) return cudaErrorNotReady;  // not an error: not recorded as one
  *ms = std::chrono::duration<float, std::milli>(b->last->when - a->last->when).count();
  return cudaSuccess;
}

}  // extern "C"
