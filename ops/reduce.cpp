#include "ops/reduce.h"

#include <algorithm>

#include "ops/common/broadcast.h"
#include "ops/copy.h"

namespace mm {

ReduceGeometry reduce_geometry(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, const char* op) {
  ReduceGeometry g;
  int64_t nd = x.dim();
  if (dims.empty()) {
    for (int64_t d = 0; d < nd; ++d) g.dims.push_back(d);
  } else {
    for (int64_t d : dims) g.dims.push_back(wrap_dim(d, nd, op));
    std::sort(g.dims.begin(), g.dims.end());
    MM_CHECK(std::adjacent_find(g.dims.begin(), g.dims.end()) == g.dims.end(), Index, op,
             "dimension listed twice in the reduction dims");
    if (nd == 0) g.dims.clear();  // dim 0 / -1 of a 0-d tensor is the tensor itself
  }
  g.keep_shape = x.shape();
  for (int64_t d : g.dims) {
    g.reduced_numel *= x.shape()[d];
    g.keep_shape[d] = 1;
  }
  for (int64_t d = 0; d < nd; ++d) {
    bool reduced = std::binary_search(g.dims.begin(), g.dims.end(), d);
    if (!reduced) g.out_shape.push_back(x.shape()[d]);
    else if (keepdim) g.out_shape.push_back(1);
  }
  return g;
}

ReducePlan reduce_plan(const Tensor& x, const ReduceGeometry& geo, int64_t end) {
  ReducePlan p;
  Shape osz, isz;
  Strides ost, ist;
  std::vector<bool> reduced(x.dim(), false);
  for (int64_t d : geo.dims) reduced[d] = true;
  for (int64_t d = 0; d < end; ++d) {
    (reduced[d] ? isz : osz).push_back(x.shape()[d]);
    (reduced[d] ? ist : ost).push_back(x.strides()[d]);
  }
  // make_indexer collapses mergeable dims when it sees the (size, stride) lists as tensor views.
  Tensor ov = Tensor::make_view(x.storage(), osz, ost, x.offset(), x.dtype());
  Tensor iv = Tensor::make_view(x.storage(), isz, ist, x.offset(), x.dtype());
  p.outer = make_indexer<1>(osz, {&ov}, "reduce");
  p.inner = make_indexer<1>(isz, {&iv}, "reduce");
  p.num_out = shape_numel(osz);
  p.num_inner = shape_numel(isz);
  return p;
}

namespace ops {

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  MM_CHECK(x.defined(), Value, "sum", "undefined input");
  ReduceGeometry geo = reduce_geometry(x, dims, keepdim, "sum");
  DType dt = is_floating(x.dtype()) ? x.dtype() : DType::I64;
  DType compute = (dt == DType::F16 || dt == DType::BF16) ? DType::F32 : dt;
  Tensor xin = to_dtype(x, compute);
  Tensor out = Tensor::empty(geo.keep_shape, compute, x.device());
  if (out.numel() > 0) {
    if (geo.reduced_numel == 0) fill_(out, 0.0);
    else kernel<ReduceKernel>(OpId::sum, x.device())(OpId::sum, xin, geo, out, nullptr);
  }
  Tensor r = Tensor::make_view(out.storage(), geo.out_shape, contiguous_strides(geo.out_shape), 0, compute);
  return to_dtype(r, dt);
}

namespace {

// Extreme-value reductions compare in the input's own type where a kernel exists: bool compares as
// u8, f16/bf16 as f32 (exact: every f16/bf16 value is an f32), then the result is converted back.
DType extreme_compute_dtype(DType t) {
  if (t == DType::Bool) return DType::U8;
  if (t == DType::F16 || t == DType::BF16) return DType::F32;
  return t;
}

// Shared by max/min/amax/amin/argmax/argmin: validates, allocates keep_shape outputs, runs the
// kernel and views the results in out_shape.
std::pair<Tensor, Tensor> extreme(OpId op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim,
                                  bool want_values, bool want_indices) {
  const char* name = op_name(op);
  MM_CHECK(x.defined(), Value, name, "undefined input");
  ReduceGeometry geo = reduce_geometry(x, dims, keepdim, name);
  for (int64_t d : geo.dims)
    MM_CHECK(x.shape()[d] != 0, Shape, name, "cannot reduce over dimension ", d, " of size 0 (input ",
             shape_str(x.shape()), "): the ", name, " of no elements is undefined");
  DType compute = extreme_compute_dtype(x.dtype());
  Tensor xin = to_dtype(x, compute);
  Tensor values = want_values ? Tensor::empty(geo.keep_shape, compute, x.device()) : Tensor();
  Tensor indices = want_indices ? Tensor::empty(geo.keep_shape, DType::I64, x.device()) : Tensor();
  if (shape_numel(geo.keep_shape) > 0)
    kernel<ReduceKernel>(op, x.device())(op, xin, geo, values, want_indices ? &indices : nullptr);
  auto as_out = [&](const Tensor& t) {
    return Tensor::make_view(t.storage(), geo.out_shape, contiguous_strides(geo.out_shape), 0, t.dtype());
  };
  std::pair<Tensor, Tensor> r;
  if (want_values) r.first = to_dtype(as_out(values), x.dtype());
  if (want_indices) r.second = as_out(indices);
  return r;
}

}  // namespace

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme(OpId::max, x, {dim}, keepdim, true, true);
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme(OpId::min, x, {dim}, keepdim, true, true);
}
Tensor max(const Tensor& x) { return extreme(OpId::max, x, {}, false, true, false).first; }
Tensor min(const Tensor& x) { return extreme(OpId::min, x, {}, false, true, false).first; }
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme(OpId::amax, x, dims, keepdim, true, false).first;
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme(OpId::amin, x, dims, keepdim, true, false).first;
}
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme(OpId::argmax, x, {dim}, keepdim, false, true).second;
}
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme(OpId::argmin, x, {dim}, keepdim, false, true).second;
}
// Over all dims, the position inside the reduced sub-space is the row-major flat index.
Tensor argmax(const Tensor& x) { return extreme(OpId::argmax, x, {}, false, false, true).second; }
Tensor argmin(const Tensor& x) { return extreme(OpId::argmin, x, {}, false, false, true).second; }

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  MM_CHECK(lead >= 0, Shape, "sum_to", "cannot reduce ", shape_str(g.shape()), " to ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < g.dim(); ++d) {
    if (d < lead) dims.push_back(d);
    else if (shape[d - lead] == 1 && g.shape()[d] != 1) dims.push_back(d);
    else MM_CHECK(shape[d - lead] == g.shape()[d], Shape, "sum_to", "cannot reduce ", shape_str(g.shape()), " to ",
                  shape_str(shape));
  }
  if (dims.empty()) {
    Tensor c = contiguous(g);  // only leading size-1 dims differ: a reshape
    return Tensor::make_view(c.storage(), shape, contiguous_strides(shape), c.offset(), c.dtype());
  }
  Tensor s = sum(g, dims, /*keepdim=*/true);  // keep_shape: leading dims of size 1, then `shape`
  return Tensor::make_view(s.storage(), shape, contiguous_strides(shape), s.offset(), s.dtype());
}

}  // namespace ops
}  // namespace mm
