// Shape ops that copy (no autograd): cat, stack, pad (constant), repeat. All are composites: the
// output is allocated once and the inputs are written into views of it with copy_ (ops/copy.h), so
// they run on every device copy_ runs on and accept any input strides. The differentiable versions,
// and split/chunk (pure views), are in autograd/grad/shape_copy.h.
#pragma once

#include <vector>

#include "runtime/tensor.h"

namespace mm::ops {

// Concatenation along `dim`. Rules: at least one tensor; all of the same rank >= 1 (unlike PyTorch's
// legacy rule, a 1-d empty tensor [0] is NOT skipped next to higher-rank tensors: ranks must match);
// sizes equal except along dim; one device. The result has the promoted dtype of all inputs.
Tensor cat(const std::vector<Tensor>& xs, int64_t dim = 0);
// Stacks equally-shaped tensors along a new dimension `dim` (in [-(rank+1), rank]); dtypes promote.
Tensor stack(const std::vector<Tensor>& xs, int64_t dim = 0);
// F.pad, constant mode. pads = (left, right) pairs starting from the LAST dimension:
// (l_last, r_last, l_2nd_last, r_2nd_last, ...), at most 2*rank entries. Negative pads crop
// (a resulting size below 0 is an error). New elements take `value` (converted to x's dtype).
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0);
// torch.Tensor.repeat: tiles x repeats[i] times along dim i. len(repeats) >= rank; x is treated as
// having leading size-1 dims when repeats is longer. repeats must be >= 0.
Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats);

// ---- geometry shared with the backward formulas (autograd/grad/shape_copy.cpp) ----

// Where pad copies x: the box starting at src_start in x lands at dst_start in the output.
struct PadGeometry {
  Shape out_shape;
  std::vector<int64_t> src_start, dst_start, length;  // per dimension
  bool empty = false;  // some length is <= 0: nothing of x survives
  bool crops = false;  // some pad is negative
};
PadGeometry pad_geometry(const Tensor& x, const std::vector<int64_t>& pads);

// The view of t covering [start[d], start[d] + length[d]) in every dimension d.
Tensor box(const Tensor& t, const std::vector<int64_t>& start, const std::vector<int64_t>& length);

// repeat as broadcasting: x (with leading 1s to len(repeats) dims) is viewed with one extra
// stride-0 dimension of size r in front of each dim whose repeat r != 1, so that the contiguous copy
// of that view, reshaped to out_shape, is the tiled tensor. tiled_shape is that view's shape and
// repeat_dims the positions of the stride-0 dims in it (the dims the gradient sums over).
struct RepeatGeometry {
  Shape padded_shape;  // x's shape with leading 1s
  Shape tiled_shape;
  std::vector<int64_t> repeat_dims;
  Shape out_shape;
};
RepeatGeometry repeat_geometry(const Tensor& x, const std::vector<int64_t>& repeats);

}  // namespace mm::ops
