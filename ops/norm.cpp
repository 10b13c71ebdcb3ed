// Front ends of layer_norm and batch_norm: validation, views of the input as [rows, D] or
// [N, C, S], compute-dtype conversion (f16/bf16 are normalised in f32), output allocation, and the
// write-back of running statistics that had to be converted for the kernel.
#include "ops/norm.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/common/broadcast.h"
#include "ops/copy.h"

namespace mm::ops {
namespace {

DType compute_dtype(DType t) { return t == DType::F64 ? DType::F64 : DType::F32; }

// A kernel operand: contiguous and in the compute dtype (undefined stays undefined).
Tensor prep(const Tensor& t, DType cdt) { return t.defined() ? contiguous(to_dtype(t, cdt)) : t; }

// A contiguous tensor seen with another shape of the same size (undefined stays undefined).
Tensor view_as(const Tensor& t, const Shape& s) {
  return t.defined() ? Tensor::make_view(t.storage(), s, contiguous_strides(s), t.offset(), t.dtype()) : t;
}

// Result in the dtype of the tensor it is the gradient of (undefined stays undefined).
Tensor cast_back(const Tensor& t, DType dt) { return t.defined() ? to_dtype(t, dt) : t; }

void check_input(const Tensor& x, const char* op) {
  MM_CHECK(x.defined(), Value, op, "input is an undefined tensor");
  MM_CHECK(is_floating(x.dtype()), DType, op, "needs a floating input, got ", dtype_name(x.dtype()));
}

// weight / bias: optional; when given, the input's dtype and device and exactly `shape`.
void check_param(const Tensor& p, const Tensor& x, const Shape& shape, const char* op, const char* what) {
  if (!p.defined()) return;
  common_device({&x, &p}, op);
  MM_CHECK(p.dtype() == x.dtype(), DType, op, what, " must have the input's dtype ", dtype_name(x.dtype()), ", got ",
           dtype_name(p.dtype()));
  MM_CHECK(p.shape() == shape, Shape, op, what, " must have shape ", shape_str(shape), ", got ", shape_str(p.shape()));
}

void check_eps(double eps, const char* op) {
  MM_CHECK(std::isfinite(eps) && eps >= 0, Value, op, "eps must be finite and non-negative, got ", eps);
}

struct RowsGeometry {
  int64_t rows = 1, D = 1;
};
// layer_norm's view of x: the leading dims as rows, the normalised trailing dims as D.
RowsGeometry rows_geometry(const Tensor& x, const Shape& normalized_shape) {
  RowsGeometry g;
  const int64_t lead = x.dim() - static_cast<int64_t>(normalized_shape.size());
  for (int64_t d = 0; d < lead; ++d) g.rows *= x.size(d);
  g.D = shape_numel(normalized_shape);
  return g;
}

struct ChannelGeometry {
  int64_t N = 1, C = 1, S = 1;
};
ChannelGeometry channel_geometry(const Tensor& x) {
  ChannelGeometry g;
  g.N = x.size(0);
  g.C = x.size(1);
  for (int64_t d = 2; d < x.dim(); ++d) g.S *= x.size(d);
  return g;
}

}  // namespace

NormOutput layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                      double eps) {
  check_input(x, "layer_norm");
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  MM_CHECK(k >= 1 && k <= x.dim() && std::equal(normalized_shape.begin(), normalized_shape.end(), x.shape().end() - k),
           Shape, "layer_norm", "normalized_shape ", shape_str(normalized_shape),
           " must be non-empty and equal the trailing dims of the input ", shape_str(x.shape()));
  check_param(weight, x, normalized_shape, "layer_norm", "weight");
  check_param(bias, x, normalized_shape, "layer_norm", "bias");
  check_eps(eps, "layer_norm");
  const RowsGeometry g = rows_geometry(x, normalized_shape);
  const DType cdt = compute_dtype(x.dtype());
  const Device dev = x.device();
  Tensor xc = prep(x, cdt), wc = prep(weight, cdt), bc = prep(bias, cdt);
  NormOutput r{Tensor::empty(x.shape(), cdt, dev), Tensor::empty({g.rows}, cdt, dev), Tensor::empty({g.rows}, cdt, dev)};
  if (g.rows > 0 && g.D > 0) {
    Tensor x2 = view_as(xc, {g.rows, g.D}), y2 = view_as(r.y, {g.rows, g.D});
    kernel<LayerNormKernel>(OpId::layer_norm, dev)(x2, wc, bc, eps, y2, r.mean, r.rstd);
  } else if (g.rows > 0) {  // rows of zero elements: statistics of an empty set
    fill_(r.mean, std::numeric_limits<double>::quiet_NaN());
    fill_(r.rstd, std::numeric_limits<double>::quiet_NaN());
  }
  r.y = to_dtype(r.y, x.dtype());
  return r;
}

NormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Shape& normalized_shape, const Tensor& mean,
                              const Tensor& rstd, const Tensor& weight, NormNeeds needs) {
  MM_CHECK(dy.shape() == x.shape(), Shape, "layer_norm_backward", "gradient ", shape_str(dy.shape()),
           " and input ", shape_str(x.shape()), " must have one shape");
  const RowsGeometry g = rows_geometry(x, normalized_shape);
  const DType cdt = compute_dtype(x.dtype());
  const Device dev = x.device();
  Tensor dyc = prep(dy, cdt), xc = prep(x, cdt), wc = prep(weight, cdt);
  Tensor dx = needs[0] ? Tensor::empty(x.shape(), cdt, dev) : Tensor();
  Tensor dw = needs[1] && weight.defined() ? Tensor::empty(normalized_shape, cdt, dev) : Tensor();
  Tensor db = needs[2] ? Tensor::empty(normalized_shape, cdt, dev) : Tensor();
  if (g.rows > 0 && g.D > 0) {
    Tensor dx2 = view_as(dx, {g.rows, g.D}), dw1 = view_as(dw, {g.D}), db1 = view_as(db, {g.D});
    kernel<LayerNormBackwardKernel>(OpId::layer_norm_backward, dev)(
        view_as(dyc, {g.rows, g.D}), view_as(xc, {g.rows, g.D}), prep(mean, cdt), prep(rstd, cdt), wc, dx2, dw1, db1);
  } else {  // nothing to sum over: zero parameter gradients (dx is empty)
    if (dw.defined()) fill_(dw, 0.0);
    if (db.defined()) fill_(db, 0.0);
  }
  return {cast_back(dx, x.dtype()), cast_back(dw, x.dtype()), cast_back(db, x.dtype())};
}

NormOutput batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                      const Tensor& bias, bool training, double momentum, double eps) {
  check_input(x, "batch_norm");
  MM_CHECK(x.dim() >= 2, Shape, "batch_norm", "expected an input [N, C, ...] with at least 2 dims, got ",
           shape_str(x.shape()));
  const ChannelGeometry g = channel_geometry(x);
  const Shape cshape{g.C};
  check_param(weight, x, cshape, "batch_norm", "weight");
  check_param(bias, x, cshape, "batch_norm", "bias");
  MM_CHECK(running_mean.defined() == running_var.defined(), Value, "batch_norm",
           "running_mean and running_var must be given together");
  for (const Tensor* t : {&running_mean, &running_var}) {
    if (!t->defined()) continue;
    common_device({&x, t}, "batch_norm");
    MM_CHECK(is_floating(t->dtype()), DType, "batch_norm", "running statistics must be floating, got ",
             dtype_name(t->dtype()));
    MM_CHECK(t->shape() == cshape, Shape, "batch_norm", "running statistics must have shape ", shape_str(cshape),
             ", got ", shape_str(t->shape()));
  }
  check_eps(eps, "batch_norm");
  MM_CHECK(std::isfinite(momentum), Value, "batch_norm", "momentum must be finite, got ", momentum);
  if (training) {
    MM_CHECK(g.N * g.S > 1, Value, "batch_norm", "expected more than 1 value per channel when training, got input ",
             shape_str(x.shape()));
  } else {
    MM_CHECK(running_mean.defined(), Value, "batch_norm", "running_mean and running_var are required in eval mode");
  }
  const DType cdt = compute_dtype(x.dtype());
  const Device dev = x.device();
  Tensor xc = prep(x, cdt), wc = prep(weight, cdt), bc = prep(bias, cdt);
  // The kernel reads (eval) or updates (training) the running statistics in place; when they had to
  // be converted or made contiguous for it, the update is copied back into the caller's tensors.
  Tensor rm = prep(running_mean, cdt), rv = prep(running_var, cdt);
  NormOutput r{Tensor::empty(x.shape(), cdt, dev), Tensor::empty(cshape, cdt, dev), Tensor::empty(cshape, cdt, dev)};
  if (g.C > 0) {
    Tensor y3 = view_as(r.y, {g.N, g.C, g.S});
    kernel<BatchNormKernel>(OpId::batch_norm, dev)(view_as(xc, {g.N, g.C, g.S}), wc, bc, rm, rv, training, momentum,
                                                   eps, y3, r.mean, r.rstd);
  }
  if (training && rm.defined() && !rm.same(running_mean)) copy_(running_mean, rm);
  if (training && rv.defined() && !rv.same(running_var)) copy_(running_var, rv);
  r.y = to_dtype(r.y, x.dtype());
  return r;
}

NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, bool training, NormNeeds needs) {
  MM_CHECK(dy.shape() == x.shape(), Shape, "batch_norm_backward", "gradient ", shape_str(dy.shape()),
           " and input ", shape_str(x.shape()), " must have one shape");
  const ChannelGeometry g = channel_geometry(x);
  const Shape cshape{g.C};
  const DType cdt = compute_dtype(x.dtype());
  const Device dev = x.device();
  Tensor dyc = prep(dy, cdt), xc = prep(x, cdt), wc = prep(weight, cdt);
  Tensor dx = needs[0] ? Tensor::empty(x.shape(), cdt, dev) : Tensor();
  Tensor dw = needs[1] && weight.defined() ? Tensor::empty(cshape, cdt, dev) : Tensor();
  Tensor db = needs[2] ? Tensor::empty(cshape, cdt, dev) : Tensor();
  if (g.C > 0) {
    const Shape s3{g.N, g.C, g.S};
    Tensor dx3 = view_as(dx, s3);
    kernel<BatchNormBackwardKernel>(OpId::batch_norm_backward, dev)(
        view_as(dyc, s3), view_as(xc, s3), prep(mean, cdt), prep(rstd, cdt), wc, training, dx3, dw, db);
  }
  return {cast_back(dx, x.dtype()), cast_back(dw, x.dtype()), cast_back(db, x.dtype())};
}

}  // namespace mm::ops
