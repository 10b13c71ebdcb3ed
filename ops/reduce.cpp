#include "ops/reduce.h"

#include <algorithm>

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
