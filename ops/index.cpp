// Front ends of the indexing family: validation (ranks, shapes, dtypes, devices, and every index
// value, on the host, before any kernel), dtype handling, output allocation; then dispatch to the
// backend loops (ops/cpu/index.cpp, ops/cuda/index.cu).
#include "ops/index.h"

#include <algorithm>

#include "ops/common/broadcast.h"
#include "ops/copy.h"
#include "ops/shape.h"

namespace mm {

Tensor index_space_view(const Tensor& t, const Shape& shape, int64_t zeroed_dim) {
  Strides st = t.strides();
  if (zeroed_dim >= 0) st[zeroed_dim] = 0;
  return Tensor::make_view(t.storage(), shape, st, t.offset(), t.dtype());
}

namespace ops {
namespace {

void check_defined(const Tensor& t, const char* op, const char* what) {
  MM_CHECK(t.defined(), Value, op, what, " is an undefined tensor");
}

// The index in i64 (i32 is widened; anything else is a DType error).
Tensor index_i64(const Tensor& index, const char* op) {
  MM_CHECK(index.dtype() == DType::I64 || index.dtype() == DType::I32, DType, op, "index must be i64 or i32, got ",
           dtype_name(index.dtype()));
  return to_dtype(index, DType::I64);
}

// 0-d tensors are indexed like 1-element 1-D tensors (PyTorch accepts dim 0 / -1 on them).
Tensor as_1d(const Tensor& t) { return t.dim() == 0 ? reshape(t, {1}) : t; }
Tensor restore_0d(const Tensor& out, const Tensor& x) { return x.dim() == 0 ? reshape(out, {}) : out; }

// A contiguous host copy of an i64 index, for the range scans (no copy for a contiguous CPU index).
Tensor host_index(const Tensor& index) { return contiguous(to_device(index, kCPU)); }

// index.size(k) <= t.size(k) for every k (except `free_dim`, -1: none).
void check_fits(const Tensor& index, const Tensor& t, int64_t free_dim, const char* op, const char* what,
                const Shape& index_shape, const Shape& t_shape) {
  for (int64_t k = 0; k < index.dim(); ++k)
    if (k != free_dim)
      MM_CHECK(index.size(k) <= t.size(k), Shape, op, "index ", shape_str(index_shape), " is larger than ", what, " ",
               shape_str(t_shape), " in dimension ", k,
               free_dim >= 0 ? " (index may be larger only along dim " + std::to_string(free_dim) + ")" : "");
}

// The shared tail of scatter_add and index_add: a copy of x in the accumulation dtype, src added
// by the kernel, converted back. f16/bf16 accumulate in f32 (one rounding at the end); u8 in i32
// (CUDA has no 8-bit atomicAdd; the conversion back wraps mod 256, the same bits u8 adds give).
Tensor scatter_into_copy(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const Shape& result_shape) {
  DType dt = x.dtype();
  DType compute = (dt == DType::F16 || dt == DType::BF16) ? DType::F32 : dt == DType::U8 ? DType::I32 : dt;
  Tensor out = Tensor::empty(x.shape(), compute, x.device());
  copy_(out, x);
  if (index.numel() > 0) kernel<ScatterAddKernel>(OpId::scatter_add, x.device())(out, dim, index, to_dtype(src, compute));
  Tensor r = to_dtype(out, dt);
  return r.shape() == result_shape ? r : reshape(r, result_shape);
}

Tensor index_select_impl(const Tensor& x, int64_t dim, const Tensor& index, bool check) {
  const char* op = "index_select";
  check_defined(x, op, "input");
  check_defined(index, op, "index");
  Device dev = common_device({&x, &index}, op);
  MM_CHECK(index.dim() <= 1, Shape, op, "index must be 0-d or 1-D, got shape ", shape_str(index.shape()));
  int64_t d = wrap_dim(dim, x.dim(), op);
  Tensor xs = as_1d(x), idx = as_1d(index_i64(index, op));
  MM_CHECK(x.dim() > 0 || idx.numel() == 1, Shape, op, "a 0-d input takes exactly one index, got ", idx.numel());
  if (check) check_index_range(idx, xs.size(d), op, d);
  Shape out_shape = xs.shape();
  out_shape[d] = idx.numel();
  Tensor out = Tensor::empty(out_shape, x.dtype(), dev);
  if (out.numel() > 0) {
    // index_select is a gather whose index is the 1-D index expanded (stride 0) to the output shape.
    Strides st(out_shape.size(), 0);
    st[d] = idx.stride(0);
    Tensor eidx = Tensor::make_view(idx.storage(), out_shape, st, idx.offset(), DType::I64);
    kernel<GatherKernel>(OpId::index_select, dev)(xs, d, eidx, out);
  }
  return restore_0d(out, x);
}

Tensor gather_impl(const Tensor& x, int64_t dim, const Tensor& index, bool check) {
  const char* op = "gather";
  check_defined(x, op, "input");
  check_defined(index, op, "index");
  Device dev = common_device({&x, &index}, op);
  MM_CHECK(index.dim() == x.dim(), Shape, op, "index ", shape_str(index.shape()), " must have the rank of the input ",
           shape_str(x.shape()));
  int64_t d = wrap_dim(dim, x.dim(), op);
  Tensor xs = as_1d(x), idx = as_1d(index_i64(index, op));
  check_fits(idx, xs, d, op, "the input", index.shape(), x.shape());
  if (check) check_index_range(idx, xs.size(d), op, d);
  Tensor out = Tensor::empty(idx.shape(), x.dtype(), dev);
  if (out.numel() > 0) kernel<GatherKernel>(OpId::gather, dev)(xs, d, idx, out);
  return restore_0d(out, x);
}

Tensor scatter_add_impl(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, bool check) {
  const char* op = "scatter_add";
  check_defined(x, op, "input");
  check_defined(index, op, "index");
  check_defined(src, op, "src");
  common_device({&x, &index, &src}, op);
  MM_CHECK(index.dim() == x.dim() && src.dim() == x.dim(), Shape, op, "input ", shape_str(x.shape()), ", index ",
           shape_str(index.shape()), " and src ", shape_str(src.shape()), " must have one rank");
  MM_CHECK(src.dtype() == x.dtype(), DType, op, "src dtype ", dtype_name(src.dtype()), " differs from the input's ",
           dtype_name(x.dtype()));
  MM_CHECK(x.dtype() != DType::Bool, DType, op, "cannot add bool tensors");
  int64_t d = wrap_dim(dim, x.dim(), op);
  Tensor xs = as_1d(x), ss = as_1d(src), idx = as_1d(index_i64(index, op));
  check_fits(idx, ss, -1, op, "src", index.shape(), src.shape());
  check_fits(idx, xs, d, op, "the input", index.shape(), x.shape());
  if (check) check_index_range(idx, xs.size(d), op, d);
  return scatter_into_copy(xs, d, idx, ss, x.shape());
}

Tensor index_add_impl(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, bool check) {
  const char* op = "index_add";
  check_defined(x, op, "input");
  check_defined(index, op, "index");
  check_defined(src, op, "src");
  common_device({&x, &index, &src}, op);
  MM_CHECK(index.dim() <= 1, Shape, op, "index must be 0-d or 1-D, got shape ", shape_str(index.shape()));
  MM_CHECK(src.dtype() == x.dtype(), DType, op, "src dtype ", dtype_name(src.dtype()), " differs from the input's ",
           dtype_name(x.dtype()));
  MM_CHECK(x.dtype() != DType::Bool, DType, op, "cannot add bool tensors");
  int64_t d = wrap_dim(dim, x.dim(), op);
  Tensor xs = as_1d(x), ss = as_1d(src), idx = as_1d(index_i64(index, op));
  Shape want = xs.shape();
  want[d] = idx.numel();
  MM_CHECK(ss.shape() == want, Shape, op, "src ", shape_str(src.shape()), " must have shape ", shape_str(want),
           " (the input's, with dimension ", d, " = the number of indices)");
  if (check) check_index_range(idx, xs.size(d), op, d);
  // The 1-D index seen as a scatter index of src's shape: stride 0 along every other dimension, so
  // nothing is materialised.
  Strides st(want.size(), 0);
  st[d] = idx.stride(0);
  Tensor eidx = Tensor::make_view(idx.storage(), want, st, idx.offset(), DType::I64);
  return scatter_into_copy(xs, d, eidx, ss, x.shape());
}

// sort and topk: the sorted dimension is moved last and made contiguous, so the kernel sees plain
// rows [R, n]; k = n for sort.
std::pair<Tensor, Tensor> sort_impl(OpId id, const Tensor& x, int64_t k, int64_t dim, bool descending) {
  const char* op = op_name(id);
  check_defined(x, op, "input");
  int64_t d = wrap_dim(dim, x.dim(), op);
  Tensor xs = as_1d(x);
  int64_t n = xs.size(d);
  if (id == OpId::sort) k = n;
  MM_CHECK(k >= 0 && k <= n, Index, op, "k = ", k, " is out of range for dimension ", d, " of size ", n,
           " (input ", shape_str(x.shape()), ")");
  DType dt = x.dtype();
  DType compute = (dt == DType::F16 || dt == DType::BF16) ? DType::F32 : dt == DType::Bool ? DType::U8 : dt;
  int64_t last = xs.dim() - 1;
  Tensor xt = contiguous(to_dtype(transpose(xs, d, last), compute));
  Shape tshape = xt.shape();
  tshape[last] = k;
  Tensor values = Tensor::empty(tshape, compute, x.device());
  Tensor indices = Tensor::empty(tshape, DType::I64, x.device());
  if (values.numel() > 0) {
    int64_t rows = xt.numel() / n;  // n >= k > 0 here
    Tensor r = Tensor::make_view(xt.storage(), {rows, n}, {n, 1}, xt.offset(), compute);
    Tensor v = Tensor::make_view(values.storage(), {rows, k}, {k, 1}, 0, compute);
    Tensor i = Tensor::make_view(indices.storage(), {rows, k}, {k, 1}, 0, DType::I64);
    kernel<SortKernel>(id, x.device())(r, k, descending, v, i);
  }
  auto back = [&](const Tensor& t) { return restore_0d(contiguous(transpose(t, d, last)), x); };
  return {back(to_dtype(values, dt)), back(indices)};
}

}  // namespace

// Every value of `index` must lie in [0, size). Runs on the calling thread, before any parallel loop
// or kernel launch: a sequential scan is cheap next to the op itself and keeps throwing out of
// parallel regions impossible.
void check_index_range(const Tensor& index, int64_t size, const char* op, int64_t dim) {
  if (index.numel() == 0) return;
  Tensor h = host_index(index_i64(index, op));
  const int64_t* p = h.data<int64_t>();
  for (int64_t i = 0, n = h.numel(); i < n; ++i)
    if (p[i] < 0 || p[i] >= size)
      fail(ErrorKind::Index, op, "index ", p[i], " is out of range for dimension ", dim, " with size ", size);
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) { return index_select_impl(x, dim, index, true); }

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) { return gather_impl(x, dim, index, true); }

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_add_impl(x, dim, index, src, true);
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return index_add_impl(x, dim, index, src, true);
}

