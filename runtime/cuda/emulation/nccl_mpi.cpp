// NCCL for the CUDA emulation build, on the host over MPI: one emulated GPU per MPI process, NCCL
// rank = rank in an MPI communicator. Project code calls the real NCCL API (nccl.h); this file
// defines the part of it that the project uses, with nccl.h's exact signatures, instead of libnccl.
//
// Execution is eager. Each call validates its arguments, flushes its stream (so device buffers hold
// everything queued on the stream before the call, as they would when the NCCL kernel starts on a
// GPU), communicates over MPI at once and returns with the results written. It is not queued on the
// stream as a lazy closure like the emulated kernels because a lazy collective runs only when its
// rank synchronises with the stream, and ranks reach their synchronisation points in different
// orders: rank 0 blocks in cudaStreamSynchronize, running its half of the allreduce and waiting for
// rank 1, while rank 1 is blocked in a host-side MPI_Barrier, or synchronises another stream first,
// or never synchronises that stream at all - a deadlock a GPU does not have, since there a
// collective starts as soon as the stream reaches it. NCCL already requires every rank to issue its
// calls on a communicator in the same order, so the calls themselves are safe places to meet.
//
// What eager execution does not model:
//  - The host does not run ahead. A call returns only once every rank has made it (NCCL returns as
//    soon as the work is enqueued), so a program that puts a host-side blocking synchronisation
//    after an NCCL call on one rank and before it on another (rank 0: allreduce then MPI_Barrier;
//    rank 1: MPI_Barrier then allreduce) works on GPUs and deadlocks here.
//  - Results are early. recvbuff holds the result when the call returns, not when the stream gets
//    there, so a reader on another stream that forgot to wait for the NCCL stream still sees it
//    (work queued on the call's own stream afterwards runs afterwards, as on a GPU).
//  - NCCL's reduction order and rounding (rings and trees), see "Reductions" below.
//
// Reductions: every rank's contribution is gathered as raw bytes and reduced locally in rank order
// 0, 1, ..., nranks-1 by the same code on every rank, so all ranks get bit-identical results and
// reruns give the same bits. Integers wrap (two's complement), as NCCL's do; ncclAvg on integers is
// the wrapped sum divided by nranks and truncated toward zero (NCCL's SumPostDiv). float and double
// accumulate in their own type. f16 and bf16 are converted to float with the toolkit's host
// conversions (cuda_fp16.h / cuda_bf16.h), reduced in float and rounded back to 16 bits once, to
// nearest even; NCCL instead rounds to 16 bits after every hop. ncclAvg on floating types is the
// rank-order sum divided by nranks; NCCL multiplies each contribution by 1/nranks before summing,
// which can differ in the last bit. ncclMax/ncclMin on floating types use fmax/fmin (a NaN loses to
// a number), as NCCL's do.
//
// Groups: between ncclGroupStart and the outermost ncclGroupEnd (nestable, per host thread, as in
// NCCL) calls are validated and queued. ncclGroupEnd flushes their streams - so work queued on a
// stream before ncclGroupEnd precedes the group's operations, as on a GPU where they are enqueued
// at ncclGroupEnd - then posts every operation as non-blocking MPI (a ring of sends and receives
// cannot deadlock), waits for all of them and writes the results. As in NCCL, an invalid call
// inside a group fails the whole group: the call and ncclGroupEnd return its error and nothing of
// the group runs.
//
// Communicators: ncclCommInitRank is collective over MPI_COMM_WORLD - every process of the job must
// call it at the same time, each with the id of the communicator it joins (processes may join
// different ids, so several communicators can be created in one round and coexist). The processes
// exchange (id, nranks, rank) and split a private duplicate of MPI_COMM_WORLD by id, so every
// member checks the arguments against what MPI says and all of them fail together
// (ncclInvalidArgument) instead of hanging. MPI is initialised here (MPI_Init_thread) if the
// application has not done it, and then finalised at exit; an MPI the application initialised is
// never finalised here. ncclCommDestroy and ncclCommAbort free the MPI communicator, which MPI
// defines as collective: release a communicator on all of its ranks. The communicators use
// MPI_ERRORS_RETURN: a failed MPI operation returns ncclSystemError (ncclRemoteError where MPI
// reports a failed process, which needs ULFM or MPI 4) and, like NCCL's asynchronous errors,
// sticks to the communicator (ncclCommGetAsyncError; later calls on it fail) until it is aborted
// or destroyed.
//
// Errors: every failure returns the code NCCL documents (argument errors: ncclInvalidArgument; a
// misused API such as ncclGroupEnd without ncclGroupStart: ncclInvalidUsage) and leaves a message
// naming the call and the reason for ncclGetLastError. Stricter than NCCL: every buffer must lie
// inside one live cudaMalloc allocation for the count given (NCCL, by default, checks only that
// pointers are not NULL), so a host pointer or a count too large for its buffer is an error here
// rather than a memory corruption.
#define OMPI_SKIP_MPICXX 1  // the C API only: Open MPI's C++ bindings do not compile warning-free
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <nccl.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "runtime/cuda/emulation/emulator.h"

