// The backend-independent half of the communicator: argument checks, byte counters, the local
// backend and the factory. Nothing here includes mpi.h: the MPI backend (mpi_communicator.cpp) and the
// NCCL backend (runtime/cuda/nccl_communicator.cpp) register themselves.
#include "runtime/dist/communicator.h"

#include <cstdlib>
#include <map>
#include <mutex>

namespace mm::dist {

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Avg: return "avg";
    case ReduceOp::Max: return "max";
  }
  return "?";
}

const char* collective_name(Collective c) {
  static const char* names[kNumCollectives] = {"all_reduce", "all_gather", "reduce_scatter", "broadcast",
                                               "barrier",    "send",       "recv"};
  return names[static_cast<int>(c)];
}

namespace {

class DoneWork : public Work {
 public:
  explicit DoneWork(Tensor r) : result_(std::move(r)) {}
  void wait() override {}
  bool completed() override { return true; }
  Tensor result() const override { return result_; }

 private:
  Tensor result_;
};

int64_t nbytes(const Tensor& t) { return t.numel() * static_cast<int64_t>(t.element_size()); }

std::string strides_str(const Strides& s) { return shape_str(Shape(s.begin(), s.end())); }

}  // namespace

WorkPtr completed_work(Tensor result) { return std::make_shared<DoneWork>(std::move(result)); }

Communicator::Communicator(int rank, int world, int local_rank) : rank_(rank), world_(world), local_rank_(local_rank) {
  MM_INTERNAL_ASSERT(world >= 1 && rank >= 0 && rank < world && local_rank >= 0);
}

std::string Communicator::where(const char* op) const {
  std::string s(op);
  s.append(" (rank ").append(std::to_string(rank_)).append(" of ").append(std::to_string(world_));
  s.append(", ").append(backend()).append(")");
  return s;
}

void Communicator::check_tensor(const char* op, const char* what, const Tensor& t) const {
  MM_CHECK(t.defined(), Value, where(op), what, " is an undefined tensor");
  MM_CHECK(t.device().kind == device_kind(), Device, where(op), what, " ", dtype_name(t.dtype()), " ",
           shape_str(t.shape()), " is on ", t.device().str(), ", but this communicator carries ",
           device_kind() == DeviceKind::CPU ? "CPU" : "CUDA", " tensors (use world_communicator(", t.device().str(),
           "))");
  MM_CHECK(t.is_contiguous(), Value, where(op), what, " ", dtype_name(t.dtype()), " ", shape_str(t.shape()),
           " with strides ", strides_str(t.strides()), " is not contiguous (call contiguous() first)");
}

void Communicator::check_peer(const char* op, const char* what, int peer) const {
  MM_CHECK(peer >= 0 && peer < world_, Index, where(op), what, " ", peer, " is not a rank of this world (0..",
           world_ - 1, ")");
}

WorkPtr Communicator::all_reduce_async(const Tensor& t, ReduceOp op) {
  check_tensor("all_reduce", "tensor", t);
  MM_CHECK(t.dtype() != DType::Bool, DType, where("all_reduce"), "cannot reduce a bool tensor ",
           shape_str(t.shape()), " with ", reduce_op_name(op), " (convert it to u8 or i32 first)");
  count(Collective::AllReduce, nbytes(t));
  if (t.numel() == 0) return completed_work();
  return do_all_reduce(t, op);
}

Tensor Communicator::all_gather(const Tensor& in) {
  WorkPtr w = all_gather_async(in);
  w->wait();
  return w->result();
}

WorkPtr Communicator::all_gather_async(const Tensor& in) {
  check_tensor("all_gather", "input", in);
  MM_CHECK(in.dim() >= 1, Shape, where("all_gather"), "input must have at least one dimension (rows are "
           "concatenated along dim 0), got a scalar");
  Shape out_shape = in.shape();
  out_shape[0] *= world_;
  Tensor out = Tensor::empty(out_shape, in.dtype(), in.device());
  count(Collective::AllGather, nbytes(in));
  if (in.numel() == 0) return completed_work(out);
  return do_all_gather(in, out);
}

Tensor Communicator::reduce_scatter(const Tensor& in, ReduceOp op) {
  WorkPtr w = reduce_scatter_async(in, op);
  w->wait();
  return w->result();
}

WorkPtr Communicator::reduce_scatter_async(const Tensor& in, ReduceOp op) {
  check_tensor("reduce_scatter", "input", in);
  MM_CHECK(in.dim() >= 1 && in.size(0) % world_ == 0, Shape, where("reduce_scatter"), "input ",
           shape_str(in.shape()), ": dim 0 must be a multiple of the world size ", world_,
           " (one block of rows per rank)");
  MM_CHECK(in.dtype() != DType::Bool, DType, where("reduce_scatter"), "cannot reduce a bool tensor");
  Shape out_shape = in.shape();
  out_shape[0] /= world_;
  Tensor out = Tensor::empty(out_shape, in.dtype(), in.device());
  count(Collective::ReduceScatter, nbytes(in));
  if (in.numel() == 0) return completed_work(out);
  return do_reduce_scatter(in, out, op);
}

