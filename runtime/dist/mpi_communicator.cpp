// The MPI backend (CPU tensors) and the job-wide fault handling.
//
// Every operation is a non-blocking MPI call (MPI_Iallreduce, MPI_Iallgather, ...) on a private
// duplicate of MPI_COMM_WORLD, so the program's own MPI traffic and the emulated NCCL's never meet
// ours; the blocking forms are the async ones followed by wait(). Open MPI progresses non-blocking
// collectives inside MPI calls, so an all-reduce launched during backward advances whenever another
// is launched or tested, and completes in wait().
//
// Faults: a failed MPI call must not return into code that would then wait for a peer (a hang), so
// the communicators get an error handler that prints "rank R: MPI error in <op>: <MPI's message>" and
// calls MPI_Abort, which makes mpirun kill every rank with a non-zero status. An uncaught exception
// anywhere in a multi-process job does the same (std::terminate handler), and a rank killed by a
// signal is noticed by mpirun itself, which then kills the others.
//
// The remaining case is a rank that leaves through exit() — an error path that returns from main
// without abort_world, or a rank that skipped a collective. MPI_Finalize (run at exit) waits for
// every rank, and the others wait in their collective for this one: a hang. So a leaving rank first
// posts an exit notice to every peer on a separate communicator, and every wait here polls for
// notices: a collective still incomplete kExitGrace after a peer's notice can never complete, and
// the job is aborted naming that peer. (The grace covers a peer that left right after its part of
// the collective was done, while this rank's part was still in flight.) When every rank leaves
// normally, they meet in a barrier on the notice communicator, collect the notices and finalise.
#define OMPI_SKIP_MPICXX 1  // the C API only: Open MPI's C++ bindings do not compile warning-free
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/dist/communicator.h"
#include "runtime/dist/mpi_communicator.h"
#include "runtime/half.h"