// Returns the result of `expr` unless it is ncclSuccess.
#define NCCL_TRY(expr)                                                \
  do {                                                                \
    if (const ncclResult_t r_ = (expr); r_ != ncclSuccess) return r_; \
  } while (0)

// The opaque communicator type nccl.h declares.
struct ncclComm {
  MPI_Comm mpi = MPI_COMM_NULL;
  int rank = 0;
  int nranks = 0;
  int device = 0;  // the current device when the communicator was created, as in NCCL
  ncclResult_t async_error = ncclSuccess;  // set by a failed communication; sticks, as in NCCL
};

namespace mm::cuda::emu {
namespace {

// ---------------------------------------------------------------------------------------------
// Error reporting

thread_local std::string last_error;  // what ncclGetLastError returns; per thread, as in NCCL

// Records "<call>: <parts...>" as the last error and returns `code`.
template <typename... Parts>
ncclResult_t fail(ncclResult_t code, const char* call, const Parts&... parts) {
  std::ostringstream message;
  message << call << ": ";
  (message << ... << parts);
  last_error = message.str();
  return code;
}

// ---------------------------------------------------------------------------------------------
// Operations, and the group state (per host thread, as in NCCL)

enum class Kind { AllReduce, Broadcast, Reduce, AllGather, ReduceScatter, Send, Recv };

// One validated operation, from the call until its results are written.
struct Task {
  Kind kind;
  const char* call;  // the API function, for messages
  ncclComm* comm;
  cudaStream_t stream;
  const void* sendbuff;
  void* recvbuff;
  size_t count;  // the count argument: elements per rank (per block for all-gather/reduce-scatter)
  size_t bytes;  // count elements, in bytes
  ncclDataType_t type;
  ncclRedOp_t op;
  int root_or_peer;
  // Filled when the task is posted:
  std::vector<std::byte> staged;  // a copy of the send data (so aliasing never matters); for a
                                  // broadcast also where the root's data lands
  std::vector<std::byte> landed;  // where MPI delivers what this rank receives
  std::vector<MPI_Request> requests;
  bool failed = false;
};

thread_local int group_depth = 0;
thread_local std::vector<Task> group_tasks;
thread_local ncclResult_t group_error = ncclSuccess;  // the first failed call in the open group
thread_local std::string group_error_message;

// Inside a group, a failed call fails the whole group (NCCL's behaviour); returns `result`.
ncclResult_t note_in_group(ncclResult_t result) {
  if (result != ncclSuccess && group_depth > 0 && group_error == ncclSuccess) {
    group_error = result;
    group_error_message = last_error;
  }
  return result;
}

bool has_group_tasks(const ncclComm* comm) {
  return std::any_of(group_tasks.begin(), group_tasks.end(),
                     [comm](const Task& t) { return t.comm == comm; });
}

// ---------------------------------------------------------------------------------------------
// Communicators

std::mutex registry_mutex;
std::unordered_set<const ncclComm*> live_comms;  // lets a destroyed or bogus handle be rejected

bool is_live(const ncclComm* comm) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  return live_comms.count(comm) != 0;
}

void register_comm(const ncclComm* comm) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  live_comms.insert(comm);
}

void unregister_comm(const ncclComm* comm) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  live_comms.erase(comm);
}

// A communicator handle that may be used for a query (`usable` false) or an operation (`usable`
// true: also free of a sticky asynchronous error).
ncclResult_t check_comm(const char* call, const ncclComm* comm, bool usable) {
  if (comm == nullptr) return fail(ncclInvalidArgument, call, "comm argument is NULL");
  if (!is_live(comm)) {
    return fail(ncclInvalidArgument, call, "comm ", static_cast<const void*>(comm),
                " is not a live communicator (never created, or already destroyed)");
  }
  if (usable && comm->async_error != ncclSuccess) {
    return fail(comm->async_error, call, "the communicator has an asynchronous error (",
                ncclGetErrorString(comm->async_error),
                ") from an earlier operation; abort it with ncclCommAbort");
  }
  return ncclSuccess;
}

// ---------------------------------------------------------------------------------------------
// Argument checks

// Bytes per element, or 0 for a datatype the emulation does not support.
size_t type_size(ncclDataType_t type) {
  switch (type) {
    case ncclInt8:
    case ncclUint8: return 1;
    case ncclFloat16:
    case ncclBfloat16: return 2;
    case ncclInt32:
    case ncclUint32:
    case ncclFloat32: return 4;
    case ncclInt64:
    case ncclUint64:
    case ncclFloat64: return 8;
    default: return 0;
  }
}

ncclResult_t check_type(const char* call, ncclDataType_t type) {
  if (type_size(type) != 0) return ncclSuccess;
  return fail(ncclInvalidArgument, call, "invalid or unsupported datatype ", static_cast<int>(type),
              " (the emulation supports the 8/32/64-bit integers, f16, bf16, f32 and f64)");
}

ncclResult_t check_op(const char* call, ncclRedOp_t op) {
  if (static_cast<int>(op) >= ncclSum && static_cast<int>(op) <= ncclAvg) return ncclSuccess;
  return fail(ncclInvalidArgument, call, "invalid or unsupported reduction operation ",
              static_cast<int>(op),
              " (the emulation supports ncclSum, ncclProd, ncclMax, ncclMin and ncclAvg)");
}