Tensor one_hot(const Tensor& index, int64_t num_classes) {
  const char* op = "one_hot";
  check_defined(index, op, "index");
  MM_CHECK(index.dtype() == DType::I64 || index.dtype() == DType::I32, DType, op,
           "index must hold class indices (i64 or i32), got ", dtype_name(index.dtype()));
  MM_CHECK(num_classes >= -1, Value, op, "num_classes must be -1 (infer) or >= 0, got ", num_classes);
  Tensor idx = contiguous(to_dtype(index, DType::I64));
  int64_t classes = num_classes;
  if (idx.numel() > 0) {
    Tensor h = host_index(idx);
    const int64_t* p = h.data<int64_t>();
    int64_t n = h.numel();
    if (classes == -1) classes = *std::max_element(p, p + n) + 1;
    for (int64_t i = 0; i < n; ++i)
      if (p[i] < 0 || p[i] >= classes)
        fail(ErrorKind::Index, op, "class index ", p[i], " is out of range for num_classes ", classes,
             num_classes == -1 ? " (inferred as max + 1)" : "");
  } else {
    MM_CHECK(classes >= 0, Value, op, "cannot infer num_classes from an empty index; pass num_classes");
  }
  Shape shape = index.shape();
  shape.push_back(classes);
  Tensor out = Tensor::empty(shape, DType::I64, index.device());
  if (out.numel() > 0) kernel<OneHotKernel>(OpId::one_hot, index.device())(idx, out);
  return out;
}

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending) {
  return sort_impl(OpId::sort, x, -1, dim, descending);
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) { return sort(x, dim, descending).second; }

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  (void)sorted;  // results are always sorted (documented in ops/index.h)
  return sort_impl(OpId::topk, x, k, dim, /*descending=*/largest);
}

namespace detail {
Tensor index_select_prechecked(const Tensor& x, int64_t dim, const Tensor& index) {
  return index_select_impl(x, dim, index, false);
}
Tensor gather_prechecked(const Tensor& x, int64_t dim, const Tensor& index) { return gather_impl(x, dim, index, false); }
Tensor scatter_add_prechecked(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_add_impl(x, dim, index, src, false);
}
Tensor index_add_prechecked(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return index_add_impl(x, dim, index, src, false);
}
}  // namespace detail

}  // namespace ops
}  // namespace mm
