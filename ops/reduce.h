// Reductions over dimensions (no autograd): sum, max/min with indices, amax/amin, argmax/argmin.
// Composite reductions (mean, logsumexp, var, std, norm) are written with these in autograd/.
#pragma once

#include <vector>

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

// values: contiguous, keep_shape, dtype per op; indices (i64, keep_shape) only for max/min/argmax/argmin.
using ReduceKernel = void (*)(OpId op, const Tensor& x, const ReduceGeometry& geo, Tensor& values, Tensor* indices);

namespace ops {
// Sum in the input's floating dtype (integers and bool sum to i64, like PyTorch).
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Reduces `g` (broadcast result) back to `shape` by summing broadcast dimensions. Central to autograd.
Tensor sum_to(const Tensor& g, const Shape& shape);
}  // namespace ops

}  // namespace mm