ncclResult_t check_rank(const char* call, const char* what, int value, const ncclComm* comm) {
  if (value >= 0 && value < comm->nranks) return ncclSuccess;
  return fail(ncclInvalidArgument, call, "invalid ", what, " ", value, " (", what,
              " should be in the 0..", comm->nranks - 1, " range)");
}

// `count` elements of `type` times `blocks`, in bytes; false on overflow.
bool byte_size(size_t count, ncclDataType_t type, size_t blocks, size_t& bytes) {
  const size_t element = type_size(type);
  if (count > SIZE_MAX / element / blocks) return false;
  bytes = count * element * blocks;
  return true;
}

// The sizes of one rank's message and of the largest buffer of a call: MPI counts are ints.
ncclResult_t check_sizes(const char* call, size_t count, ncclDataType_t type, size_t blocks,
                         size_t& bytes) {
  size_t total = 0;
  if (!byte_size(count, type, 1, bytes) || !byte_size(count, type, blocks, total) ||
      bytes > static_cast<size_t>(INT_MAX)) {
    return fail(ncclInvalidArgument, call, "count ", count,
                " is too large (the emulation sends at most INT_MAX bytes per rank and message)");
  }
  return ncclSuccess;
}

// A buffer of `bytes` bytes must lie inside one live device allocation.
ncclResult_t check_buffer(const char* call, const char* name, const void* buffer, size_t bytes) {
  if (buffer == nullptr) return fail(ncclInvalidArgument, call, name, " argument is NULL");
  if (!is_device_range(buffer, bytes)) {
    return fail(ncclInvalidArgument, call, name, " ", buffer, " with ", bytes,
                " bytes does not lie inside one live device allocation (cudaMalloc)");
  }
  return ncclSuccess;
}

// ---------------------------------------------------------------------------------------------
// Reductions (see the header comment)

