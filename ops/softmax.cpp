// Front ends of softmax / log_softmax and their backward kernels: validation, compute dtype, a
// contiguous input, then the fused row kernels (ops/cpu/softmax.cpp, ops/cuda/softmax.cu).
#include "ops/softmax.h"

#include "ops/common/broadcast.h"
#include "ops/copy.h"

namespace mm::ops {

namespace {

SoftmaxGeometry softmax_geometry(const Shape& shape, int64_t dim) {
  SoftmaxGeometry g;
  if (shape.empty()) return g;  // a 0-d tensor is one slice of one element
  for (int64_t d = 0; d < dim; ++d) g.outer *= shape[d];
  g.n = shape[dim];
  for (size_t d = static_cast<size_t>(dim) + 1; d < shape.size(); ++d) g.inner *= shape[d];
  return g;
}

// f32/f64 compute in themselves; f16/bf16 in f32.
DType compute_dtype(DType t) { return t == DType::F64 ? DType::F64 : DType::F32; }

Tensor forward(OpId op, const Tensor& x, int64_t dim) {
  const char* name = op_name(op);
  MM_CHECK(x.defined(), Value, name, "undefined input");
  MM_CHECK(is_floating(x.dtype()), DType, name, "needs a floating input, got ", dtype_name(x.dtype()));
  dim = wrap_dim(dim, x.dim(), name);
  DType cdt = compute_dtype(x.dtype());
  Tensor xin = contiguous(to_dtype(x, cdt));
  Tensor out = Tensor::empty(x.shape(), cdt, x.device());
  if (out.numel() > 0) kernel<SoftmaxKernel>(op, x.device())(op, xin, out, softmax_geometry(x.shape(), dim));
  return to_dtype(out, x.dtype());
}

Tensor backward(OpId op, const Tensor& g, const Tensor& y, int64_t dim) {
  const char* name = op_name(op);
  MM_CHECK(g.defined() && y.defined(), Value, name, "undefined gradient or output");
  MM_CHECK(g.shape() == y.shape(), Shape, name, "gradient ", shape_str(g.shape()), " and output ",
           shape_str(y.shape()), " must have one shape");
  MM_CHECK(is_floating(g.dtype()) && is_floating(y.dtype()), DType, name, "needs floating tensors, got ",
           dtype_name(g.dtype()), " and ", dtype_name(y.dtype()));
  common_device({&g, &y}, name);
  dim = wrap_dim(dim, y.dim(), name);
  DType cdt = compute_dtype(promote_types(g.dtype(), y.dtype()));
  Tensor gi = contiguous(to_dtype(g, cdt)), yi = contiguous(to_dtype(y, cdt));
  Tensor out = Tensor::empty(y.shape(), cdt, y.device());
  if (out.numel() > 0)
    kernel<SoftmaxBackwardKernel>(op, y.device())(op, gi, yi, out, softmax_geometry(y.shape(), dim));
  return to_dtype(out, y.dtype());
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return forward(OpId::softmax, x, dim); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return forward(OpId::log_softmax, x, dim); }
Tensor softmax_backward(const Tensor& g, const Tensor& y, int64_t dim) {
  return backward(OpId::softmax_backward, g, y, dim);
}
Tensor log_softmax_backward(const Tensor& g, const Tensor& y, int64_t dim) {
  return backward(OpId::log_softmax_backward, g, y, dim);
}

}  // namespace mm::ops
