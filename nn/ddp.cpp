// DistributedDataParallel: construction-time broadcast, gradient buckets filled by post-accumulate
// hooks and all-reduced asynchronously in bucket order, finish() writing the averages back.
#include "nn/ddp.h"

#include <sstream>

#include "autograd/autograd_meta.h"
#include "autograd/grad_mode.h"
#include "ops/copy.h"
#include "ops/shape.h"

namespace mm::nn {

namespace {

struct Bucket {
  std::vector<size_t> params;    // indices into State::params
  std::vector<int64_t> offsets;  // element offset of each parameter in `flat`
  int64_t numel = 0;
  DType dtype = DType::F32;
  Device device;
  Tensor flat;  // allocated on first launch, reused
  int pending = 0;
  dist::WorkPtr work;
};

// FNV-1a: a structural fingerprint that is the same in every process of the job (std::hash need
// not be); the caller keeps 53 bits so the value is exact in a double.
uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace

struct DistributedDataParallel::State {
  dist::Communicator* comm = nullptr;
  bool alive = true;
  bool sync = true;
  bool find_unused = false;
  std::vector<std::string> names;
  std::vector<Tensor> params;
  std::vector<size_t> bucket_of;
  std::vector<bool> ready;  // got its gradient in the current (synced) backward
  std::vector<Bucket> buckets;
  size_t next_launch = 0;

  Tensor region(const Bucket& b, size_t k) const {
    const Tensor& p = params[b.params[k]];
    return ops::reshape(ops::slice(b.flat, 0, b.offsets[k], b.offsets[k] + p.numel()), p.shape());
  }

  void launch(size_t bi) {
    Bucket& b = buckets[bi];
    if (!b.flat.defined()) b.flat = Tensor::empty({b.numel}, b.dtype, b.device);
    NoGradGuard no_grad;
    for (size_t k = 0; k < b.params.size(); ++k) {
      Tensor g = params[b.params[k]].grad();
      if (g.defined()) {
        ops::copy_(region(b, k), g);
      } else {
        ops::fill_(region(b, k), 0.0);  // find_unused_parameters: this rank contributes zero
      }
    }
    b.work = comm->all_reduce_async(b.flat, dist::ReduceOp::Avg);
  }

  // Launches every complete bucket that is next in order.
  void launch_ready() {
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) launch(next_launch++);
  }

  void on_gradient(size_t i) {
    if (!alive || !sync) return;
    MM_CHECK(!ready[i], Autograd, "DistributedDataParallel",
             "parameter '", names[i], "' received a second gradient before finish(): call ddp.finish() after "
             "each backward (or ddp.backward(loss)), or wrap accumulation steps in no_sync()");
    ready[i] = true;
    Bucket& b = buckets[bucket_of[i]];
    b.pending -= 1;
    if (b.pending == 0) launch_ready();
  }

  void reset() {
    std::fill(ready.begin(), ready.end(), false);
    for (Bucket& b : buckets) {
      b.pending = static_cast<int>(b.params.size());
      b.work.reset();
    }
    next_launch = 0;
  }

