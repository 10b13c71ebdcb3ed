// CUDA reductions, with the same reducers as the CPU (ops/math/reduce_functors.h). Two layouts:
//
//  * block per output — the block's threads stride over the output's reduced elements, then combine
//    with block_reduce (ops/cuda/block_reduce.cuh). Right when the reduced elements are adjacent
//    (a sum over the last dim) or when there are few outputs.
//  * thread per output — for a contiguous input whose innermost dims are kept (a sum over dim 0 of
//    [B, D], bias gradients): neighbouring threads own neighbouring columns, so each step of their
//    sequential loops reads one coalesced row segment.
//
// max/min with indices reduce in two scalar block reductions: first the extreme value, then the
// smallest index among the threads whose candidate equals it. That gives the first occurrence (as
// on the CPU) without shuffling (value, index) pairs, which warp shuffles cannot move as one.
#include "ops/cuda/block_reduce.cuh"
#include "ops/cuda/loops.cuh"
#include "ops/math/reduce_functors.h"
#include "ops/reduce.h"
#include "ops/reduce_dispatch.h"

namespace mm::cuda {
namespace {

inline constexpr int kReduceThreads = 256;

template <typename R>
concept IndexReducer = requires(typename R::Acc a) { R::index(a); };

template <typename R>
struct MergeOp {
  __device__ typename R::Acc operator()(typename R::Acc a, typename R::Acc b) const { return R::merge(a, b); }
};
template <typename R, typename T>
struct ValueMergeOp {
  __device__ T operator()(T a, T b) const { return R::value_merge(a, b); }
};
struct MinIndexOp {
  __device__ int64_t operator()(int64_t a, int64_t b) const { return a < b ? a : b; }
};

template <typename R, typename T>
__device__ void write_result(int64_t o, const typename R::Acc& acc, T* out, int64_t* out_idx) {
  if (out) out[o] = R::value(acc);
  if constexpr (IndexReducer<R>) {
    if (out_idx) out_idx[o] = R::index(acc);
  }
}

template <typename R, typename T>
__global__ void reduce_block_kernel(StridedIndexer<1> outer, StridedIndexer<1> inner, int64_t num_inner, const T* x,
                                    T* out, int64_t* out_idx) {
  using Acc = typename R::Acc;
  int64_t o = blockIdx.x;
  int64_t base[1];
  outer.offsets(o, base);
  Acc acc = R::identity();
  for (int64_t i = threadIdx.x; i < num_inner; i += blockDim.x) {
    int64_t off[1];
    inner.offsets(i, off);
    acc = R::combine(acc, x[base[0] + off[0]], i);
  }
  if constexpr (IndexReducer<R>) {
    __shared__ T shared_v[32];
    __shared__ int64_t shared_i[32];
    T best = block_reduce(R::value(acc), ValueMergeOp<R, T>{}, R::value(R::identity()), shared_v);
    bool mine = R::value(acc) == best || (math::isnan(R::value(acc)) && math::isnan(best));
    int64_t idx = block_reduce(mine ? R::index(acc) : INT64_MAX, MinIndexOp{}, int64_t{INT64_MAX}, shared_i);
    if (threadIdx.x == 0) write_result<R, T>(o, Acc{best, idx}, out, out_idx);
  } else {
    __shared__ Acc shared[32];
    acc = block_reduce(acc, MergeOp<R>{}, R::identity(), shared);
    if (threadIdx.x == 0) write_result<R, T>(o, acc, out, out_idx);
  }
}

template <typename R, typename T>
__global__ void reduce_thread_kernel(StridedIndexer<1> outer, StridedIndexer<1> inner, int64_t num_out,
                                     int64_t num_inner, const T* x, T* out, int64_t* out_idx) {
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < num_out;
       o += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t base[1];
    outer.offsets(o, base);
    typename R::Acc acc = R::identity();
    for (int64_t i = 0; i < num_inner; ++i) {
      int64_t off[1];
      inner.offsets(i, off);
      acc = R::combine(acc, x[base[0] + off[0]], i);
    }
    write_result<R, T>(o, acc, out, out_idx);
  }
}

template <typename R, typename T>
void run(const Tensor& x, const ReduceGeometry& geo, Tensor& values, Tensor* indices) {
  const ReducePlan p = reduce_plan(x, geo, x.dim());
  T* out = values.defined() ? values.data<T>() : nullptr;
  int64_t* out_idx = indices != nullptr ? indices->data<int64_t>() : nullptr;
  const char* name = "reduce";
  bool innermost_kept = !geo.dims.empty() && geo.dims.back() != x.dim() - 1 && x.is_contiguous();
  if (innermost_kept && p.num_out >= 1024) {
    launch(reduce_thread_kernel<R, T>, blocks_for(p.num_out, kReduceThreads), dim3(kReduceThreads), 0, name, p.outer,
           p.inner, p.num_out, p.num_inner, x.data<T>(), out, out_idx);
    return;
  }
  MM_CHECK(p.num_out <= 2147483647LL, Shape, name, "too many outputs for one grid: ", p.num_out);
  launch(reduce_block_kernel<R, T>, dim3(static_cast<unsigned>(p.num_out)), dim3(kReduceThreads), 0, name, p.outer,
         p.inner, p.num_inner, x.data<T>(), out, out_idx);
}

void reduce_dispatch(OpId op, const Tensor& x, const ReduceGeometry& geo, Tensor& values, Tensor* indices) {
  dispatch_reduction(op, x.dtype(), "CUDA", [&](auto tag, bool with_indices) {
    using Tag = decltype(tag);
    run<typename Tag::Reducer, typename Tag::Scalar>(x, geo, values, with_indices ? indices : nullptr);
  });
}

}  // namespace

MM_REGISTER_KERNEL(sum, CUDA, &reduce_dispatch);
MM_REGISTER_KERNEL(max, CUDA, &reduce_dispatch);
MM_REGISTER_KERNEL(min, CUDA, &reduce_dispatch);
MM_REGISTER_KERNEL(amax, CUDA, &reduce_dispatch);
MM_REGISTER_KERNEL(amin, CUDA, &reduce_dispatch);
MM_REGISTER_KERNEL(argmax, CUDA, &reduce_dispatch);
MM_REGISTER_KERNEL(argmin, CUDA, &reduce_dispatch);

}  // namespace mm::cuda
