// Reductions over dimensions (no autograd): sum, max/min with indices, amax/amin, argmax/argmin.
// Composite reductions (mean, logsumexp, var, std, norm) are written with these in autograd/.
#pragma once

#include <utility>
#include <vector>

#include "ops/common/strided_indexer.h"
#include "ops/kernels.h"

namespace mm {

// Validated reduction geometry: `dims` sorted, unique, wrapped; `keep_shape` is the input shape with
// reduced dims set to 1; `out_shape` drops them unless keepdim.
struct ReduceGeometry {
  std::vector<int64_t> dims;
  Shape keep_shape;
  Shape out_shape;
  int64_t reduced_numel = 1;
};
// dims empty = reduce over all dimensions.
ReduceGeometry reduce_geometry(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, const char* op);

// values: contiguous, keep_shape, dtype per op (undefined for argmax/argmin); indices (i64,
// keep_shape: the row-major position inside the reduced sub-space) only for max/min/argmax/argmin.
using ReduceKernel = void (*)(OpId op, const Tensor& x, const ReduceGeometry& geo, Tensor& values, Tensor* indices);

// ---- shared by the backends (ops/cpu/reduce.cpp, ops/cuda/reduce.cu) ----

// x's dims split into two iteration spaces over x: the kept dims (outer, in output order: linear
// index = output element) and the reduced dims (inner: linear index = row-major position inside the
// reduced sub-space), mergeable dims collapsed. Only dims < `end` take part (the CPU's outer-dims
// path handles a trailing block of kept dims itself); x.dim() for all.
struct ReducePlan {
  StridedIndexer<1> outer;
  StridedIndexer<1> inner;
  int64_t num_out = 1;
  int64_t num_inner = 1;
};
ReducePlan reduce_plan(const Tensor& x, const ReduceGeometry& geo, int64_t end);

namespace ops {
// Sum in the input's floating dtype (integers and bool sum to i64, like PyTorch).
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Reduces `g` (broadcast result) back to `shape` by summing broadcast dimensions. Central to autograd.
Tensor sum_to(const Tensor& g, const Shape& shape);

// Extreme values keep the input dtype. A NaN is the maximum and the minimum (NaN propagates); on
// ties the first occurrence wins. Reducing over a zero-size dimension is an error (no identity).
// max/min over one dim: (values, i64 indices along dim).
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
// Over all elements: a 0-d tensor.
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
// Values only, over any set of dims (empty = all).
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// i64 positions along dim; without dim: the position in the flattened (row-major) tensor.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x);
Tensor argmin(const Tensor& x);
}  // namespace ops

}  // namespace mm
