// The NCCL backend: the communicator for CUDA tensors (runtime/dist/communicator.h), compiled with the
// CUDA backend and, in the emulation build, running on the CPU over the emulated NCCL
// (runtime/cuda/emulation/nccl_mpi.cpp).
//
// Bootstrap over MPI: rank 0 makes the unique id, MPI broadcasts it, every rank selects its GPU
// (local rank modulo the devices it sees) and joins with ncclCommInitRank. Every operation is
// enqueued on the stream all kernels use (runtime/cuda/launch.h: current_stream), so kernels queued
// before it produce its input and kernels after it see its output with no extra synchronisation; the
// Work handle records an event after it, and wait() blocks the host until the event has passed.
//
// Faults: NCCL reports a dead or failing peer asynchronously. wait() therefore polls the event and
// ncclCommGetAsyncError together; on an error it aborts the communicator and the job (abort_world), so
// a rank never spins on an event that cannot complete. A synchronous NCCL error does the same: after
// a failed collective the ranks can no longer agree on what comes next.
#include <nccl.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/launch.h"
#include "runtime/dist/communicator.h"
#include "runtime/dist/mpi_communicator.h"

namespace mm::dist {
namespace {

[[noreturn]] void nccl_failed(ncclComm_t comm, const char* call, ncclResult_t r, const std::string& where) {
  std::string why = where;
  why.append(": ").append(call).append(" failed: ").append(ncclGetErrorString(r));
  if (const char* last = ncclGetLastError(comm); last != nullptr && *last != '\0') why.append(" (").append(last).append(")");
  if (comm != nullptr) ncclCommAbort(comm);
  abort_world(why);
}

#define MM_NCCL_CALL(comm, call, where)                                    \
  do {                                                                     \
    if (ncclResult_t mm_r_ = (call); mm_r_ != ncclSuccess)                 \
      nccl_failed(comm, #call, mm_r_, where);                              \
  } while (0)

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::Bool:
    case DType::U8: return ncclUint8;
    case DType::I32: return ncclInt32;
    case DType::I64: return ncclInt64;
    case DType::F16: return ncclFloat16;
    case DType::BF16: return ncclBfloat16;
    case DType::F32: return ncclFloat32;
    case DType::F64: return ncclFloat64;
  }
  return ncclUint8;
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return ncclSum;
    case ReduceOp::Avg: return ncclAvg;
    case ReduceOp::Max: return ncclMax;
  }
  return ncclSum;
}

