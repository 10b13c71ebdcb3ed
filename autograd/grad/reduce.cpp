// Reductions and their gradients: a reduced gradient is broadcast back over the reduced dims.
#include "autograd/grad/reduce.h"

#include "autograd/grad/elementwise.h"
#include "autograd/grad/shape.h"

namespace mm {

namespace {
// g has the reduction's output shape; view it with the reduced dims kept (size 1) and expand.
Tensor expand_reduced(const Tensor& g, const ReduceGeometry& geo, const Shape& in_shape) {
  return ops::expand(ops::reshape(g, geo.keep_shape), in_shape);
}
}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor y = ops::sum(x, dims, keepdim);
  if (needs_grad({x})) {
    ReduceGeometry geo = reduce_geometry(x, dims, keepdim, "sum");
    record("sum", {x}, {y}, [geo, shape = x.shape()](const GradContext& c) {
      return TensorList{expand_reduced(c.grad(), geo, shape)};
    });
  }
  return y;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  MM_CHECK(is_floating(x.dtype()), DType, "mean", "needs a floating dtype, got ", dtype_name(x.dtype()));
  ReduceGeometry geo = reduce_geometry(x, dims, keepdim, "mean");
  // mean of an empty reduction is NaN (0/0), as in PyTorch
  return div(sum(x, dims, keepdim), static_cast<double>(geo.reduced_numel));
}

}  // namespace mm
