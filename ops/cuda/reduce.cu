// CUDA reductions: one block per output element; the block's threads stride over the reduced
// elements, then combine with block_reduce (ops/cuda/block_reduce.cuh). The combine functions are
// the same reducers as on the CPU (ops/math/reduce_functors.h).
#include "ops/common/broadcast.h"
#include "ops/cuda/block_reduce.cuh"
#include "ops/cuda/loops.cuh"
#include "ops/math/reduce_functors.h"
#include "ops/reduce.h"

namespace mm::cuda {
namespace {

inline constexpr int kReduceThreads = 256;

template <typename R, typename T>
struct MergeOp {
  __device__ typename R::Acc operator()(typename R::Acc a, typename R::Acc b) const { return R::merge(a, b); }
};

template <typename R, typename T>
__global__ void reduce_kernel(StridedIndexer<1> outer, StridedIndexer<1> inner, int64_t num_inner, const T* x, T* out) {
  using Acc = typename R::Acc;
  __shared__ Acc shared[32];
  int64_t o = blockIdx.x;
  int64_t base[1];
  outer.offsets(o, base);
  Acc acc = R::identity();
  for (int64_t i = threadIdx.x; i < num_inner; i += blockDim.x) {
    int64_t off[1];
    inner.offsets(i, off);
    acc = R::combine(acc, x[base[0] + off[0]], i);
  }
  acc = block_reduce(acc, MergeOp<R, T>{}, R::identity(), shared);
  if (threadIdx.x == 0) out[o] = R::value(acc);
}

template <typename R, typename T>
void reduce_values(const Tensor& x, const ReduceGeometry& geo, Tensor& values) {
  Shape osz, isz;
  Strides ost, ist;
  std::vector<bool> reduced(x.dim(), false);
  for (int64_t d : geo.dims) reduced[d] = true;
  for (int64_t d = 0; d < x.dim(); ++d) {
    (reduced[d] ? isz : osz).push_back(x.shape()[d]);
    (reduced[d] ? ist : ost).push_back(x.strides()[d]);
  }
  Tensor ov = Tensor::make_view(x.storage(), osz, ost, x.offset(), x.dtype());
  Tensor iv = Tensor::make_view(x.storage(), isz, ist, x.offset(), x.dtype());
  auto outer = make_indexer<1>(osz, {&ov}, "reduce");
  auto inner = make_indexer<1>(isz, {&iv}, "reduce");
  int64_t num_out = shape_numel(osz);
  MM_CHECK(num_out <= 2147483647LL, Shape, "reduce", "too many outputs for one grid: ", num_out);
  launch(reduce_kernel<R, T>, dim3(static_cast<unsigned>(num_out)), dim3(kReduceThreads), 0, "reduce", outer, inner,
         shape_numel(isz), x.data<T>(), values.data<T>());
}

void reduce_dispatch(OpId op, const Tensor& x, const ReduceGeometry& geo, Tensor& values, Tensor* indices) {
  (void)indices;
  switch (op) {
    case OpId::sum:
      MM_DISPATCH_NUMERIC(x.dtype(), "sum", [&] { reduce_values<SumReducer<scalar_t>, scalar_t>(x, geo, values); });
      return;
    default:
      fail(ErrorKind::NotImplemented, op_name(op), "no CUDA reduction");
  }
}

}  // namespace

MM_REGISTER_KERNEL(sum, CUDA, &reduce_dispatch);

}  // namespace mm::cuda
