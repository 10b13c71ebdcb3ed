// Reductions and their gradients. A reduced gradient is viewed with the reduced dims kept (size 1)
// and broadcast back over them. Composite reductions (logsumexp, var, std, norm) compute their
// forward with framework ops under no-grad and record ONE node with a closed-form backward: fewer
// saved temporaries than recording every step, and control over the special points (a zero norm,
// an all −inf slice) where the step-by-step chain rule would produce NaN.
#include "autograd/grad/reduce.h"

#include <cmath>
#include <limits>
#include <numeric>

#include "autograd/autocast.h"
#include "autograd/grad/elementwise.h"
#include "autograd/grad/shape.h"

namespace mm {

namespace {

// g has the reduction's output shape; view it with the reduced dims kept (size 1).
Tensor keep(const Tensor& g, const ReduceGeometry& geo) { return ops::reshape(g, geo.keep_shape); }

Tensor expand_reduced(const Tensor& g, const ReduceGeometry& geo, const Shape& in_shape) {
  return ops::expand(keep(g, geo), in_shape);
}

// Gradient of max/min along one dim: g goes to the selected position of each slice. The mask
// compares the positions 0..n-1 along dim with the chosen index, so exactly one element per slice
// is selected even when several tie for the extreme (no double counting).
Tensor scatter_to_indices(const Tensor& g, const Tensor& indices, const ReduceGeometry& geo, const Shape& shape) {
  if (geo.dims.empty()) return ops::reshape(g, shape);  // 0-d input: its only element
  int64_t dim = geo.dims[0];
  std::vector<int64_t> pos(static_cast<size_t>(shape[dim]));
  std::iota(pos.begin(), pos.end(), int64_t{0});
  Shape pos_shape(shape.size(), 1);
  pos_shape[dim] = shape[dim];
  Tensor positions = ops::to_device(Tensor::from_vector(pos, pos_shape), g.device());
  Tensor mask = eq(positions, keep(indices, geo));  // broadcasts to the input's shape
  return where(mask, keep(g, geo), 0.0);
}

// Gradient of amax/amin (and full max/min): g split evenly among the elements equal to the result.
// `nan_ties`: a NaN result also selects the NaN inputs (torch.max(x)'s evenly_distribute_backward).
Tensor split_among_ties(const Tensor& g, const Tensor& x, const Tensor& y, const ReduceGeometry& geo, bool nan_ties) {
  Tensor yk = keep(y, geo);
  Tensor mask = eq(x, yk);
  if (nan_ties) mask = logical_or(mask, logical_and(ne(x, x), ne(yk, yk)));
  Tensor count = sum(mask, geo.dims, /*keepdim=*/true);
  return where(mask, div(keep(g, geo), count), 0.0);
}

Tensor sign(const Tensor& x) {
  return ops::to_dtype(gt(x, 0.0), x.dtype()) - ops::to_dtype(lt(x, 0.0), x.dtype());
}

void check_floating(const Tensor& x, const char* op) {
  MM_CHECK(x.defined(), Value, op, "undefined input");
  MM_CHECK(is_floating(x.dtype()), DType, op, "needs a floating dtype, got ", dtype_name(x.dtype()));
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  // Autocast's f32 list (autograd/autocast.h): an f16 sum overflows at 65504. mean goes through here.
  if (autocast_wants_f32(x)) [[unlikely]] return sum(autocast_to_f32(x), dims, keepdim);
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
  check_floating(x, "mean");
  ReduceGeometry geo = reduce_geometry(x, dims, keepdim, "mean");
  // mean of an empty reduction is NaN (0/0), as in PyTorch
  return div(sum(x, dims, keepdim), static_cast<double>(geo.reduced_numel));
}

// ---- extremes ----

namespace {
std::pair<Tensor, Tensor> extreme_dim(bool is_max, const Tensor& x, int64_t dim, bool keepdim) {
  const char* name = is_max ? "max" : "min";
  auto [values, indices] = is_max ? ops::max(x, dim, keepdim) : ops::min(x, dim, keepdim);
  if (needs_grad({x})) {
    ReduceGeometry geo = reduce_geometry(x, {dim}, keepdim, name);
    record(name, {x}, {values, indices}, [geo, shape = x.shape(), idx = saved(indices)](const GradContext& c) {
      return TensorList{scatter_to_indices(c.grad(0), idx, geo, shape)};
    });
  }
  return {values, indices};
}

Tensor extreme_dims(OpId op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool nan_ties) {
  const char* name = op_name(op);
  bool is_max = op == OpId::max || op == OpId::amax;
  Tensor y;
  if (op == OpId::max) y = ops::max(x);
  else if (op == OpId::min) y = ops::min(x);
  else y = is_max ? ops::amax(x, dims, keepdim) : ops::amin(x, dims, keepdim);
  if (needs_grad({x})) {
    ReduceGeometry geo = reduce_geometry(x, dims, keepdim, name);
    record(name, {x}, {y}, [geo, nan_ties, x = saved(x), y = saved(y)](const GradContext& c) {
      return TensorList{split_among_ties(c.grad(), x, y, geo, nan_ties)};
    });
  }
  return y;
}
}  // namespace

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) { return extreme_dim(true, x, dim, keepdim); }
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) { return extreme_dim(false, x, dim, keepdim); }
Tensor max(const Tensor& x) { return extreme_dims(OpId::max, x, {}, false, /*nan_ties=*/true); }
Tensor min(const Tensor& x) { return extreme_dims(OpId::min, x, {}, false, /*nan_ties=*/true); }
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme_dims(OpId::amax, x, dims, keepdim, false);
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme_dims(OpId::amin, x, dims, keepdim, false);
}
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return ops::argmax(x, dim, keepdim); }
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) { return ops::argmin(x, dim, keepdim); }
Tensor argmax(const Tensor& x) { return ops::argmax(x); }
Tensor argmin(const Tensor& x) { return ops::argmin(x); }

