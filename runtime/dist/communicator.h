// Collective communication between the processes of a data-parallel job (SPEC §8).
//
// One process per device, started by `mpirun -np N ...`. A Communicator is the group of those
// processes seen from one of them: rank() in [0, world()), local_rank() = rank among the processes of
// the same host (it picks the GPU). Three backends:
//   - LocalCommunicator: a world of 1, used when the process was not started by an MPI launcher (no
//     OMPI_COMM_WORLD_SIZE / PMI_SIZE / PMIX_RANK in the environment); MPI is never initialised then,
//     so a plain `mmalign train` needs no MPI runtime. Collectives are identities (copies).
//   - MpiCommunicator (mpi_communicator.cpp): CPU tensors, over a private duplicate of MPI_COMM_WORLD.
//   - NcclCommunicator (runtime/cuda/nccl_communicator.cpp, CUDA builds only): CUDA tensors; NCCL's
//     unique id is broadcast over MPI; cudaSetDevice(local_rank).
//
// Every collective must be called by every rank of the communicator, in the same order, with tensors
// of the same shape and dtype (all_gather/reduce_scatter: the same per-rank block). Tensors must be
// contiguous and live on the backend's device kind; a violation is an mm::Error naming the
// collective, the rank, the tensor and the rule. Results are written in place (all_reduce,
// broadcast, recv) or returned in a new tensor (all_gather, reduce_scatter).
//
// Async variants return a Work handle: the tensors involved must not be read or written until
// wait() returns (the handle keeps them alive). Async calls are issued in program order, so the
// ordering rule above applies to the order of the *_async calls, not of the waits.
//
// Faults (SPEC §8: a failing rank makes every rank exit non-zero, naming it, never a hang): MPI errors
// abort the whole job with "rank R: ..." on stderr (never return into code that would wait for a
// peer), an uncaught exception on any rank of a multi-process job does the same (std::terminate
// handler), and abort_world() is the explicit way for a program that catches an error to bring
// every rank down.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "runtime/tensor.h"

namespace mm::dist {

enum class ReduceOp { Sum, Avg, Max };
const char* reduce_op_name(ReduceOp op);

// The collectives, for the byte counters.
enum class Collective { AllReduce, AllGather, ReduceScatter, Broadcast, Barrier, Send, Recv };
inline constexpr int kNumCollectives = 7;
const char* collective_name(Collective c);

// Per collective kind: calls made and payload bytes this rank handed to them — the bytes of the
// input tensor (all_reduce, all_gather, reduce_scatter, send; broadcast: the tensor, counted on every
// rank; recv: the bytes received). What a backend moves on the wire depends on its algorithm (a ring
// all-reduce sends 2·(world−1)/world of the payload); the payload is what the program controls.
struct CollectiveStats {
  int64_t calls = 0;
  int64_t bytes = 0;
};

// An asynchronous operation in flight. wait() blocks until it is complete (then it is a no-op);
// result() is the new tensor of all_gather / reduce_scatter (undefined for the in-place ones) and
// may only be read after wait().
class Work {
 public:
  virtual ~Work() = default;
  virtual void wait() = 0;
  virtual bool completed() = 0;  // non-blocking test; drives progress on backends that need it
  virtual Tensor result() const { return Tensor(); }
};
using WorkPtr = std::shared_ptr<Work>;

// A Work that is already complete (local backends, empty tensors).
WorkPtr completed_work(Tensor result = Tensor());

class Communicator {
 public:
  Communicator(int rank, int world, int local_rank);
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int world() const { return world_; }
  int local_rank() const { return local_rank_; }
  virtual const char* backend() const = 0;     // "local", "mpi", "nccl"
  virtual DeviceKind device_kind() const = 0;  // tensors must live on this kind of device

  // ---- blocking collectives ----
  void all_reduce(const Tensor& t, ReduceOp op = ReduceOp::Sum) { all_reduce_async(t, op)->wait(); }
  // in [n0, ...] on every rank → [world·n0, ...]: rank r's block at rows [r·n0, (r+1)·n0).
  Tensor all_gather(const Tensor& in);
  // in [world·n0, ...] → [n0, ...]: rank r gets op over ranks of their block r.
  Tensor reduce_scatter(const Tensor& in, ReduceOp op = ReduceOp::Sum);
  void broadcast(const Tensor& t, int root) { broadcast_async(t, root)->wait(); }
  void barrier();
  void send(const Tensor& t, int peer) { send_async(t, peer)->wait(); }
  void recv(const Tensor& t, int peer) { recv_async(t, peer)->wait(); }
  // Sends `out` to `dst` and receives `in` from `src` together (a ring step cannot deadlock).
  void sendrecv(const Tensor& out, int dst, const Tensor& in, int src) { sendrecv_async(out, dst, in, src)->wait(); }

