// CPU loops of the creation ops. Outputs are contiguous (the front end allocates them). Random ops
// iterate over Philox blocks, not elements: each block is evaluated once and yields kPerBlock
// consecutive elements (ops/creation_functors.h), so the partition into threads cannot change any
// value — every element depends only on (seed, offset, its index).
#include <algorithm>
#include <cmath>

#include "ops/cpu/loops.h"
#include "ops/creation.h"
#include "ops/creation_functors.h"

namespace mm::cpu {
namespace {

void arange_kernel(double start, double step, Tensor& out) {
  MM_DISPATCH_ALL(out.dtype(), "arange", [&] {
    scalar_t* o = out.data<scalar_t>();
    parallel_for(0, out.numel(), kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) o[i] = cast_from_double<scalar_t>(arange_value(start, step, i));
    });
  });
}

void eye_kernel(Tensor& out) {
  const int64_t m = out.shape()[1];
  MM_DISPATCH_ALL(out.dtype(), "eye", [&] {
    scalar_t* o = out.data<scalar_t>();
    const scalar_t one = cast_from_double<scalar_t>(1.0), zero = cast_from_double<scalar_t>(0.0);
    parallel_for(0, out.numel(), kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) o[i] = (i / m == i % m) ? one : zero;
    });
  });
}

void tri_mask_kernel(OpId op, int64_t diagonal, Tensor& out) {
  const bool upper = op == OpId::triu_mask;
  const int64_t cols = out.shape()[1];
  bool* o = out.data<bool>();
  parallel_for(0, out.numel(), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) o[i] = tri_mask_value(upper, diagonal, i / cols, i % cols);
  });
}

// Calls emit(i, value) for the n elements drawn from blocks offset, offset+1, ... of `seed`.
template <typename Draw, typename Emit>
void for_each_draw(uint64_t seed, uint64_t offset, int64_t n, const Emit& emit) {
  constexpr int K = Draw::kPerBlock;
  const int64_t blocks = static_cast<int64_t>(draw_blocks<Draw>(static_cast<uint64_t>(n)));
  parallel_for(0, blocks, kGrain / K, [&](int64_t b0, int64_t b1) {
    typename Draw::T v[K];
    for (int64_t b = b0; b < b1; ++b) {
      Draw::block(philox_block(seed, offset + static_cast<uint64_t>(b)), v);
      const int64_t base = b * K;
      const int64_t cnt = std::min<int64_t>(K, n - base);
      for (int k = 0; k < cnt; ++k) emit(base + k, v[k]);
    }
  });
}

void random_kernel(OpId op, uint64_t seed, uint64_t offset, int uniform_bits, Tensor& out) {
  const int64_t n = out.numel();
  const bool f64 = out.dtype() == DType::F64;
  if (op == OpId::rand) {
    if (f64) for_each_draw<UniformF64Draw>(seed, offset, n, StoreEmit<double>{out.data<double>()});
    else if (uniform_bits >= 24) for_each_draw<UniformF32Draw>(seed, offset, n, StoreEmit<float>{out.data<float>()});
    else for_each_draw<UniformF32Draw>(seed, offset, n, TruncatedUniformEmit{out.data<float>(), std::ldexp(1.0f, uniform_bits)});
  } else {
    if (f64) for_each_draw<NormalF64Draw>(seed, offset, n, StoreEmit<double>{out.data<double>()});
    else for_each_draw<NormalF32Draw>(seed, offset, n, StoreEmit<float>{out.data<float>()});
  }
}

void randint_kernel(uint64_t seed, uint64_t offset, int64_t low, int64_t range, Tensor& out) {
  for_each_draw<UniformF64Draw>(seed, offset, out.numel(), RandintEmit{out.data<int64_t>(), low, range});
}

void bernoulli_kernel(uint64_t seed, uint64_t offset, const Tensor* p, double p_scalar, Tensor& out) {
  const int64_t n = out.numel();
  if (out.dtype() == DType::F64) {
    BernoulliEmit<double> e{out.data<double>(), p ? p->data<double>() : nullptr, p_scalar};
    for_each_draw<UniformF64Draw>(seed, offset, n, e);
  } else {
    BernoulliEmit<float> e{out.data<float>(), p ? p->data<float>() : nullptr, static_cast<float>(p_scalar)};
    for_each_draw<UniformF32Draw>(seed, offset, n, e);
  }
}

}  // namespace

MM_REGISTER_KERNEL(arange, CPU, &arange_kernel);
MM_REGISTER_KERNEL(eye, CPU, &eye_kernel);
MM_REGISTER_KERNEL(tril_mask, CPU, &tri_mask_kernel);
MM_REGISTER_KERNEL(triu_mask, CPU, &tri_mask_kernel);
MM_REGISTER_KERNEL(rand, CPU, &random_kernel);
MM_REGISTER_KERNEL(randn, CPU, &random_kernel);
MM_REGISTER_KERNEL(randint, CPU, &randint_kernel);
MM_REGISTER_KERNEL(bernoulli, CPU, &bernoulli_kernel);

}  // namespace mm::cpu
