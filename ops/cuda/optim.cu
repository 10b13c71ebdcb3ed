// CUDA kernels of the optimizer updates (ops/optim.h): a grid-stride loop, one thread per element,
// each parameter and its state read and written once (the fused update of llm.c's
// adamw_kernel2); the per-step scalars arrive precomputed from the host.
#include "ops/cuda/loops.cuh"
#include "ops/optim.h"

namespace mm::cuda {
namespace {

inline constexpr int kThreads = 256;

template <typename T>
__global__ void adamw_elements(T* p, const T* g, T* m, T* v, int64_t n, AdamWScalars s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)
    adamw_update(p[i], g[i], m[i], v[i], s);
}

void adamw_kernel(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, const AdamWHyper& h) {
  const AdamWScalars s = adamw_scalars(h);
  const int64_t n = param.numel();
  MM_DISPATCH_FLOAT(param.dtype(), "adamw_step", [&] {
    launch(adamw_elements<scalar_t>, blocks_for(n, kThreads), dim3(kThreads), 0, "adamw_step",
           param.data<scalar_t>(), grad.data<scalar_t>(), exp_avg.data<scalar_t>(), exp_avg_sq.data<scalar_t>(), n, s);
  });
}

// b is null without momentum (the buffer is undefined then); sgd_update does not touch it.
template <typename T>
__global__ void sgd_elements(T* p, const T* g, T* b, int64_t n, SgdScalars s) {
  T unused = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)
    sgd_update(p[i], g[i], b ? b[i] : unused, s);
}

void sgd_kernel(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, const SgdHyper& h) {
  const SgdScalars s = sgd_scalars(h);
  const int64_t n = param.numel();
  MM_DISPATCH_FLOAT(param.dtype(), "sgd_step", [&] {
    scalar_t* b = s.momentum != 0 ? momentum_buffer.data<scalar_t>() : nullptr;
    launch(sgd_elements<scalar_t>, blocks_for(n, kThreads), dim3(kThreads), 0, "sgd_step", param.data<scalar_t>(),
           grad.data<scalar_t>(), b, n, s);
  });
}

}  // namespace

MM_REGISTER_KERNEL(adamw_step, CUDA, &adamw_kernel);
MM_REGISTER_KERNEL(sgd_step, CUDA, &sgd_kernel);

}  // namespace mm::cuda
