// Differentiable shape ops that copy (cat, stack, pad, repeat: see ops/shape_copy.h for the rules)
// and the splitting views (split, chunk), which return views made with mm::narrow so each piece
// carries its own slice gradient.
#pragma once

#include "autograd/record.h"
#include "ops/shape_copy.h"

namespace mm {

Tensor cat(const TensorList& xs, int64_t dim = 0);
Tensor stack(const TensorList& xs, int64_t dim = 0);
// F.pad, constant mode: pads = (left, right) pairs from the last dimension; negative pads crop.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0);
// torch.Tensor.repeat.
Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats);

// torch.split: pieces of split_size along dim (the last one smaller when it does not divide),
// or pieces of the given sizes (which must sum to the dimension's size). Views of x.
TensorList split(const Tensor& x, int64_t split_size, int64_t dim = 0);
TensorList split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
// torch.chunk: split with split_size = ceil(size / chunks), so possibly fewer than `chunks` pieces;
// a dimension of size 0 gives `chunks` empty pieces.
TensorList chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);

}  // namespace mm