  // ---- asynchronous collectives ----
  WorkPtr all_reduce_async(const Tensor& t, ReduceOp op = ReduceOp::Sum);
  WorkPtr all_gather_async(const Tensor& in);
  WorkPtr reduce_scatter_async(const Tensor& in, ReduceOp op = ReduceOp::Sum);
  WorkPtr broadcast_async(const Tensor& t, int root);
  WorkPtr send_async(const Tensor& t, int peer);
  WorkPtr recv_async(const Tensor& t, int peer);
  WorkPtr sendrecv_async(const Tensor& out, int dst, const Tensor& in, int src);

  const CollectiveStats& stats(Collective c) const { return stats_[static_cast<int>(c)]; }
  void reset_stats() { stats_ = {}; }

 protected:
  // Backends implement these on validated arguments (contiguous, right device kind, shapes checked,
  // outputs allocated by the caller).
  virtual WorkPtr do_all_reduce(const Tensor& t, ReduceOp op) = 0;
  virtual WorkPtr do_all_gather(const Tensor& in, const Tensor& out) = 0;
  virtual WorkPtr do_reduce_scatter(const Tensor& in, const Tensor& out, ReduceOp op) = 0;
  virtual WorkPtr do_broadcast(const Tensor& t, int root) = 0;
  virtual void do_barrier() = 0;
  virtual WorkPtr do_sendrecv(const Tensor* out, int dst, const Tensor* in, int src) = 0;

  // "all_reduce (rank 1 of 4, mpi)": the op name every error starts with.
  std::string where(const char* op) const;
  // Checks a tensor argument; `what` names it in the message ("tensor", "input").
  void check_tensor(const char* op, const char* what, const Tensor& t) const;
  void check_peer(const char* op, const char* what, int peer) const;
  void count(Collective c, int64_t bytes) {
    stats_[static_cast<int>(c)].calls += 1;
    stats_[static_cast<int>(c)].bytes += bytes;
  }

 private:
  int rank_, world_, local_rank_;
  std::array<CollectiveStats, kNumCollectives> stats_{};
};

// A world of one process: every collective is the identity.
class LocalCommunicator : public Communicator {
 public:
  explicit LocalCommunicator(DeviceKind kind) : Communicator(0, 1, 0), kind_(kind) {}
  const char* backend() const override { return "local"; }
  DeviceKind device_kind() const override { return kind_; }

 protected:
  WorkPtr do_all_reduce(const Tensor& t, ReduceOp op) override;
  WorkPtr do_all_gather(const Tensor& in, const Tensor& out) override;
  WorkPtr do_reduce_scatter(const Tensor& in, const Tensor& out, ReduceOp op) override;
  WorkPtr do_broadcast(const Tensor& t, int root) override;
  void do_barrier() override {}
  WorkPtr do_sendrecv(const Tensor* out, int dst, const Tensor* in, int src) override;

 private:
  DeviceKind kind_;
};

// True when this process was started by an MPI launcher (mpirun, srun --mpi=pmix).
bool launched_by_mpi();

// The communicator of all processes of the job for tensors on `device`'s kind: MPI for CPU tensors,
// NCCL for CUDA tensors (CUDA builds), LocalCommunicator when not launched by MPI. Created on first
// use (collectively: the first call for a device kind must be made by every rank) and kept for the
// life of the process.
Communicator& world_communicator(Device device = kCPU);

// Prints "rank R: why" to stderr and terminates every process of the job with a non-zero status
// (MPI_Abort when MPI is running, exit(1) otherwise). Safe to call from any thread.
[[noreturn]] void abort_world(const std::string& why);

// For backends that live in other directories (NCCL in runtime/cuda/): registers the factory
// world_communicator() calls for `kind` when launched by MPI. Called from a static initialiser.
using CommunicatorFactory = std::function<std::unique_ptr<Communicator>()>;
bool register_communicator_factory(DeviceKind kind, CommunicatorFactory factory);

}  // namespace mm::dist