// How a datatype is held during a reduction (Acc) and converted from and to its stored bytes.
template <typename T>
struct Plain {
  using Acc = T;
  static constexpr size_t size = sizeof(T);
  static Acc load(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(std::byte* p, Acc v) { std::memcpy(p, &v, sizeof v); }
};

struct Half {
  using Acc = float;
  static constexpr size_t size = sizeof(__half);
  static Acc load(const std::byte* p) {
    __half v;
    std::memcpy(&v, p, sizeof v);
    return __half2float(v);
  }
  static void store(std::byte* p, Acc v) {
    const __half h = __float2half_rn(v);
    std::memcpy(p, &h, sizeof h);
  }
};

struct BFloat16 {
  using Acc = float;
  static constexpr size_t size = sizeof(__nv_bfloat16);
  static Acc load(const std::byte* p) {
    __nv_bfloat16 v;
    std::memcpy(&v, p, sizeof v);
    return __bfloat162float(v);
  }
  static void store(std::byte* p, Acc v) {
    const __nv_bfloat16 b = __float2bfloat16_rn(v);
    std::memcpy(p, &b, sizeof b);
  }
};

// One step of `op`. Integer sums and products go through the unsigned type: they wrap like NCCL's
// instead of overflowing (undefined behaviour for signed types).
template <typename A>
A combine(ncclRedOp_t op, A a, A b) {
  if constexpr (std::is_integral_v<A>) {
    using U = std::make_unsigned_t<A>;
    switch (op) {
      case ncclProd: return static_cast<A>(static_cast<U>(a) * static_cast<U>(b));
      case ncclMax: return std::max(a, b);
      case ncclMin: return std::min(a, b);
      default: return static_cast<A>(static_cast<U>(a) + static_cast<U>(b));  // sum, avg
    }
  } else {
    switch (op) {
      case ncclProd: return a * b;
      case ncclMax: return std::fmax(a, b);
      case ncclMin: return std::fmin(a, b);
      default: return a + b;  // sum, avg
    }
  }
}

// The ncclAvg division of a sum over n ranks; integer division truncates toward zero, as NCCL's.
template <typename A>
A average(A sum, int n) {
  if constexpr (std::is_integral_v<A> && std::is_signed_v<A>) {
    return static_cast<A>(static_cast<int64_t>(sum) / n);
  } else if constexpr (std::is_integral_v<A>) {
    return static_cast<A>(static_cast<uint64_t>(sum) / static_cast<uint64_t>(n));
  } else {
    return sum / static_cast<A>(n);
  }
}

// Reduces `nblocks` blocks of `count` elements (block r = rank r's contribution, `block_bytes`
// apart) in rank order into `out`.
template <typename Traits>
void reduce_blocks(const std::byte* blocks, size_t block_bytes, int nblocks, size_t count,
                   ncclRedOp_t op, void* out) {
  using Acc = typename Traits::Acc;
  std::vector<Acc> acc(count);
  for (size_t i = 0; i < count; ++i) acc[i] = Traits::load(blocks + i * Traits::size);
  for (int r = 1; r < nblocks; ++r) {
    const std::byte* block = blocks + static_cast<size_t>(r) * block_bytes;
    for (size_t i = 0; i < count; ++i)
      acc[i] = combine(op, acc[i], Traits::load(block + i * Traits::size));
  }
  if (op == ncclAvg) {
    for (Acc& a : acc) a = average(a, nblocks);
  }
  auto* dst = static_cast<std::byte*>(out);
  for (size_t i = 0; i < count; ++i) Traits::store(dst + i * Traits::size, acc[i]);
}

// Reduces the task's landed blocks (one per rank) into its recvbuff.
void reduce_into_recvbuff(const Task& t) {
  const std::byte* b = t.landed.data();
  const int n = t.comm->nranks;
  switch (t.type) {
    case ncclInt8: return reduce_blocks<Plain<int8_t>>(b, t.bytes, n, t.count, t.op, t.recvbuff);
    case ncclUint8: return reduce_blocks<Plain<uint8_t>>(b, t.bytes, n, t.count, t.op, t.recvbuff);
    case ncclInt32: return reduce_blocks<Plain<int32_t>>(b, t.bytes, n, t.count, t.op, t.recvbuff);
    case ncclUint32:
      return reduce_blocks<Plain<uint32_t>>(b, t.bytes, n, t.count, t.op, t.recvbuff);
    case ncclInt64: return reduce_blocks<Plain<int64_t>>(b, t.bytes, n, t.count, t.op, t.recvbuff);
    case ncclUint64:
      return reduce_blocks<Plain<uint64_t>>(b, t.bytes, n, t.count, t.op, t.recvbuff);
    case ncclFloat16: return reduce_blocks<Half>(b, t.bytes, n, t.count, t.op, t.recvbuff);
    case ncclBfloat16: return reduce_blocks<BFloat16>(b, t.bytes, n, t.count, t.op, t.recvbuff);
    case ncclFloat32: return reduce_blocks<Plain<float>>(b, t.bytes, n, t.count, t.op, t.recvbuff);
    case ncclFloat64: return reduce_blocks<Plain<double>>(b, t.bytes, n, t.count, t.op, t.recvbuff);
    default: return;  // rejected by check_type
  }
}

// ---------------------------------------------------------------------------------------------
// Running tasks: flush, post non-blocking MPI, wait, write results.

constexpr int kP2pTag = 0;  // collectives have their own matching context in MPI

bool is_remote_failure(int error_class) {
#if defined(MPIX_ERR_PROC_FAILED)
  if (error_class == MPIX_ERR_PROC_FAILED) return true;
#endif
#if defined(MPI_ERR_PROC_ABORTED)
  if (error_class == MPI_ERR_PROC_ABORTED) return true;
#endif
  (void)error_class;
  return false;
}

// A failed MPI call `rc` for task `t`: marks the communicator (sticky, like NCCL's asynchronous
// errors) and, for the first failure of a run (`result` still ncclSuccess), records the message.
void communication_failed(Task& t, const char* step, int rc, ncclResult_t& result) {
  int error_class = MPI_ERR_OTHER;
  MPI_Error_class(rc, &error_class);
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(rc, text, &length);
  const ncclResult_t code = is_remote_failure(error_class) ? ncclRemoteError : ncclSystemError;
  t.failed = true;
  t.comm->async_error = code;
  if (result == ncclSuccess) {
    result = fail(code, t.call, "MPI failed while ", step, " on rank ", t.comm->rank, " of ",
                  t.comm->nranks, ": ", std::string(text, static_cast<size_t>(length)));
  }
}

void stage(Task& t, size_t bytes) {
  const auto* src = static_cast<const std::byte*>(t.sendbuff);
  t.staged.assign(src, src + bytes);
}

MPI_Request* new_request(Task& t) { return &t.requests.emplace_back(MPI_REQUEST_NULL); }

// Copies the task's send data and starts its MPI operation; returns the MPI result.
int post(Task& t) {
  const MPI_Comm c = t.comm->mpi;
  const int n = t.comm->nranks;
  const int b = static_cast<int>(t.bytes);  // checked against INT_MAX when the call was made
  const size_t all = t.bytes * static_cast<size_t>(n);
  const bool at_root = t.comm->rank == t.root_or_peer;
  switch (t.kind) {
    case Kind::AllReduce:
    case Kind::AllGather:
      stage(t, t.bytes);
      t.landed.resize(all);
      return MPI_Iallgather(t.staged.data(), b, MPI_BYTE, t.landed.data(), b, MPI_BYTE, c,
                            new_request(t));
    case Kind::Reduce:
      stage(t, t.bytes);
      if (at_root) t.landed.resize(all);
      return MPI_Igather(t.staged.data(), b, MPI_BYTE, t.landed.data(), b, MPI_BYTE, t.root_or_peer,
                         c, new_request(t));
    case Kind::ReduceScatter:  // block i of every rank's sendbuff goes to rank i, in rank order
      stage(t, all);
      t.landed.resize(all);
      return MPI_Ialltoall(t.staged.data(), b, MPI_BYTE, t.landed.data(), b, MPI_BYTE, c,
                           new_request(t));
    case Kind::Broadcast:
      if (at_root) stage(t, t.bytes);
      t.staged.resize(t.bytes);
      return MPI_Ibcast(t.staged.data(), b, MPI_BYTE, t.root_or_peer, c, new_request(t));
    case Kind::Send:
      stage(t, t.bytes);
      return MPI_Isend(t.staged.data(), b, MPI_BYTE, t.root_or_peer, kP2pTag, c, new_request(t));
    case Kind::Recv:
      t.landed.resize(t.bytes);
      return MPI_Irecv(t.landed.data(), b, MPI_BYTE, t.root_or_peer, kP2pTag, c, new_request(t));
  }
  return MPI_ERR_INTERN;
}

// Writes the task's results into its recvbuff (after its MPI operation completed).
void finish(const Task& t) {
  switch (t.kind) {
    case Kind::AllReduce:
    case Kind::ReduceScatter: reduce_into_recvbuff(t); return;
    case Kind::Reduce:
      if (t.comm->rank == t.root_or_peer) reduce_into_recvbuff(t);
      return;
    case Kind::AllGather:
    case Kind::Recv: std::memcpy(t.recvbuff, t.landed.data(), t.landed.size()); return;
    case Kind::Broadcast: std::memcpy(t.recvbuff, t.staged.data(), t.bytes); return;
    case Kind::Send: return;
  }
}

ncclResult_t flush_streams(const std::vector<Task>& tasks) {
  for (const Task& t : tasks) {
    const cudaError_t e = flush(t.stream);
    if (e != cudaSuccess) {
      return fail(ncclUnhandledCudaError, t.call, "flushing its stream failed (cudaError_t ",
                  static_cast<int>(e), ")");
    }
  }
  return ncclSuccess;
}

void post_all(std::vector<Task>& tasks, ncclResult_t& result) {
  for (Task& t : tasks) {
    int rc = MPI_ERR_NO_MEM;
    try {
      rc = post(t);
    } catch (const std::bad_alloc&) {
      // rc stays MPI_ERR_NO_MEM: no host memory for the staging copies
    }
    if (rc != MPI_SUCCESS) communication_failed(t, "starting the transfer", rc, result);
  }
}

// Waiting in any order cannot deadlock: everything was posted first, and MPI progresses every
// posted operation while any wait blocks.
void wait_all(std::vector<Task>& tasks, ncclResult_t& result) {
  for (Task& t : tasks) {
    for (MPI_Request& request : t.requests) {
      const int rc = MPI_Wait(&request, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) communication_failed(t, "transferring", rc, result);
    }
  }
}

ncclResult_t run(std::vector<Task>& tasks) {
  NCCL_TRY(flush_streams(tasks));
  ncclResult_t result = ncclSuccess;
  post_all(tasks, result);
  wait_all(tasks, result);  // also after a failed post: MPI may still write into posted buffers
  for (const Task& t : tasks) {
    if (!t.failed) finish(t);
  }
  return result;
}

// Runs a validated task now, or queues it in the open group.
ncclResult_t submit(Task task) {
  if (group_depth > 0) {
    group_tasks.push_back(std::move(task));
    return ncclSuccess;
  }
  std::vector<Task> tasks;
  tasks.push_back(std::move(task));
  return run(tasks);
}

// ---------------------------------------------------------------------------------------------
// The API functions' validation

Task make_task(Kind kind, const char* call, const void* sendbuff, void* recvbuff, size_t count,
               ncclDataType_t type, ncclRedOp_t op, int root_or_peer, ncclComm* comm,
               cudaStream_t stream) {
  Task t{};
  t.kind = kind;
  t.call = call;
  t.comm = comm;
  t.stream = stream;
  t.sendbuff = sendbuff;
  t.recvbuff = recvbuff;
  t.count = count;
  t.type = type;
  t.op = op;
  t.root_or_peer = root_or_peer;
  return t;
}

// The checks shared by every operation, in NCCL's order; fills t.bytes. `reduces`: the op argument
// matters; `ranked`: "root" or "peer" when root_or_peer is one.
ncclResult_t check_common(Task& t, bool reduces, const char* ranked) {
  NCCL_TRY(check_comm(t.call, t.comm, true));
  NCCL_TRY(check_type(t.call, t.type));
  if (reduces) NCCL_TRY(check_op(t.call, t.op));
  if (ranked != nullptr) NCCL_TRY(check_rank(t.call, ranked, t.root_or_peer, t.comm));
  const bool per_rank_blocks = t.kind == Kind::AllGather || t.kind == Kind::ReduceScatter;
  const size_t blocks = per_rank_blocks ? static_cast<size_t>(t.comm->nranks) : 1;
  return check_sizes(t.call, t.count, t.type, blocks, t.bytes);
}

// Which buffers an operation reads and writes, and their sizes in bytes (0: not used here).
struct BufferUse {
  size_t send = 0;
  size_t recv = 0;
};

BufferUse buffer_use(const Task& t) {
  const size_t all = t.bytes * static_cast<size_t>(t.comm->nranks);
  const bool at_root = t.comm->rank == t.root_or_peer;
  switch (t.kind) {
    case Kind::AllReduce: return {t.bytes, t.bytes};
    case Kind::Broadcast: return {at_root ? t.bytes : 0, t.bytes};  // sendbuff: root only
    case Kind::Reduce: return {t.bytes, at_root ? t.bytes : 0};     // recvbuff: root only
    case Kind::AllGather: return {t.bytes, all};
    case Kind::ReduceScatter: return {all, t.bytes};
    case Kind::Send: return {t.bytes, 0};
    case Kind::Recv: return {0, t.bytes};
  }
  return {};
}

// Validates the task completely and submits it.
ncclResult_t validate_and_submit(Task t, bool reduces, const char* ranked) {
  NCCL_TRY(check_common(t, reduces, ranked));
  if (t.count == 0) return ncclSuccess;  // nothing moves, so NULL buffers are fine (as in NCCL)
  const BufferUse use = buffer_use(t);
  if (use.send != 0) NCCL_TRY(check_buffer(t.call, "sendbuff", t.sendbuff, use.send));
  if (use.recv != 0) NCCL_TRY(check_buffer(t.call, "recvbuff", t.recvbuff, use.recv));
  return submit(std::move(t));
}

// ---------------------------------------------------------------------------------------------
// MPI and communicator creation

void finalise_our_mpi() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised) MPI_Finalize();
}