  void wait_launched() {
    for (size_t bi = 0; bi < next_launch; ++bi)
      if (buckets[bi].work) buckets[bi].work->wait();
  }
};

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<Module> module, DdpOptions options)
    : DistributedDataParallel(module, dist::world_communicator(module && !module->parameters().empty()
                                                                   ? module->parameters()[0].device()
                                                                   : kCPU),
                              options) {}

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<Module> module, dist::Communicator& comm,
                                                 DdpOptions options)
    : module_(std::move(module)), comm_(&comm), options_(options), state_(std::make_shared<State>()) {
  const char* op = "DistributedDataParallel";
  MM_CHECK(module_ != nullptr, Value, op, "module is null");
  MM_CHECK(options_.bucket_bytes > 0, Value, op, "bucket_bytes must be positive, got ", options_.bucket_bytes);
  State& s = *state_;
  s.comm = comm_;
  s.find_unused = options_.find_unused_parameters;
  for (auto& [name, p] : module_->named_parameters()) {
    if (!p.requires_grad()) continue;  // frozen: nothing to reduce
    MM_CHECK(p.device().kind == comm.device_kind(), Device, op, "parameter '", name, "' is on ", p.device().str(),
             " but the communicator (", comm.backend(), ") carries ",
             comm.device_kind() == DeviceKind::CPU ? "CPU" : "CUDA", " tensors");
    MM_CHECK(p.is_contiguous(), Value, op, "parameter '", name, "' is not contiguous");
    s.names.push_back(name);
    s.params.push_back(p);
  }

  // Every rank must wrap the same model: compare a fingerprint of the names and shapes first, so a
  // mismatch is one clear error on every rank instead of a hang or a silent corruption.
  std::string layout;
  for (auto& [name, t] : module_->state_dict()) layout.append(name).append(shape_str(t.shape())).append(";");
  Tensor fp = Tensor::from_vector<int64_t>({static_cast<int64_t>(fnv1a(layout) >> 11)}, {1});
  std::vector<double> all = dist::world_communicator(kCPU).all_gather(fp).to_double_vector();
  for (size_t r = 0; r < all.size(); ++r)
    MM_CHECK(all[r] == all[0], Value, op, "rank ", r, " wraps a model whose parameter/buffer names or shapes differ "
             "from rank 0's (", s.names.size(), " parameters here)");

  // Rank 0's values everywhere. Buffers may live on another device kind than the parameters.
  {
    NoGradGuard no_grad;
    for (const Tensor& p : s.params) comm.broadcast(p, 0);
    if (options_.broadcast_buffers) {
      for (auto& [name, buf] : module_->named_buffers()) {
        dist::Communicator& c = buf.device().kind == comm.device_kind() ? comm : dist::world_communicator(buf.device());
        Tensor t = ops::contiguous(buf);
        c.broadcast(t, 0);
        if (!t.same(buf)) ops::copy_(buf, t);
      }
    }
  }

  // Buckets: reverse registration order, split at bucket_bytes and at dtype/device changes.
  s.bucket_of.resize(s.params.size());
  for (size_t k = s.params.size(); k-- > 0;) {
    const Tensor& p = s.params[k];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    bool fresh = s.buckets.empty() || s.buckets.back().dtype != p.dtype() || s.buckets.back().device != p.device() ||
                 (s.buckets.back().numel * static_cast<int64_t>(p.element_size()) + bytes > options_.bucket_bytes &&
                  !s.buckets.back().params.empty());
    if (fresh) {
      s.buckets.emplace_back();
      s.buckets.back().dtype = p.dtype();
      s.buckets.back().device = p.device();
    }
    Bucket& b = s.buckets.back();
    b.params.push_back(k);
    b.offsets.push_back(b.numel);
    b.numel += p.numel();
    s.bucket_of[k] = s.buckets.size() - 1;
  }
  s.ready.assign(s.params.size(), false);
  s.reset();

  std::weak_ptr<State> weak = state_;
  for (size_t i = 0; i < s.params.size(); ++i) {
    register_post_accumulate_hook(s.params[i], [weak, i](const Tensor&) {
      if (std::shared_ptr<State> st = weak.lock()) st->on_gradient(i);
    });
  }
}

DistributedDataParallel::~DistributedDataParallel() {
  state_->alive = false;
  // Collectives still in flight write into our buffers: let them land before the buffers go.
  state_->wait_launched();
}

void DistributedDataParallel::sync_gradients() {
  State& s = *state_;
  MM_CHECK(s.sync, Value, "DistributedDataParallel", "sync_gradients() inside no_sync(): it is the averaging step");
  std::fill(s.ready.begin(), s.ready.end(), true);
  finish();
}

void DistributedDataParallel::finish() {
  State& s = *state_;
  if (!s.sync) return;  // inside no_sync: gradients stay local
  std::vector<std::string> missing;
  for (size_t i = 0; i < s.params.size(); ++i)
    if (!s.ready[i]) missing.push_back(s.names[i]);
  if (!missing.empty() && !s.find_unused) {
    s.wait_launched();  // the launched buckets are matched on every rank; let them finish
    s.reset();
    std::ostringstream list;
    for (size_t k = 0; k < missing.size(); ++k) list << (k ? ", " : "") << missing[k];
    fail(ErrorKind::Autograd, "DistributedDataParallel", missing.size(), " parameter(s) received no gradient in "
         "this backward: ", list.str(), ". Every parameter must take part in the loss on every rank, or construct "
         "DDP with find_unused_parameters = true (or freeze them with requires_grad false).");
  }
  // find_unused_parameters: the remaining buckets go now, with zeros for the missing gradients.
  for (Bucket& b : s.buckets) b.pending = 0;
  s.launch_ready();
  NoGradGuard no_grad;
  for (Bucket& b : s.buckets) {
    b.work->wait();
    for (size_t k = 0; k < b.params.size(); ++k) {
      const Tensor& p = s.params[b.params[k]];
      Tensor g = p.grad();
      if (g.defined()) {
        ops::copy_(g, s.region(b, k));
      } else {
        Tensor fresh = Tensor::empty(p.shape(), p.dtype(), p.device());
        ops::copy_(fresh, s.region(b, k));
        p.set_grad(fresh);
      }
    }
  }
  s.reset();
}

void DistributedDataParallel::backward(const Tensor& loss) {
  loss.backward();
  finish();
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp) : ddp_(ddp), previous_(ddp.state_->sync) {
  ddp_.state_->sync = false;
}
DistributedDataParallel::NoSync::~NoSync() { ddp_.state_->sync = previous_; }

std::vector<std::vector<std::string>> DistributedDataParallel::bucket_names() const {
  std::vector<std::vector<std::string>> out;
  for (const Bucket& b : state_->buckets) {
    out.emplace_back();
    for (size_t i : b.params) out.back().push_back(state_->names[i]);
  }
  return out;
}

}  // namespace mm::nn