namespace mm::dist {
namespace {

// The op in flight on this thread, for the error handler's message.
thread_local const char* t_current_op = "MPI";

MPI_Comm g_comm = MPI_COMM_NULL;       // our private duplicate of MPI_COMM_WORLD
MPI_Comm g_exit_comm = MPI_COMM_NULL;  // exit notices only (see the header comment)
constexpr int kExitTag = 1;
constexpr auto kExitGrace = std::chrono::seconds(10);
bool g_own_mpi = false;  // we initialised MPI, so we finalise it
MpiWorld g_world;
MPI_Op g_half_ops[2][2] = {{MPI_OP_NULL, MPI_OP_NULL}, {MPI_OP_NULL, MPI_OP_NULL}};  // [f16|bf16][sum|max]

int env_rank() {
  for (const char* v : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"})
    if (const char* s = std::getenv(v)) return std::atoi(s);
  return 0;
}

bool mpi_running() {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  return initialised && !finalised;
}

// One fputs, so the lines of several ranks do not interleave mid-line.
void print_line(const std::string& why) {
  std::string line = "rank ";
  line.append(std::to_string(mpi_running() ? g_world.rank : env_rank())).append(": ").append(why).append("\n");
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

void on_mpi_error(MPI_Comm*, int* code, ...) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(*code, text, &len);
  std::string why = "MPI error in ";
  why.append(t_current_op).append(": ").append(text, static_cast<size_t>(len));
  abort_world(why);
}

void on_terminate() {
  std::string why = "uncaught exception";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      why.append(": ").append(ex.what());
    } catch (...) {
      why.append(" (not a std::exception)");
    }
  } else {
    why = "std::terminate called without an active exception";
  }
  abort_world(why);
}

// At exit: notices to every peer, the barrier where all ranks meet, the notices collected, then
// MPI_Finalize (when MPI is ours). A rank whose peers wait for it in a collective never gets past
// the barrier: they see its notice and abort the job, which ends this process too.
void leave_job() {
  if (!mpi_running()) return;
  const int w = g_world.world, me = g_world.rank;
  if (w > 1) {
    std::vector<MPI_Request> requests;
    std::vector<int> inbox(static_cast<size_t>(w), -1);
    t_current_op = "exit";
    for (int peer = 0; peer < w; ++peer) {
      if (peer == me) continue;
      requests.emplace_back();
      MPI_Isend(&g_world.rank, 1, MPI_INT, peer, kExitTag, g_exit_comm, &requests.back());
    }
    MPI_Barrier(g_exit_comm);
    for (int peer = 0; peer < w; ++peer) {
      if (peer == me) continue;
      requests.emplace_back();
      MPI_Irecv(&inbox[static_cast<size_t>(peer)], 1, MPI_INT, peer, kExitTag, g_exit_comm, &requests.back());
    }
    MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  }
  if (g_own_mpi) MPI_Finalize();
}

// Completes `requests`, aborting the job when a peer has left (see the header comment).
void wait_watching_peers(std::vector<MPI_Request>& requests, const char* op) {
  t_current_op = op;
  PeerExitWatch watch;
  for (int spins = 0;; ++spins) {
    int done = 0;
    MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
    if (done) return;
    watch.poll(op);
    if (spins > 1000) std::this_thread::yield();  // a long wait: let a computing thread have the core
  }
}

// Element-wise reductions of the 16-bit float types, which MPI lacks: computed in float, rounded
// once (the same contract as the CPU kernels, runtime/half.h).
template <typename H, bool kMax>
void half_op(void* in, void* inout, int* len, MPI_Datatype*) {
  const H* a = static_cast<const H*>(in);
  H* b = static_cast<H*>(inout);
  for (int i = 0; i < *len; ++i) {
    const float x = static_cast<float>(a[i]), y = static_cast<float>(b[i]);
    b[i] = H(kMax ? std::fmax(x, y) : x + y);
  }
}

void init_world() {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    // MULTIPLE: the emulated NCCL calls MPI too, and a Work may be waited on from another thread.
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
      std::fputs("MPI_Init_thread failed\n", stderr);
      std::_Exit(1);
    }
    g_own_mpi = true;
  }
  MPI_Errhandler handler;
  MPI_Comm_create_errhandler(on_mpi_error, &handler);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, handler);
  MPI_Comm_dup(MPI_COMM_WORLD, &g_comm);
  MPI_Comm_set_errhandler(g_comm, handler);
  MPI_Comm_dup(MPI_COMM_WORLD, &g_exit_comm);
  MPI_Comm_set_errhandler(g_exit_comm, handler);
  std::atexit(leave_job);
  MPI_Comm_rank(g_comm, &g_world.rank);
  MPI_Comm_size(g_comm, &g_world.world);
  MPI_Comm local = MPI_COMM_NULL;
  MPI_Comm_split_type(g_comm, MPI_COMM_TYPE_SHARED, g_world.rank, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &g_world.local_rank);
  MPI_Comm_free(&local);
  MPI_Op_create(half_op<Half, false>, 1, &g_half_ops[0][0]);
  MPI_Op_create(half_op<Half, true>, 1, &g_half_ops[0][1]);
  MPI_Op_create(half_op<BFloat16, false>, 1, &g_half_ops[1][0]);
  MPI_Op_create(half_op<BFloat16, true>, 1, &g_half_ops[1][1]);
  // A multi-process job must never leave an exception to kill one rank quietly while the others
  // wait for it in a collective.
  if (g_world.world > 1) std::set_terminate(on_terminate);
}

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::Bool: return MPI_C_BOOL;
    case DType::U8: return MPI_UINT8_T;
    case DType::I32: return MPI_INT32_T;
    case DType::I64: return MPI_INT64_T;
    case DType::F16:
    case DType::BF16: return MPI_UINT16_T;  // reduced by our own MPI_Ops
    case DType::F32: return MPI_FLOAT;
    case DType::F64: return MPI_DOUBLE;
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op mpi_op(DType t, ReduceOp op) {
  const bool max = op == ReduceOp::Max;
  if (t == DType::F16) return g_half_ops[0][max];
  if (t == DType::BF16) return g_half_ops[1][max];
  return max ? MPI_MAX : MPI_SUM;  // Avg: the sum, divided by the world size when complete
}