// Initialises MPI unless the application has (then it is finalised at exit, by us).
ncclResult_t ensure_mpi(const char* call) {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (finalised) return fail(ncclInvalidUsage, call, "MPI has already been finalised");
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) return ncclSuccess;
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
    return fail(ncclSystemError, call, "MPI_Init_thread failed");
  }
  std::atexit(finalise_our_mpi);
  return ncclSuccess;
}

// A private duplicate of MPI_COMM_WORLD for communicator creation, so it never meets the
// application's own traffic and returns errors instead of aborting. Created by the first
// ncclCommInitRank, which every process makes together.
ncclResult_t private_world(const char* call, MPI_Comm& world) {
  static MPI_Comm dup = MPI_COMM_NULL;
  if (dup == MPI_COMM_NULL) {
    if (MPI_Comm_dup(MPI_COMM_WORLD, &dup) != MPI_SUCCESS) {
      return fail(ncclSystemError, call, "MPI_Comm_dup(MPI_COMM_WORLD) failed");
    }
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
  }
  world = dup;
  return ncclSuccess;
}

// What each process publishes when communicators are created.
struct JoinRequest {
  ncclUniqueId id;
  int nranks;
  int rank;
  int valid;  // the caller's own arguments passed the local checks
};

bool same_id(const ncclUniqueId& a, const ncclUniqueId& b) {
  return std::memcmp(a.internal, b.internal, sizeof a.internal) == 0;
}