class NcclWork : public Work {
 public:
  NcclWork(ncclComm_t comm, std::string where, std::vector<Tensor> keep, Tensor result)
      : comm_(comm), where_(std::move(where)), keep_(std::move(keep)), result_(std::move(result)) {
    MM_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming), where_.c_str());
    MM_CUDA_CHECK(cudaEventRecord(event_, cuda::current_stream()), where_.c_str());
  }
  ~NcclWork() override { cudaEventDestroy(event_); }

  void wait() override {
    PeerExitWatch watch;  // a peer that left through exit() would leave this event pending forever
    while (!completed()) {
      watch.poll(where_.c_str());
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  bool completed() override {
    if (done_) return true;
    cudaError_t q = cudaEventQuery(event_);
    if (q == cudaSuccess) {
      done_ = true;
      keep_.clear();
      return true;
    }
    if (q != cudaErrorNotReady) abort_world(where_ + ": cudaEventQuery failed: " + cudaGetErrorString(q));
    ncclResult_t async = ncclSuccess;
    MM_NCCL_CALL(comm_, ncclCommGetAsyncError(comm_, &async), where_);
    if (async != ncclSuccess) nccl_failed(comm_, "an asynchronous NCCL operation", async, where_);
    return false;
  }
  Tensor result() const override { return result_; }

 private:
  ncclComm_t comm_;
  std::string where_;
  std::vector<Tensor> keep_;
  Tensor result_;
  cudaEvent_t event_ = nullptr;
  bool done_ = false;
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator() : Communicator(mpi_world().rank, mpi_world().world, mpi_world().local_rank) {
    int devices = 0;
    MM_CUDA_CHECK(cudaGetDeviceCount(&devices), "NcclCommunicator");
    MM_CHECK(devices > 0, Device, where("NcclCommunicator"), "no CUDA device is visible to this process");
    device_ = local_rank() % devices;
    MM_CUDA_CHECK(cudaSetDevice(device_), "NcclCommunicator");
    ncclUniqueId id{};
    if (rank() == 0) MM_NCCL_CALL(nullptr, ncclGetUniqueId(&id), where("NcclCommunicator"));
    mpi_broadcast_bytes(&id, sizeof id, 0, "NcclCommunicator: unique id");
    MM_NCCL_CALL(nullptr, ncclCommInitRank(&comm_, world(), id, rank()), where("NcclCommunicator"));
  }
  // Never destroyed (world_communicator keeps it for the life of the process): NCCL and MPI are torn
  // down by process exit.
  const char* backend() const override { return "nccl"; }
  DeviceKind device_kind() const override { return DeviceKind::CUDA; }

 protected:
  WorkPtr do_all_reduce(const Tensor& t, ReduceOp op) override {
    check_device("all_reduce", t);
    MM_NCCL_CALL(comm_, ncclAllReduce(t.raw_data(), t.raw_data(), n(t), nccl_type(t.dtype()), nccl_op(op), comm_,
                                      cuda::current_stream()), where("all_reduce"));
    return work("all_reduce", {t}, Tensor());
  }
  WorkPtr do_all_gather(const Tensor& in, const Tensor& out) override {
    check_device("all_gather", in);
    MM_NCCL_CALL(comm_, ncclAllGather(in.raw_data(), out.raw_data(), n(in), nccl_type(in.dtype()), comm_,
                                      cuda::current_stream()), where("all_gather"));
    return work("all_gather", {in, out}, out);
  }
  WorkPtr do_reduce_scatter(const Tensor& in, const Tensor& out, ReduceOp op) override {
    check_device("reduce_scatter", in);
    MM_NCCL_CALL(comm_, ncclReduceScatter(in.raw_data(), out.raw_data(), n(out), nccl_type(in.dtype()), nccl_op(op),
                                          comm_, cuda::current_stream()), where("reduce_scatter"));
    return work("reduce_scatter", {in, out}, out);
  }
  WorkPtr do_broadcast(const Tensor& t, int root) override {
    check_device("broadcast", t);
    MM_NCCL_CALL(comm_, ncclBroadcast(t.raw_data(), t.raw_data(), n(t), nccl_type(t.dtype()), root, comm_,
                                      cuda::current_stream()), where("broadcast"));
    return work("broadcast", {t}, Tensor());
  }
  void do_barrier() override {
    // NCCL has no barrier: a one-element all-reduce that every rank waits for is one.
    Tensor token = Tensor::empty({1}, DType::F32, cuda_device(device_));
    MM_CUDA_CHECK(cudaMemsetAsync(token.raw_data(), 0, sizeof(float), cuda::current_stream()), "barrier");
    do_all_reduce(token, ReduceOp::Sum)->wait();
  }
  WorkPtr do_sendrecv(const Tensor* out, int dst, const Tensor* in, int src) override {
    const char* op = out && in ? "sendrecv" : out ? "send" : "recv";
    std::vector<Tensor> keep;
    // A group, so a ring step (everyone sends and receives) cannot deadlock.
    MM_NCCL_CALL(comm_, ncclGroupStart(), where(op));
    if (out) {
      check_device(op, *out);
      keep.push_back(*out);
      MM_NCCL_CALL(comm_, ncclSend(out->raw_data(), n(*out), nccl_type(out->dtype()), dst, comm_,
                                   cuda::current_stream()), where(op));
    }
    if (in) {
      check_device(op, *in);
      keep.push_back(*in);
      MM_NCCL_CALL(comm_, ncclRecv(in->raw_data(), n(*in), nccl_type(in->dtype()), src, comm_,
                                   cuda::current_stream()), where(op));
    }
    MM_NCCL_CALL(comm_, ncclGroupEnd(), where(op));
    return work(op, std::move(keep), Tensor());
  }

 private:
  static size_t n(const Tensor& t) { return static_cast<size_t>(t.numel()); }
  void check_device(const char* op, const Tensor& t) const {
    MM_CHECK(t.device().index == device_, Device, where(op), "tensor ", shape_str(t.shape()), " is on ",
             t.device().str(), ", but local rank ", local_rank(), " drives ", cuda_device(device_).str());
  }
  WorkPtr work(const char* op, std::vector<Tensor> keep, Tensor result) {
    return std::make_shared<NcclWork>(comm_, where(op), std::move(keep), std::move(result));
  }
  int device_ = 0;
  ncclComm_t comm_ = nullptr;
};

const bool g_registered =
    register_communicator_factory(DeviceKind::CUDA, [] { return std::make_unique<NcclCommunicator>(); });

}  // namespace
}  // namespace mm::dist
