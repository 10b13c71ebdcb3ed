// Helpers shared by the distributed tests: every rank generates the same global data from a seed,
// takes its own rows, and can compute the single-process reference on the whole batch itself.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "autograd/functions.h"
#include "ops/copy.h"
#include "ops/shape.h"
#include "runtime/dist/communicator.h"

namespace mm::dist::testing {

inline Communicator& comm() { return world_communicator(); }

// The same tensor on every rank: N(0, 1) from `seed`.
inline Tensor global_randn(const Shape& shape, uint64_t seed, DType dtype = DType::F64) {
  Generator gen(seed);
  return ops::randn(shape, dtype, kCPU, &gen);
}

// Rows [rank·b, (rank+1)·b) of a global tensor, as a fresh contiguous leaf: always a copy (a row
// slice of a contiguous tensor is already contiguous, and ops::contiguous would hand back the view,
// so an in-place collective on it would write into `global`).
inline Tensor rows_of(const Tensor& global, int rank, int64_t b) {
  const Tensor view = ops::slice(global, 0, rank * b, (rank + 1) * b);
  Tensor out = Tensor::empty(view.shape(), view.dtype(), view.device());
  ops::copy_(out, view);
  return out;
}
inline Tensor my_rows(const Tensor& global, int64_t b) { return rows_of(global, comm().rank(), b); }

// max |a − b| / max(max |b|, 1e-300): one relative error for a whole tensor, so tiny elements of a
// well-scaled tensor are not judged on their own relative error.
inline double rel_err(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return INFINITY;
  std::vector<double> x = a.to_double_vector(), y = b.to_double_vector();
  double diff = 0, scale = 1e-300;
  for (size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, std::abs(x[i] - y[i]));
    scale = std::max(scale, std::abs(y[i]));
  }
  return diff / scale;
}

}  // namespace mm::dist::testing