// The world ranks that asked to join `id`, in world-rank order.
std::vector<int> members_of(const std::vector<JoinRequest>& all, const ncclUniqueId& id) {
  std::vector<int> members;
  for (size_t w = 0; w < all.size(); ++w) {
    if (same_id(all[w].id, id)) members.push_back(static_cast<int>(w));
  }
  return members;
}

// Checks one communicator's join requests against each other and against the number of processes
// that really joined; returns "" or the reason. Every member computes the same verdict.
std::string check_members(const std::vector<JoinRequest>& all, const std::vector<int>& members) {
  std::ostringstream why;
  for (int w : members) {
    if (!all[w].valid) {
      why << "world rank " << w << " passed invalid arguments for this unique id";
      return why.str();
    }
  }
  const int nranks = all[members[0]].nranks;
  for (int w : members) {
    if (all[w].nranks != nranks) {
      why << "the ranks disagree on nranks (world rank " << members[0] << ": " << nranks
          << ", world rank " << w << ": " << all[w].nranks << ")";
      return why.str();
    }
  }
  if (static_cast<int>(members.size()) != nranks) {
    why << "nranks is " << nranks << " but MPI has " << members.size()
        << " process(es) calling ncclCommInitRank with this unique id";
    return why.str();
  }
  std::vector<int> owner(static_cast<size_t>(nranks), -1);
  for (int w : members) {
    int& o = owner[static_cast<size_t>(all[w].rank)];
    if (o >= 0) {
      why << "rank " << all[w].rank << " is requested by world ranks " << o << " and " << w;
      return why.str();
    }
    o = w;
  }
  return "";
}

// The caller's own arguments; "" or the reason.
std::string check_join_arguments(const ncclComm_t* comm, int nranks, int rank) {
  std::ostringstream why;
  if (comm == nullptr) return "comm argument is NULL";
  if (nranks < 1) {
    why << "invalid nranks " << nranks << " (should be at least 1)";
  } else if (rank < 0 || rank >= nranks) {
    why << "invalid rank " << rank << " (rank should be in the 0..." << nranks - 1 << " range)";
  }
  return why.str();
}

