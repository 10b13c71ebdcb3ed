// Differentiable indexing: mm::index_select, gather, scatter_add, embedding (gradients), and
// one_hot, sort, argsort, topk (no gradient: integer outputs, or values marked nd in SPEC §3.1).
// Semantics are PyTorch's; the raw ops and their rules are documented in ops/index.h.
#pragma once

#include <utility>

#include "autograd/record.h"
#include "ops/index.h"

namespace mm {

// Backward: the gradient's slices are added (index_add) into zeros at the selected positions, so
// repeated indices accumulate.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// Backward: scatter_add of the gradient into zeros of x's shape.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// Out of place: x with src added at the index positions. d/dx = identity; d/dsrc = gather of the
// gradient (zero where src was not read, when index is smaller than src).
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// i64 [..., num_classes]; num_classes = -1: max(index) + 1.
Tensor one_hot(const Tensor& index, int64_t num_classes = -1);
// (values, i64 indices); always sorted; among equal values the earliest comes first.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);
// (values, i64 indices); STABLE: equal values keep their order; NaN sorts as the largest value.
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);
// Rows of weight [V, D] for integer ids of any shape: [ids..., D]. padding_idx: -1 = none, else a
// row in [0, V) whose gradient is always zero (its forward value is still looked up, as in PyTorch).
Tensor embedding(const Tensor& weight, const Tensor& ids, int64_t padding_idx = -1);

}  // namespace mm
