// SyncBatchNorm (see the header for the formulas and why two passes).
#include "nn/sync_batch_norm.h"

#include <vector>

#include "autograd/dist.h"
#include "autograd/functions.h"
#include "ops/copy.h"

namespace mm::nn {

SyncBatchNorm::SyncBatchNorm(int64_t num_features, double eps_, double momentum_, bool affine_, bool track,
                             dist::Communicator* comm)
    : BatchNorm("SyncBatchNorm", num_features, eps_, momentum_, affine_, track), comm_(comm) {}

Tensor SyncBatchNorm::forward(const Tensor& x) {
  MM_CHECK(x.dim() >= 2 && x.size(1) == num_features, Shape, "SyncBatchNorm", "expected [N, ", num_features,
           ", ...] input, got ", shape_str(x.shape()));
  if (!training_ && track_running_stats)
    return batch_norm(x, running_mean, running_var, weight, bias, false, momentum, eps);
  dist::Communicator& comm = comm_ != nullptr ? *comm_ : dist::world_communicator(x.device());
  if (training_ && track_running_stats) {
    NoGradGuard no_grad;
    ops::fill_(num_batches_tracked, num_batches_tracked.item() + 1);
  }
  if (comm.world() == 1)
    return batch_norm(x, track_running_stats ? running_mean : Tensor(), track_running_stats ? running_var : Tensor(),
                      weight, bias, true, momentum, eps);

  const int64_t c = num_features;
  std::vector<int64_t> dims{0};
  Shape per_channel(static_cast<size_t>(x.dim()), 1);
  per_channel[1] = c;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  // The local element count travels with the sums (one message); it carries no gradient.
  Tensor local_count = full({1}, static_cast<double>(x.numel() / c), x.dtype(), x.device());
  Tensor first = dist::all_reduce(cat({sum(x, dims), local_count}), comm, dist::ReduceOp::Sum);
  const double m = narrow(first, 0, c, 1).detach().item();
  MM_CHECK(m > 0, Value, "SyncBatchNorm", "the global batch is empty (every rank passed ", shape_str(x.shape()), ")");
  Tensor mean = div(narrow(first, 0, 0, c), m);
  Tensor centred = sub(x, reshape(mean, per_channel));
  Tensor var = div(dist::all_reduce(sum(square(centred), dims), comm, dist::ReduceOp::Sum), m);
  Tensor y = mul(centred, reshape(rsqrt(add(var, eps)), per_channel));
  if (affine) y = add(mul(y, reshape(weight, per_channel)), reshape(bias, per_channel));

  if (track_running_stats) {
    NoGradGuard no_grad;
    // torch: running = (1 − momentum)·running + momentum·batch, with the unbiased variance.
    Tensor new_mean = add(mul(running_mean, 1.0 - momentum), mul(mean.detach(), momentum));
    Tensor unbiased = m > 1 ? mul(var.detach(), m / (m - 1)) : var.detach();
    Tensor new_var = add(mul(running_var, 1.0 - momentum), mul(unbiased, momentum));
    ops::copy_(running_mean, new_mean);
    ops::copy_(running_var, new_var);
  }
  return y;
}

std::shared_ptr<BatchNorm> make_batch_norm2d(int64_t num_features, bool sync, double eps, double momentum, bool affine,
                                             bool track_running_stats) {
  if (sync) return std::make_shared<SyncBatchNorm>(num_features, eps, momentum, affine, track_running_stats);
  return std::make_shared<BatchNorm2d>(num_features, eps, momentum, affine, track_running_stats);
}

}  // namespace mm::nn
