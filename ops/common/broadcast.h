// Broadcasting, type promotion and iteration set-up: the shape logic every element-wise op shares,
// kept in one place so backends only iterate.
#pragma once

#include <initializer_list>
#include <vector>

#include "ops/common/strided_indexer.h"
#include "runtime/tensor.h"

namespace mm {

// NumPy broadcasting of two shapes; throws Shape naming the op and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Strides that view `t` as `shape` (which t must broadcast to): 0 on broadcast dims.
Strides broadcast_strides(const Tensor& t, const Shape& shape, const char* op);

// Iteration space over `shape` for operands (output first, then inputs), each viewed as `shape`
// through broadcasting, with mergeable dimensions collapsed. Works for any N ≤ 4.
template <int N>
StridedIndexer<N> make_indexer(const Shape& shape, const std::vector<const Tensor*>& operands, const char* op);

// Checks that all tensors are on one device; returns it.
Device common_device(std::initializer_list<const Tensor*> ts, const char* op);

// True when `from` broadcasts to exactly `to` (NumPy rules; `to` itself unchanged).
bool broadcasts_to(const Shape& from, const Shape& to);
// Checks that `t` (named `what` in the message) is defined and floating-point.
void check_floating(const Tensor& t, const char* op, const char* what);

// True when every operand is contiguous with exactly `shape` (the flat fast path).
bool all_contiguous_same_shape(const Shape& shape, std::initializer_list<const Tensor*> ts);

}  // namespace mm