// x ← x / n in place; integers truncate toward zero (as NCCL's ncclAvg).
void divide_in_place(const Tensor& t, int n) {
  MM_DISPATCH_ALL(t.dtype(), "all_reduce", [&] {
    scalar_t* p = static_cast<scalar_t*>(t.raw_data());
    const int64_t count = t.numel();
    if constexpr (std::is_same_v<scalar_t, bool>) {
      (void)p, (void)count;
    } else {
      for (int64_t i = 0; i < count; ++i) p[i] = static_cast<scalar_t>(static_cast<double>(p[i]) / n);
    }
  });
}

// Requests in flight plus what must happen once they are done. Holding the tensors keeps their
// memory alive while MPI may still read or write it.
class MpiWork : public Work {
 public:
  MpiWork(const char* op, std::vector<Tensor> keep, Tensor result, std::function<void()> finish)
      : op_(op), keep_(std::move(keep)), result_(std::move(result)), finish_(std::move(finish)) {}
  std::vector<MPI_Request> requests;

  void wait() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return;
    wait_watching_peers(requests, op_);
    complete();
  }
  bool completed() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return true;
    int flag = 0;
    t_current_op = op_;
    MPI_Testall(static_cast<int>(requests.size()), requests.data(), &flag, MPI_STATUSES_IGNORE);
    if (flag) complete();
    return done_;
  }
  Tensor result() const override { return result_; }

 private:
  void complete() {
    if (finish_) finish_();
    done_ = true;
    keep_.clear();
  }
  const char* op_;
  std::vector<Tensor> keep_;
  Tensor result_;
  std::function<void()> finish_;
  std::mutex mu_;
  bool done_ = false;
};

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator() : Communicator(mpi_world().rank, mpi_world().world, mpi_world().local_rank) {}
  const char* backend() const override { return "mpi"; }
  DeviceKind device_kind() const override { return DeviceKind::CPU; }

 protected:
  WorkPtr do_all_reduce(const Tensor& t, ReduceOp op) override {
    const int n = count_of("all_reduce", t);
    std::function<void()> finish;
    if (op == ReduceOp::Avg) finish = [t, w = world()] { divide_in_place(t, w); };
    auto work = std::make_shared<MpiWork>("all_reduce", std::vector<Tensor>{t}, Tensor(), std::move(finish));
    t_current_op = "all_reduce";
    work->requests.resize(1);
    MPI_Iallreduce(MPI_IN_PLACE, t.raw_data(), n, mpi_type(t.dtype()), mpi_op(t.dtype(), op), g_comm,
                   &work->requests[0]);
    return work;
  }
  WorkPtr do_all_gather(const Tensor& in, const Tensor& out) override {
    const int n = count_of("all_gather", in);
    count_of("all_gather", out);
    auto work = std::make_shared<MpiWork>("all_gather", std::vector<Tensor>{in, out}, out, nullptr);
    t_current_op = "all_gather";
    work->requests.resize(1);
    MPI_Iallgather(in.raw_data(), n, mpi_type(in.dtype()), out.raw_data(), n, mpi_type(in.dtype()), g_comm,
                   &work->requests[0]);
    return work;
  }
  WorkPtr do_reduce_scatter(const Tensor& in, const Tensor& out, ReduceOp op) override {
    count_of("reduce_scatter", in);
    const int n = count_of("reduce_scatter", out);
    std::function<void()> finish;
    if (op == ReduceOp::Avg) finish = [out, w = world()] { divide_in_place(out, w); };
    auto work = std::make_shared<MpiWork>("reduce_scatter", std::vector<Tensor>{in, out}, out, std::move(finish));
    t_current_op = "reduce_scatter";
    work->requests.resize(1);
    MPI_Ireduce_scatter_block(in.raw_data(), out.raw_data(), n, mpi_type(in.dtype()), mpi_op(in.dtype(), op), g_comm,
                              &work->requests[0]);
    return work;
  }
  WorkPtr do_broadcast(const Tensor& t, int root) override {
    const int n = count_of("broadcast", t);
    auto work = std::make_shared<MpiWork>("broadcast", std::vector<Tensor>{t}, Tensor(), nullptr);
    t_current_op = "broadcast";
    work->requests.resize(1);
    MPI_Ibcast(t.raw_data(), n, mpi_type(t.dtype()), root, g_comm, &work->requests[0]);
    return work;
  }
  void do_barrier() override {
    std::vector<MPI_Request> request(1);
    t_current_op = "barrier";
    MPI_Ibarrier(g_comm, &request[0]);
    wait_watching_peers(request, "barrier");
  }
  WorkPtr do_sendrecv(const Tensor* out, int dst, const Tensor* in, int src) override {
    std::vector<Tensor> keep;
    if (out) keep.push_back(*out);
    if (in) keep.push_back(*in);
    const char* op = out && in ? "sendrecv" : out ? "send" : "recv";
    auto work = std::make_shared<MpiWork>(op, std::move(keep), Tensor(), nullptr);
    t_current_op = op;
    // Receive first: a posted receive lets a matching send complete without buffering.
    if (in) {
      work->requests.emplace_back();
      MPI_Irecv(in->raw_data(), count_of(op, *in), mpi_type(in->dtype()), src, kTag, g_comm, &work->requests.back());
    }
    if (out) {
      work->requests.emplace_back();
      MPI_Isend(out->raw_data(), count_of(op, *out), mpi_type(out->dtype()), dst, kTag, g_comm,
                &work->requests.back());
    }
    return work;
  }

 private:
  static constexpr int kTag = 7;  // point-to-point messages are matched by (peer, order): one tag
  // MPI counts are ints: larger tensors would need chunking, which nothing needs yet.
  int count_of(const char* op, const Tensor& t) const {
    MM_CHECK(t.numel() <= INT_MAX, Value, where(op), "tensor ", shape_str(t.shape()), " has ", t.numel(),
             " elements; the MPI backend sends at most ", INT_MAX, " per call");
    return static_cast<int>(t.numel());
  }
};

