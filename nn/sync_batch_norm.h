// SyncBatchNorm: batch normalisation whose statistics are those of the global batch (SPEC §8), as
// torch.nn.SyncBatchNorm. Per-rank BatchNorm (nn::BatchNorm2d) is the default; with small per-rank
// batches the per-rank statistics are noisy and differ from a single-process run, which this fixes.
//
// Training forward (every rank, together):
//   S  = all_reduce_sum(Σ_local x)  per channel, with the element count M = Σ_ranks N·H·W
//   μ  = S / M;   Q = all_reduce_sum(Σ_local (x − μ)²);   σ² = Q / M     (biased, for normalising)
//   y  = (x − μ) / √(σ² + eps) · weight + bias
// Two passes rather than Σx and Σx² in one message: E[x²] − μ² cancels catastrophically in f32 when
// |μ| ≫ σ, and the second message is only C values. The forward is written with differentiable ops and
// the differentiable all_reduce (autograd/dist.h), so backward all-reduces exactly the two gradient
// sums of the fused formula (the adjoints of S and Q) and each rank's input gradient equals the
// single-process gradient of the global batch. running_mean/var are updated as torch does, with the
// global unbiased variance Q / (M − 1). Eval mode uses the running statistics (no communication);
// a world of one uses the fused batch_norm kernel.
//
// Parameter and buffer names are nn::BatchNorm's (weight, bias, running_mean, running_var,
// num_batches_tracked), so checkpoints load either way. Replacing the BatchNorm2d modules of a built
// model in place is not possible (Module has no API to swap a registered child), so towers choose at
// construction with make_batch_norm2d(..., sync).
#pragma once

#include <memory>

#include "nn/layers.h"
#include "runtime/dist/communicator.h"

namespace mm::nn {

class SyncBatchNorm : public BatchNorm {
 public:
  // comm: world_communicator() of the input's device when null (looked up at the first forward).
  explicit SyncBatchNorm(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                         bool track_running_stats = true, dist::Communicator* comm = nullptr);
  // x [N, C, ...] (any number of trailing dims, as torch.nn.SyncBatchNorm).
  Tensor forward(const Tensor& x) override;

 private:
  dist::Communicator* comm_;
};

// A BatchNorm2d, or a SyncBatchNorm with the same names and arguments when `sync` is set.
std::shared_ptr<BatchNorm> make_batch_norm2d(int64_t num_features, bool sync, double eps = 1e-5,
                                             double momentum = 0.1, bool affine = true,
                                             bool track_running_stats = true);

}  // namespace mm::nn
