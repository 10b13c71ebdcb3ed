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

void sgd_kernel(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdHyper& h) {
  const SgdScalars s = sgd_scalars(h);
  MM_DISPATCH_FLOAT(param.dtype(), "sgd_step", [&] {
    scalar_t* p = param.data<scalar_t>();
    const scalar_t* g = grad.data<scalar_t>();
    scalar_t* b = s.momentum != 0 ? momentum_buffer.data<scalar_t>() : nullptr;  // undefined without momentum
    parallel_for(0, param.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      scalar_t unused = 0;
      for (int64_t i = lo; i < hi; ++i) sgd_update(p[i], g[i], b ? b[i] : unused, s);
    });
  });
}

}  // namespace

MM_REGISTER_KERNEL(adamw_step, CPU, &adamw_kernel);
MM_REGISTER_KERNEL(sgd_step, CPU, &sgd_kernel);

}  // namespace mm::cpu