WorkPtr Communicator::broadcast_async(const Tensor& t, int root) {
  check_tensor("broadcast", "tensor", t);
  check_peer("broadcast", "root", root);
  count(Collective::Broadcast, nbytes(t));
  if (t.numel() == 0) return completed_work();
  return do_broadcast(t, root);
}

void Communicator::barrier() {
  count(Collective::Barrier, 0);
  do_barrier();
}

WorkPtr Communicator::send_async(const Tensor& t, int peer) {
  check_tensor("send", "tensor", t);
  check_peer("send", "peer", peer);
  count(Collective::Send, nbytes(t));
  return do_sendrecv(&t, peer, nullptr, -1);
}

WorkPtr Communicator::recv_async(const Tensor& t, int peer) {
  check_tensor("recv", "tensor", t);
  check_peer("recv", "peer", peer);
  count(Collective::Recv, nbytes(t));
  return do_sendrecv(nullptr, -1, &t, peer);
}

WorkPtr Communicator::sendrecv_async(const Tensor& out, int dst, const Tensor& in, int src) {
  check_tensor("sendrecv", "send tensor", out);
  check_tensor("sendrecv", "receive tensor", in);
  check_peer("sendrecv", "destination", dst);
  check_peer("sendrecv", "source", src);
  MM_CHECK(out.dtype() == in.dtype(), DType, where("sendrecv"), "send tensor is ", dtype_name(out.dtype()),
           " but receive tensor is ", dtype_name(in.dtype()));
  count(Collective::Send, nbytes(out));
  count(Collective::Recv, nbytes(in));
  return do_sendrecv(&out, dst, &in, src);
}

// ---- LocalCommunicator --------------------------------------------------------------------------

WorkPtr LocalCommunicator::do_all_reduce(const Tensor&, ReduceOp) { return completed_work(); }

WorkPtr LocalCommunicator::do_all_gather(const Tensor& in, const Tensor& out) {
  copy_bytes(out.raw_data(), out.device(), in.raw_data(), in.device(), static_cast<size_t>(nbytes(in)));
  return completed_work(out);
}

WorkPtr LocalCommunicator::do_reduce_scatter(const Tensor& in, const Tensor& out, ReduceOp) {
  copy_bytes(out.raw_data(), out.device(), in.raw_data(), in.device(), static_cast<size_t>(nbytes(in)));
  return completed_work(out);
}

WorkPtr LocalCommunicator::do_broadcast(const Tensor&, int) { return completed_work(); }

WorkPtr LocalCommunicator::do_sendrecv(const Tensor* out, int, const Tensor* in, int) {
  // With one rank, a message can only go to itself: only the paired form is meaningful.
  MM_CHECK(out != nullptr && in != nullptr, Value, where(out ? "send" : "recv"),
           "a lone send or recv to itself would never complete in a world of one process");
  MM_CHECK(out->shape() == in->shape(), Shape, where("sendrecv"), "send ", shape_str(out->shape()),
           " and receive ", shape_str(in->shape()), " differ (a world of one sends to itself)");
  if (!out->same(*in) && out->numel() > 0)
    copy_bytes(in->raw_data(), in->device(), out->raw_data(), out->device(), static_cast<size_t>(nbytes(*out)));
  return completed_work();
}

// ---- the factory --------------------------------------------------------------------------------

namespace {
// Recursive: a factory may itself ask for another communicator (NCCL bootstraps over MPI's).
std::recursive_mutex& factory_mutex() {
  static std::recursive_mutex m;
  return m;
}
std::map<DeviceKind, CommunicatorFactory>& factories() {
  static std::map<DeviceKind, CommunicatorFactory> f;
  return f;
}
}  // namespace

bool register_communicator_factory(DeviceKind kind, CommunicatorFactory factory) {
  std::lock_guard<std::recursive_mutex> lock(factory_mutex());
  factories()[kind] = std::move(factory);
  return true;
}

bool launched_by_mpi() {
  // Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; MPICH/Hydra and Slurm's PMI set PMI_SIZE; PMIx
  // launchers (srun --mpi=pmix) set PMIX_RANK.
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

Communicator& world_communicator(Device device) {
  // Communicators are never destroyed: MPI is finalised at exit, after which freeing an MPI
  // communicator would be an error, and static destruction order is not ours to choose. The map is
  // never destroyed either, so the communicators stay reachable to the end (no leak report).
  static auto& made = *new std::map<DeviceKind, Communicator*>;
  std::lock_guard<std::recursive_mutex> lock(factory_mutex());
  auto it = made.find(device.kind);
  if (it != made.end()) return *it->second;
  Communicator* c = nullptr;
  if (!launched_by_mpi()) {
    c = new LocalCommunicator(device.kind);
  } else {
    auto f = factories().find(device.kind);
    MM_CHECK(f != factories().end(), Device, "world_communicator",
             "no communication backend for ", device.str(), " tensors in this build (",
             device.is_cuda() ? "NCCL needs the CUDA backend" : "MPI", ")");
    c = f->second().release();
  }
  made[device.kind] = c;
  return *c;
}

}  // namespace mm::dist
