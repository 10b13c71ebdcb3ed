// Views (no autograd): new geometry over the same storage. Shape ops that must copy (cat, stack,
// pad, repeat) are written with these plus copies in autograd/grad/shape_copy.cpp.
#pragma once

#include <vector>

#include "runtime/tensor.h"

namespace mm::ops {

// Resolves one -1 in `shape` against numel; checks the element count.
Shape infer_shape(const Shape& shape, int64_t numel, const char* op);
// A view when the strides allow it, otherwise a contiguous copy (torch.reshape semantics).
Tensor reshape(const Tensor& x, const Shape& shape);
// Always a view; throws when the strides do not allow one (torch.view semantics).
Tensor view(const Tensor& x, const Shape& shape);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
// Elements start, start+step, ... < end along dim (negative start/end count from the end; clamped).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor expand(const Tensor& x, const Shape& shape);  // -1 keeps a dimension
Tensor squeeze(const Tensor& x, int64_t dim);        // removes dim if it has size 1
Tensor squeeze_all(const Tensor& x);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor diagonal(const Tensor& x, int64_t offset = 0, int64_t d0 = 0, int64_t d1 = 1);

}  // namespace mm::ops