const bool g_registered =
    register_communicator_factory(DeviceKind::CPU, [] { return std::make_unique<MpiCommunicator>(); });

}  // namespace

const MpiWorld& mpi_world() {
  static std::once_flag once;
  std::call_once(once, init_world);
  return g_world;
}

void mpi_broadcast_bytes(void* data, size_t nbytes, int root, const char* op) {
  mpi_world();
  MM_CHECK(nbytes <= static_cast<size_t>(INT_MAX), Value, op, "broadcast of ", nbytes, " bytes is too large");
  std::vector<MPI_Request> request(1);
  t_current_op = op;
  MPI_Ibcast(data, static_cast<int>(nbytes), MPI_BYTE, root, g_comm, &request[0]);
  wait_watching_peers(request, op);
}

void PeerExitWatch::poll(const char* op) {
  if (g_world.world <= 1 || !mpi_running()) return;
  if (!noticed) {
    int flag = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kExitTag, g_exit_comm, &flag, &status);
    if (!flag) return;
    noticed = true;
    rank = status.MPI_SOURCE;
    since = std::chrono::steady_clock::now();
  }
  if (std::chrono::steady_clock::now() - since > kExitGrace) {
    std::string why = "rank ";
    why.append(std::to_string(rank)).append(" has exited while this rank waits for it in ").append(op);
    why.append("; aborting the job (a rank that fails should call abort_world)");
    abort_world(why);
  }
}

void abort_world(const std::string& why) {
  print_line(why);
  if (mpi_running()) MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

}  // namespace mm::dist
