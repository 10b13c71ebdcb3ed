// Indexing ops (no autograd): index_select, gather, scatter_add (and index_add, its index_select-
// shaped form), one_hot, sort/argsort and topk. The differentiable versions users call are in
// autograd/grad/index.h.
//
// Index tensors are i64 or i32 (i32 is widened to i64 before the kernels run). Every index value is
// range-checked on the host BEFORE any kernel starts, so kernels — parallel CPU loops and CUDA
// kernels alike — never see a bad index and never need to report one. A CUDA index is copied to
// the host for that check: a synchronising copy, chosen over a validation kernel + flag because it
// is simple and lets the error name the exact offending value.
//
// Semantics follow PyTorch: gather/scatter_add index has the input's rank, with
// index.size(d) <= input.size(d) for d != dim (and <= src.size(d) for every d); 0-d inputs behave
// like 1-element 1-D tensors (dim 0 or -1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "ops/kernels.h"

namespace mm {

// ---- kernel signatures (backends: ops/cpu/index.cpp, ops/cuda/index.cu) ----
// out[i] = x[i with coordinate `dim` replaced by index[i]], over index's shape. x: any dtype and
// strides; index: i64, x's rank, any strides (stride 0 allowed: index_select passes a 1-D index
// expanded to the output shape); out: contiguous, index's shape, x's dtype. Registered for gather
// and index_select.
using GatherKernel = void (*)(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out);
// out[i with `dim` replaced by index[i]] += src[i] for every i of index's shape. out: contiguous,
// f32/f64/i32/i64 (holds x's values already); src: out's dtype, any strides; index: i64, any
// strides. CPU: deterministic (each output line is owned by one thread); CUDA: atomicAdd.
using ScatterAddKernel = void (*)(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src);
// out[i, c] = (index[i] == c); index: contiguous i64 (flattened); out: contiguous i64 [N, C].
using OneHotKernel = void (*)(const Tensor& index, Tensor& out);
// Sorts each row of `rows` (contiguous [R, n], u8/i32/i64/f32/f64) in the order of
// ops/index_order.h and writes the first k of each: values [R, k] (rows' dtype) and indices [R, k]
// (i64), both contiguous. Registered for sort and topk.
using SortKernel = void (*)(const Tensor& rows, int64_t k, bool descending, Tensor& values, Tensor& indices);

// A view of `t` with `shape` (each size <= t's, except along `zeroed_dim`) and t's strides, the
// stride along `zeroed_dim` set to 0 (-1: none). Gather/scatter kernels walk index's shape with it:
// the kernel adds index * t.stride(dim) itself.
Tensor index_space_view(const Tensor& t, const Shape& shape, int64_t zeroed_dim);

// Calls f(U{}) with U the unsigned integer type of `bytes` (1, 2, 4 or 8) bytes: kernels that only
// move elements (gather) are instantiated per element size, not per dtype.
template <typename F>
void dispatch_by_size(size_t bytes, F&& f) {
  switch (bytes) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
    default: MM_INTERNAL_ASSERT(false);
  }
}

namespace ops {

// Slices of x along dim at the positions in `index` (0-d or 1-D): out.shape = x.shape with
// shape[dim] = index.numel().
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// out[i][j][k] = x[index[i][j][k]][j][k] (dim 0), ...; out.shape = index.shape.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// Out of place: a copy of x with src[i][j][k] added at x[index[i][j][k]][j][k] (dim 0), ...
// Repeated indices accumulate. Only index's shape of src is read.
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// Out of place torch.index_add: a copy of x with src.select(dim, i) added to the slice
// x.select(dim, index[i]); index 1-D, src.shape = x.shape with shape[dim] = index.numel().
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// i64 [..., num_classes] with a 1 at each index; num_classes = -1: max(index) + 1.
Tensor one_hot(const Tensor& index, int64_t num_classes = -1);
// Values and i64 positions along dim, STABLE: equal values keep their original order; NaN sorts as
// the largest value (last ascending, first descending), as in PyTorch.
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);
// The k largest (smallest) values along dim and their positions, always sorted (largest first when
// largest, else smallest first); among equal values the earliest comes first. `sorted` = false is
// accepted for PyTorch compatibility and returns the same (sorted) result.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);

// Throws mm::Error(Index) naming `op` when a value of `index` (i64) lies outside [0, size) of
// dimension `dim`. Scans on the host (a CUDA index is copied there first); for front ends that take
// index tensors (embedding, losses with class indices) to call before any kernel.
void check_index_range(const Tensor& index, int64_t size, const char* op, int64_t dim);

// For backward formulas only: the same ops on an index that the forward pass already range-checked
// (skips the host-side scan, which on CUDA would copy the index to the host once more).
namespace detail {
Tensor index_select_prechecked(const Tensor& x, int64_t dim, const Tensor& index);
Tensor gather_prechecked(const Tensor& x, int64_t dim, const Tensor& index);
Tensor scatter_add_prechecked(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor index_add_prechecked(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
}  // namespace detail

}  // namespace ops
}  // namespace mm