// ---- composites ----

Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  if (autocast_wants_f32(x)) [[unlikely]] return logsumexp(autocast_to_f32(x), dims, keepdim);  // f32 list
  MM_CHECK(x.defined(), Value, "logsumexp", "undefined input");
  ReduceGeometry geo = reduce_geometry(x, dims, keepdim, "logsumexp");
  Tensor xf = is_floating(x.dtype()) ? x : ops::to_dtype(x, DType::F32);  // integers give f32, as in PyTorch
  const double inf = std::numeric_limits<double>::infinity();
  Tensor y;
  {
    NoGradGuard no_grad;
    if (geo.reduced_numel == 0) {
      y = full(geo.out_shape, -inf, xf.dtype(), x.device());  // log of an empty sum
    } else {
      // Subtracting the maximum m keeps exp() from overflowing. An infinite m is replaced by 0: for a
      // slice of all −inf, x − m would be −inf − (−inf) = NaN, while x − 0 gives exp(−inf) = 0 and
      // log(0) = −inf; for a +inf element the result is +inf either way.
      Tensor m = amax(xf, dims, /*keepdim=*/true);
      m = masked_fill(m, eq(abs(m), inf), 0.0);
      y = ops::reshape(log(sum(exp(xf - m), dims, /*keepdim=*/true)) + m, geo.out_shape);
    }
  }
  if (needs_grad({x}))
    record("logsumexp", {x}, {y}, [geo, x = saved(x), y = saved(y)](const GradContext& c) {
      // d/dx log Σ exp(x) = exp(x − logsumexp(x)) = softmax(x) over the reduced dims
      return TensorList{keep(c.grad(), geo) * exp(x - keep(y, geo))};
    });
  return y;
}

