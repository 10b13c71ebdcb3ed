// Distributed data parallel (SPEC §8), PyTorch's DistributedDataParallel in its essentials.
//
// Every rank holds a full replica of the module and runs forward and backward on its own slice of the
// global batch; DDP keeps the replicas identical by
//   1. broadcasting every parameter and buffer from rank 0 when it is constructed, and
//   2. replacing each parameter's gradient by its average over the ranks after every backward, so the
//      same optimizer step on every rank gives the same parameters.
// The averaging overlaps backward: parameters are grouped into buckets of ~25 MB in reverse
// registration order (roughly the order backward produces their gradients), and a post-accumulate
// hook on each parameter (autograd_meta.h) notes its gradient; when a bucket's gradients are all
// there, they are copied into one flat buffer and all-reduced (Avg) asynchronously while backward
// continues. Buckets are launched strictly in bucket order on every rank, so the sequence of
// collectives is the same everywhere even if gradients arrive in a different order.
//
// The engine has no end-of-backward callback, so call finish() after backward (or use
// ddp.backward(loss), which does both): it waits for the all-reduces, writes the averages into .grad,
// and throws an mm::Error naming every parameter that got no gradient in this backward — usually a
// bug (a branch of the model the loss never reached), which would otherwise leave that bucket's
// collective unmatched. find_unused_parameters = true instead reduces such parameters with a zero
// local gradient (PyTorch's option of that name; the usual pattern for conditional branches).
//
// no_sync(): inside the scope, backward passes only accumulate local gradients (no communication);
// the first synced backward after it reduces the accumulated sums — gradient accumulation over
// micro-batches at the cost of one all-reduce.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"
#include "runtime/dist/communicator.h"

namespace mm::nn {

struct DdpOptions {
  int64_t bucket_bytes = 25LL << 20;     // PyTorch's bucket_cap_mb = 25
  bool find_unused_parameters = false;  // see the header comment
  bool broadcast_buffers = true;        // buffers (BatchNorm statistics) from rank 0 at construction
};

class DistributedDataParallel {
 public:
  // comm: the communicator of the parameters' device kind (world_communicator(device) by default).
  // Collective: every rank must construct its DDP at the same point with the same module structure.
  DistributedDataParallel(std::shared_ptr<Module> module, dist::Communicator& comm, DdpOptions options = {});
  explicit DistributedDataParallel(std::shared_ptr<Module> module, DdpOptions options = {});
  ~DistributedDataParallel();  // the hooks stay on the parameters but do nothing afterwards
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  Module& module() { return *module_; }
  const std::shared_ptr<Module>& module_ptr() const { return module_; }
  dist::Communicator& communicator() { return *comm_; }

  // After each backward (outside no_sync): waits for the buckets and writes averaged gradients.
  void finish();
  // loss.backward() then finish().
  void backward(const Tensor& loss);
  // Averages the gradients the parameters hold now (those accumulated under no_sync, say, where the
  // backward passes cannot be told apart as PyTorch's "last micro-batch outside no_sync" pattern needs:
  // gradient caching's chunks) in one pass over the buckets; a missing gradient counts as zero.
  // Collective; call it outside no_sync.
  void sync_gradients();

  // Scope guard: backward passes inside accumulate locally; nests; restores on destruction.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
    bool previous_;
  };
  [[nodiscard]] NoSync no_sync() { return NoSync(*this); }

  // The bucket layout (parameter names per bucket, in launch order), for tests and logs.
  std::vector<std::vector<std::string>> bucket_names() const;

  struct State;  // shared with the hooks (defined in ddp.cpp)

 private:
  std::shared_ptr<Module> module_;
  dist::Communicator* comm_;
  DdpOptions options_;
  std::shared_ptr<State> state_;
};

}  // namespace mm::nn
