// Views and their gradients. A view's backward maps the gradient back onto the input's geometry:
// reshape it, permute it back, or write it into the selected region of a zero tensor. expand needs no
// formula at all: the engine sums broadcast gradients back to the input's shape.
#include "autograd/grad/shape.h"

#include "ops/copy.h"

namespace mm {

namespace {
// Records a view whose gradient is the incoming gradient reshaped to the input's shape.
Tensor reshaping_view(const char* name, const Tensor& x, Tensor y) {
  if (needs_grad({x}))
    record(name, {x}, {y}, [shape = x.shape()](const GradContext& c) { return TensorList{ops::reshape(c.grad(), shape)}; });
  return y;
}

// Gradient of a view that picks a region: zeros with the gradient written into the same region.
template <typename RegionFn>
Tensor scatter_into_zeros(const Tensor& g, const TensorMetaInfo& in, RegionFn region) {
  Tensor z = ops::zeros(in.shape, g.dtype(), g.device());
  Tensor r = region(z);
  ops::copy_(r, g);
  return z;
}
}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) { return reshaping_view("reshape", x, ops::reshape(x, shape)); }
Tensor view(const Tensor& x, const Shape& shape) { return reshaping_view("view", x, ops::view(x, shape)); }
Tensor squeeze(const Tensor& x, int64_t dim) { return reshaping_view("squeeze", x, ops::squeeze(x, dim)); }
Tensor squeeze(const Tensor& x) { return reshaping_view("squeeze", x, ops::squeeze_all(x)); }
Tensor unsqueeze(const Tensor& x, int64_t dim) { return reshaping_view("unsqueeze", x, ops::unsqueeze(x, dim)); }
Tensor flatten(const Tensor& x, int64_t s, int64_t e) { return reshaping_view("flatten", x, ops::flatten(x, s, e)); }

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  Tensor y = ops::permute(x, dims);
  if (needs_grad({x})) {
    std::vector<int64_t> inverse(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) inverse[wrap_dim(dims[i], x.dim(), "permute")] = static_cast<int64_t>(i);
    record("permute", {x}, {y}, [inverse](const GradContext& c) { return TensorList{ops::permute(c.grad(), inverse)}; });
  }
  return y;
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  Tensor y = ops::transpose(x, d0, d1);
  if (needs_grad({x}))
    record("transpose", {x}, {y}, [d0, d1](const GradContext& c) { return TensorList{ops::transpose(c.grad(), d0, d1)}; });
  return y;
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  Tensor y = ops::slice(x, dim, start, end, step);
  if (needs_grad({x}))
    record("slice", {x}, {y}, [in = TensorMetaInfo{x.shape(), x.dtype(), x.device()}, dim, start, end, step](const GradContext& c) {
      return TensorList{scatter_into_zeros(c.grad(), in, [&](const Tensor& z) { return ops::slice(z, dim, start, end, step); })};
    });
  return y;
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  MM_CHECK(length >= 0, Value, "narrow", "length must be non-negative, got ", length);
  MM_CHECK(x.dim() > 0, Shape, "narrow", "cannot narrow a 0-d tensor");
  int64_t d = wrap_dim(dim, x.dim(), "narrow");
  int64_t s = start < 0 ? start + x.shape()[d] : start;
  MM_CHECK(s >= 0 && s + length <= x.shape()[d], Index, "narrow", "range [", s, ", ", s + length,
           ") is out of bounds for dimension ", d, " of size ", x.shape()[d]);
  return slice(x, d, s, s + length);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  Tensor y = ops::select(x, dim, index);
  if (needs_grad({x}))
    record("select", {x}, {y}, [in = TensorMetaInfo{x.shape(), x.dtype(), x.device()}, dim, index](const GradContext& c) {
      return TensorList{scatter_into_zeros(c.grad(), in, [&](const Tensor& z) { return ops::select(z, dim, index); })};
    });
  return y;
}

Tensor expand(const Tensor& x, const Shape& shape) {
  Tensor y = ops::expand(x, shape);
  // The engine reduces the broadcast gradient to x's shape.
  if (needs_grad({x})) record("expand", {x}, {y}, [](const GradContext& c) { return TensorList{c.grad()}; });
  return y;
}

Tensor expand_as(const Tensor& x, const Tensor& other) { return expand(x, other.shape()); }

Tensor diagonal(const Tensor& x, int64_t offset, int64_t d0, int64_t d1) {
  Tensor y = ops::diagonal(x, offset, d0, d1);
  if (needs_grad({x}))
    record("diagonal", {x}, {y}, [in = TensorMetaInfo{x.shape(), x.dtype(), x.device()}, offset, d0, d1](const GradContext& c) {
      return TensorList{scatter_into_zeros(c.grad(), in, [&](const Tensor& z) { return ops::diagonal(z, offset, d0, d1); })};
    });
  return y;
}

}  // namespace mm