namespace {
// var and std: two-pass (mean first, then the squared deviations), which avoids the catastrophic
// cancellation of E[x²] − E[x]².
Tensor var_std(const char* name, const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim,
               bool take_sqrt) {
  check_floating(x, name);
  ReduceGeometry geo = reduce_geometry(x, dims, keepdim, name);
  // PyTorch divides by max(N − correction, 0): a zero divisor gives inf/NaN rather than an error.
  double denom = static_cast<double>(std::max<int64_t>(geo.reduced_numel - correction, 0));
  Tensor dev, y;
  {
    NoGradGuard no_grad;
    dev = x - div(sum(x, dims, /*keepdim=*/true), static_cast<double>(geo.reduced_numel));
    y = div(sum(square(dev), dims, keepdim), denom);
    if (take_sqrt) y = sqrt(y);
  }
  if (needs_grad({x}))
    record(name, {x}, {y}, [geo, denom, take_sqrt, dev = saved(dev), y = saved(y)](const GradContext& c) {
      // d var / dx = 2 (x − mean) / denom (the mean's own dependence on x sums to zero);
      // d std / dx = d var / dx / (2 std).
      Tensor g = keep(c.grad(), geo);
      if (take_sqrt) return TensorList{g * dev / (keep(y, geo) * denom)};
      return TensorList{g * dev * (2.0 / denom)};
    });
  return y;
}
}  // namespace

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
  if (autocast_wants_f32(x)) [[unlikely]] return var(autocast_to_f32(x), dims, correction, keepdim);  // f32 list
  return var_std("var", x, dims, correction, keepdim, false);
}

Tensor std(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
  if (autocast_wants_f32(x)) [[unlikely]] return std(autocast_to_f32(x), dims, correction, keepdim);  // f32 list
  return var_std("std", x, dims, correction, keepdim, true);
}

Tensor norm(const Tensor& x, double p, const std::vector<int64_t>& dims, bool keepdim) {
  if (autocast_wants_f32(x)) [[unlikely]] return norm(autocast_to_f32(x), p, dims, keepdim);  // f32 list
  check_floating(x, "norm");
  MM_CHECK(!std::isnan(p), Value, "norm", "the order p is NaN");
  ReduceGeometry geo = reduce_geometry(x, dims, keepdim, "norm");
  MM_CHECK(!std::isinf(p) || geo.reduced_numel > 0, Shape, "norm",
           "the ", p > 0 ? "inf" : "-inf", "-norm over zero elements is undefined (input ", shape_str(x.shape()),
           ")");
  Tensor y;
  {
    NoGradGuard no_grad;
    if (p == 2) y = sqrt(sum(square(x), dims, keepdim));
    else if (p == 1) y = sum(abs(x), dims, keepdim);
    else if (std::isinf(p)) y = p > 0 ? amax(abs(x), dims, keepdim) : amin(abs(x), dims, keepdim);
    else if (p == 0) y = ops::to_dtype(sum(ne(x, 0.0), dims, keepdim), x.dtype());  // counts non-zeros
    else y = pow(sum(pow(abs(x), p), dims, keepdim), 1.0 / p);
  }
  if (needs_grad({x}))
    record("norm", {x}, {y}, [p, geo, x = saved(x), y = saved(y)](const GradContext& c) {
      // Formulas of PyTorch's norm_backward: d‖x‖_p/dx = sgn(x) |x|^(p−1) / ‖x‖^(p−1).
      Tensor g = keep(c.grad(), geo), n = keep(y, geo);
      if (p == 0) return TensorList{zeros_like(x)};  // piecewise constant
      if (p == 1) return TensorList{sign(x) * g};
      if (p == 2) return TensorList{x * masked_fill(g / n, eq(n, 0.0), 0.0)};  // 0 at a zero norm
      if (std::isinf(p)) {
        // like amax/amin of |x|: split evenly among the elements that attain the norm
        Tensor mask = eq(abs(x), n);
        return TensorList{sign(x) * where(mask, g / sum(mask, geo.dims, true), 0.0)};
      }
      if (p < 1) {  // |x|^(p−1) is infinite at 0: take 0 there
        Tensor scaled = masked_fill(sign(x) * pow(abs(x), p - 1), eq(x, 0.0), 0.0);
        return TensorList{scaled * g * pow(n, 1 - p)};
      }
      Tensor scaled = p < 2 ? sign(x) * pow(abs(x), p - 1) : x * pow(abs(x), p - 2);
      return TensorList{scaled * masked_fill(g / pow(n, p - 1), eq(n, 0.0), 0.0)};
    });
  return y;
}

}  // namespace mm
