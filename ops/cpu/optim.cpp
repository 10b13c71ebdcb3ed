// CPU loops of the optimizer updates (ops/optim.h): one pass over contiguous memory per parameter,
// split into chunks across threads (each element is independent, so the result does not depend
// on the thread count).
#include "ops/cpu/loops.h"
#include "ops/optim.h"

namespace mm::cpu {
namespace {

void adamw_kernel(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, const AdamWHyper& h) {
  const AdamWScalars s = adamw_scalars(h);
  MM_DISPATCH_FLOAT(param.dtype(), "adamw_step", [&] {
    scalar_t* p = param.data<scalar_t>();
    const scalar_t* g = grad.data<scalar_t>();
    scalar_t* m = exp_avg.data<scalar_t>();
    scalar_t* v = exp_avg_sq.data<scalar_t>();
    parallel_for(0, param.numel(), kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) adamw_update(p[i], g[i], m[i], v[i], s);
    });
  });
}

}  // namespace

MM_REGISTER_KERNEL(adamw_step, CPU, &adamw_kernel);

}  // namespace mm::cpu