// Builds the communicator of a checked, split MPI communicator.
ncclResult_t adopt(const char* call, MPI_Comm mpi, int nranks, int rank, int device,
                   ncclComm_t* out) {
  int size = 0, me = -1;
  MPI_Comm_size(mpi, &size);
  MPI_Comm_rank(mpi, &me);
  if (size != nranks || me != rank) {
    MPI_Comm_free(&mpi);
    return fail(ncclInternalError, call, "MPI_Comm_split gave rank ", me, " of ", size,
                " instead of rank ", rank, " of ", nranks);
  }
  MPI_Comm_set_errhandler(mpi, MPI_ERRORS_RETURN);
  auto* comm = new ncclComm;
  comm->mpi = mpi;
  comm->rank = rank;
  comm->nranks = nranks;
  comm->device = device;
  register_comm(comm);
  *out = comm;
  return ncclSuccess;
}

ncclResult_t init_rank(ncclComm_t* comm, int nranks, const ncclUniqueId& id, int rank) {
  const char* call = "ncclCommInitRank";
  if (comm != nullptr) *comm = nullptr;
  MPI_Comm world = MPI_COMM_NULL;
  NCCL_TRY(ensure_mpi(call));
  NCCL_TRY(private_world(call, world));

  std::string local = check_join_arguments(comm, nranks, rank);
  int device = 0;
  if (local.empty() && cudaGetDevice(&device) != cudaSuccess) local = "cudaGetDevice failed";

  // Everyone takes part in the exchange and the split, even with bad arguments, so that the
  // other members fail with a message instead of hanging.
  int world_size = 0;
  MPI_Comm_size(world, &world_size);
  JoinRequest mine{id, nranks, rank, local.empty() ? 1 : 0};
  std::vector<JoinRequest> all(static_cast<size_t>(world_size));
  if (MPI_Allgather(&mine, sizeof mine, MPI_BYTE, all.data(), sizeof mine, MPI_BYTE, world) !=
      MPI_SUCCESS) {
    return fail(ncclSystemError, call, "MPI_Allgather of the join requests failed");
  }
  const std::vector<int> members = members_of(all, id);
  const std::string verdict = check_members(all, members);
  const bool ok = local.empty() && verdict.empty();

  MPI_Comm mpi = MPI_COMM_NULL;
  if (MPI_Comm_split(world, ok ? members[0] : MPI_UNDEFINED, ok ? rank : 0, &mpi) != MPI_SUCCESS) {
    return fail(ncclSystemError, call, "MPI_Comm_split failed");
  }
  if (!local.empty()) return fail(ncclInvalidArgument, call, local);
  if (!verdict.empty()) return fail(ncclInvalidArgument, call, verdict);
  return adopt(call, mpi, nranks, rank, device, comm);
}

// ncclCommDestroy (`abort` false) and ncclCommAbort (`abort` true): nothing is in flight between
// calls (execution is eager), so both free the MPI communicator; they differ only for operations
// still queued in this thread's open group: destroy refuses, abort drops them.
ncclResult_t release(const char* call, ncclComm_t comm, bool abort) {
  if (comm == nullptr) return ncclSuccess;  // as NCCL
  NCCL_TRY(check_comm(call, comm, false));
  if (has_group_tasks(comm)) {
    if (!abort) {
      return fail(
          ncclInvalidUsage, call,
          "operations on this communicator are queued in an open group (call ncclGroupEnd first)");
    }
    std::erase_if(group_tasks, [comm](const Task& t) { return t.comm == comm; });
  }
  unregister_comm(comm);
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised) MPI_Comm_free(&comm->mpi);  // after MPI_Finalize, MPI has freed it
  delete comm;
  return ncclSuccess;
}

// An id nobody else has: random bits, the process id, a per-process serial number and the time.
ncclUniqueId fresh_id() {
  static std::atomic<uint64_t> serial{0};
  std::random_device entropy;
  const uint64_t words[] = {
      0x6d6d616c69676e00ULL,  // "mmalign": marks ids made by the emulation
      (static_cast<uint64_t>(entropy()) << 32) | entropy(),
      (static_cast<uint64_t>(entropy()) << 32) | entropy(),
      static_cast<uint64_t>(getpid()),
      serial.fetch_add(1),
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()),
  };
  ncclUniqueId id{};
  static_assert(sizeof words <= sizeof id.internal);
  std::memcpy(id.internal, words, sizeof words);
  return id;
}

// A query's out pointer.
ncclResult_t check_out(const char* call, const char* name, const void* out) {
  if (out == nullptr) return fail(ncclInvalidArgument, call, name, " argument is NULL");
  return ncclSuccess;
}

}  // namespace
}  // namespace mm::cuda::emu

// ---------------------------------------------------------------------------------------------
// The NCCL API

namespace emu = mm::cuda::emu;

extern "C" {

ncclResult_t ncclGetVersion(int* version) {
  NCCL_TRY(emu::check_out("ncclGetVersion", "version", version));
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId) {
  NCCL_TRY(emu::check_out("ncclGetUniqueId", "uniqueId", uniqueId));
  *uniqueId = emu::fresh_id();
  return ncclSuccess;
}

// Inside a group it still runs at once: with one rank per process there is nothing to gather.
ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank) {
  return emu::init_rank(comm, nranks, commId, rank);
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  return emu::release("ncclCommDestroy", comm, false);
}

ncclResult_t ncclCommAbort(ncclComm_t comm) { return emu::release("ncclCommAbort", comm, true); }

