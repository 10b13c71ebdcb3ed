// CUDA kernels of the creation ops: grid-stride loops over output elements (arange, eye, masks) or
// over Philox blocks (random ops), calling the same functors as the CPU loops
// (ops/creation_functors.h), so both backends produce the same values for the same generator state.
#include <cmath>

#include "ops/creation.h"
#include "ops/creation_functors.h"
#include "runtime/cuda/launch.h"

namespace mm::cuda {
namespace {

inline constexpr int kThreads = 256;

// f(i) for every i < n.
template <typename F>
__global__ void index_kernel(int64_t n, F f) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)
    f(i);
}

template <typename F>
void launch_index(int64_t n, const char* op, F f) {
  if (n == 0) return;
  launch(index_kernel<F>, blocks_for(n, kThreads), dim3(kThreads), 0, op, n, f);
}

template <typename T>
struct ArangeApply {
  T* out;
  double start, step;
  __device__ void operator()(int64_t i) const { out[i] = cast_from_double<T>(arange_value(start, step, i)); }
};

template <typename T>
struct EyeApply {
  T* out;
  int64_t m;
  __device__ void operator()(int64_t i) const { out[i] = cast_from_double<T>(i / m == i % m ? 1.0 : 0.0); }
};

struct TriMaskApply {
  bool* out;
  int64_t cols, diagonal;
  bool upper;
  __device__ void operator()(int64_t i) const { out[i] = tri_mask_value(upper, diagonal, i / cols, i % cols); }
};

void arange_kernel(double start, double step, Tensor& out) {
  MM_DISPATCH_ALL(out.dtype(), "arange", [&] {
    launch_index(out.numel(), "arange", ArangeApply<scalar_t>{out.data<scalar_t>(), start, step});
  });
}

void eye_kernel(Tensor& out) {
  MM_DISPATCH_ALL(out.dtype(), "eye", [&] {
    launch_index(out.numel(), "eye", EyeApply<scalar_t>{out.data<scalar_t>(), out.shape()[1]});
  });
}

void tri_mask_kernel(OpId op, int64_t diagonal, Tensor& out) {
  launch_index(out.numel(), op_name(op),
               TriMaskApply{out.data<bool>(), out.shape()[1], diagonal, op == OpId::triu_mask});
}

// One thread per Philox block (grid-stride): evaluate the block, emit its kPerBlock elements.
template <typename Draw, typename Emit>
__global__ void draw_kernel(uint64_t seed, uint64_t offset, int64_t n, int64_t blocks, Emit emit) {
  constexpr int K = Draw::kPerBlock;
  for (int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; b < blocks;
       b += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    typename Draw::T v[K];
    Draw::block(philox_block(seed, offset + static_cast<uint64_t>(b)), v);
    const int64_t base = b * K;
#pragma unroll
    for (int k = 0; k < K; ++k)
      if (base + k < n) emit(base + k, v[k]);
  }
}

template <typename Draw, typename Emit>
void launch_draws(uint64_t seed, uint64_t offset, int64_t n, const char* op, Emit emit) {
  if (n == 0) return;
  const int64_t blocks = static_cast<int64_t>(draw_blocks<Draw>(static_cast<uint64_t>(n)));
  launch(draw_kernel<Draw, Emit>, blocks_for(blocks, kThreads), dim3(kThreads), 0, op, seed, offset, n, blocks, emit);
}

void random_kernel(OpId op, uint64_t seed, uint64_t offset, int uniform_bits, Tensor& out) {
  const int64_t n = out.numel();
  const bool f64 = out.dtype() == DType::F64;
  if (op == OpId::rand) {
    if (f64) launch_draws<UniformF64Draw>(seed, offset, n, "rand", StoreEmit<double>{out.data<double>()});
    else if (uniform_bits >= 24) launch_draws<UniformF32Draw>(seed, offset, n, "rand", StoreEmit<float>{out.data<float>()});
    else launch_draws<UniformF32Draw>(seed, offset, n, "rand", TruncatedUniformEmit{out.data<float>(), std::ldexp(1.0f, uniform_bits)});
  } else {
    if (f64) launch_draws<NormalF64Draw>(seed, offset, n, "randn", StoreEmit<double>{out.data<double>()});
    else launch_draws<NormalF32Draw>(seed, offset, n, "randn", StoreEmit<float>{out.data<float>()});
  }
}

void randint_kernel(uint64_t seed, uint64_t offset, int64_t low, int64_t range, Tensor& out) {
  launch_draws<UniformF64Draw>(seed, offset, out.numel(), "randint", RandintEmit{out.data<int64_t>(), low, range});
}

void bernoulli_kernel(uint64_t seed, uint64_t offset, const Tensor* p, double p_scalar, Tensor& out) {
  const int64_t n = out.numel();
  if (out.dtype() == DType::F64) {
    BernoulliEmit<double> e{out.data<double>(), p ? p->data<double>() : nullptr, p_scalar};
    launch_draws<UniformF64Draw>(seed, offset, n, "bernoulli", e);
  } else {
    BernoulliEmit<float> e{out.data<float>(), p ? p->data<float>() : nullptr, static_cast<float>(p_scalar)};
    launch_draws<UniformF32Draw>(seed, offset, n, "bernoulli", e);
  }
}

}  // namespace

MM_REGISTER_KERNEL(arange, CUDA, &arange_kernel);
MM_REGISTER_KERNEL(eye, CUDA, &eye_kernel);
MM_REGISTER_KERNEL(tril_mask, CUDA, &tri_mask_kernel);
MM_REGISTER_KERNEL(triu_mask, CUDA, &tri_mask_kernel);
MM_REGISTER_KERNEL(rand, CUDA, &random_kernel);
MM_REGISTER_KERNEL(randn, CUDA, &random_kernel);
MM_REGISTER_KERNEL(randint, CUDA, &randint_kernel);
MM_REGISTER_KERNEL(bernoulli, CUDA, &bernoulli_kernel);

}  // namespace mm::cuda