ncclResult_t ncclCommCount(const ncclComm_t comm, int* count) {
  NCCL_TRY(emu::check_comm("ncclCommCount", comm, false));
  NCCL_TRY(emu::check_out("ncclCommCount", "count", count));
  *count = comm->nranks;
  return ncclSuccess;
}

ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int* device) {
  NCCL_TRY(emu::check_comm("ncclCommCuDevice", comm, false));
  NCCL_TRY(emu::check_out("ncclCommCuDevice", "device", device));
  *device = comm->device;
  return ncclSuccess;
}

ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank) {
  NCCL_TRY(emu::check_comm("ncclCommUserRank", comm, false));
  NCCL_TRY(emu::check_out("ncclCommUserRank", "rank", rank));
  *rank = comm->rank;
  return ncclSuccess;
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError) {
  NCCL_TRY(emu::check_comm("ncclCommGetAsyncError", comm, false));
  NCCL_TRY(emu::check_out("ncclCommGetAsyncError", "asyncError", asyncError));
  *asyncError = comm->async_error;
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
  switch (result) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error (see ncclGetLastError for details)";
    case ncclSystemError: return "unhandled system error (see ncclGetLastError for details)";
    case ncclInternalError: return "internal error (see ncclGetLastError for details)";
    case ncclInvalidArgument: return "invalid argument (see ncclGetLastError for details)";
    case ncclInvalidUsage: return "invalid usage (see ncclGetLastError for details)";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
    default: return "unknown result code";
  }
}

// Per host thread, whatever the communicator (as NCCL).
const char* ncclGetLastError(ncclComm_t /*comm*/) { return emu::last_error.c_str(); }

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                           ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                           cudaStream_t stream) {
  return emu::note_in_group(
      emu::validate_and_submit(emu::make_task(emu::Kind::AllReduce, "ncclAllReduce", sendbuff,
                                              recvbuff, count, datatype, op, 0, comm, stream),
                               true, nullptr));
}

ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count,
                           ncclDataType_t datatype, int root, ncclComm_t comm,
                           cudaStream_t stream) {
  return emu::note_in_group(emu::validate_and_submit(
      emu::make_task(emu::Kind::Broadcast, "ncclBroadcast", sendbuff, recvbuff, count, datatype,
                     ncclSum, root, comm, stream),
      false, "root"));
}

ncclResult_t ncclReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                        ncclRedOp_t op, int root, ncclComm_t comm, cudaStream_t stream) {
  return emu::note_in_group(
      emu::validate_and_submit(emu::make_task(emu::Kind::Reduce, "ncclReduce", sendbuff, recvbuff,
                                              count, datatype, op, root, comm, stream),
                               true, "root"));
}

ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount,
                           ncclDataType_t datatype, ncclComm_t comm, cudaStream_t stream) {
  return emu::note_in_group(emu::validate_and_submit(
      emu::make_task(emu::Kind::AllGather, "ncclAllGather", sendbuff, recvbuff, sendcount, datatype,
                     ncclSum, 0, comm, stream),
      false, nullptr));
}

ncclResult_t ncclReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount,
                               ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                               cudaStream_t stream) {
  return emu::note_in_group(emu::validate_and_submit(
      emu::make_task(emu::Kind::ReduceScatter, "ncclReduceScatter", sendbuff, recvbuff, recvcount,
                     datatype, op, 0, comm, stream),
      true, nullptr));
}

ncclResult_t ncclSend(const void* sendbuff, size_t count, ncclDataType_t datatype, int peer,
                      ncclComm_t comm, cudaStream_t stream) {
  return emu::note_in_group(
      emu::validate_and_submit(emu::make_task(emu::Kind::Send, "ncclSend", sendbuff, nullptr, count,
                                              datatype, ncclSum, peer, comm, stream),
                               false, "peer"));
}

ncclResult_t ncclRecv(void* recvbuff, size_t count, ncclDataType_t datatype, int peer,
                      ncclComm_t comm, cudaStream_t stream) {
  return emu::note_in_group(
      emu::validate_and_submit(emu::make_task(emu::Kind::Recv, "ncclRecv", nullptr, recvbuff, count,
                                              datatype, ncclSum, peer, comm, stream),
                               false, "peer"));
}

ncclResult_t ncclGroupStart() {
  ++emu::group_depth;
  return ncclSuccess;
}

ncclResult_t ncclGroupEnd() {
  if (emu::group_depth == 0) {
    return emu::fail(ncclInvalidUsage, "ncclGroupEnd",
                     "not in a group call (no matching ncclGroupStart)");
  }
  if (--emu::group_depth > 0) return ncclSuccess;  // only the outermost ncclGroupEnd runs the group
  std::vector<emu::Task> tasks = std::move(emu::group_tasks);
  emu::group_tasks.clear();
  if (const ncclResult_t error = std::exchange(emu::group_error, ncclSuccess);
      error != ncclSuccess) {
    return emu::fail(error, "ncclGroupEnd", "the group did not run because a call in it failed: ",
                     emu::group_error_message);
  }
  return emu::run(tasks);
}

}  // extern "C"
