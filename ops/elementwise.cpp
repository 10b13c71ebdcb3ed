// Front ends of the element-wise family: dtype promotion, broadcasting, output allocation; then
// dispatch through the registry to the backend loop (ops/cpu/elementwise.cpp, ops/cuda/elementwise.cu).
#include "ops/elementwise.h"

#include <cmath>

#include "ops/common/broadcast.h"
#include "ops/copy.h"

namespace mm::ops {

DType unary_compute_dtype(DType t) { return t == DType::F64 ? DType::F64 : DType::F32; }

namespace {
// Results of f16/bf16 inputs are returned in the input's dtype, computed in f32.
DType unary_result_dtype(DType t) { return is_floating(t) ? t : DType::F32; }

void check_defined(const Tensor& t, const char* op, const char* what) {
  MM_CHECK(t.defined(), Value, op, what, " is an undefined tensor");
}
}  // namespace

Tensor unary(OpId op, const Tensor& x, const UnaryArgs& args) {
  const char* name = op_name(op);
  check_defined(x, name, "input");
  DType cdt = unary_compute_dtype(x.dtype());
  Tensor xin = to_dtype(x, cdt);
  Tensor out = Tensor::empty(x.shape(), cdt, x.device());
  if (out.numel() > 0) kernel<UnaryKernel>(op, x.device())(op, xin, out, args);
  return to_dtype(out, unary_result_dtype(x.dtype()));
}

Tensor unary_backward(OpId op, const Tensor& grad, const Tensor& x, const Tensor& y, const UnaryArgs& args) {
  const char* name = op_name(op);
  MM_CHECK(grad.shape() == x.shape() && y.shape() == x.shape(), Shape, name,
           "backward: gradient ", shape_str(grad.shape()), ", input ", shape_str(x.shape()), " and output ",
           shape_str(y.shape()), " must have one shape");
  common_device({&grad, &x, &y}, name);
  DType cdt = unary_compute_dtype(promote_types(grad.dtype(), x.dtype()));
  Tensor g = to_dtype(grad, cdt), xi = to_dtype(x, cdt), yi = to_dtype(y, cdt);
  Tensor out = Tensor::empty(x.shape(), cdt, x.device());
  if (out.numel() > 0) kernel<UnaryBackwardKernel>(OpId::unary_backward, x.device())(op, g, xi, yi, out, args);
  return to_dtype(out, unary_result_dtype(x.dtype()));
}

Tensor binary(OpId op, const Tensor& a, const Tensor& b) {
  const char* name = op_name(op);
  check_defined(a, name, "first operand");
  check_defined(b, name, "second operand");
  Device dev = common_device({&a, &b}, name);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  DType dt = promote_types(a.dtype(), b.dtype());
  if (dt == DType::Bool) dt = DType::U8;
  // True division and pow of integers produce floats (torch.div semantics).
  if ((op == OpId::div || op == OpId::pow) && !is_floating(dt)) dt = DType::F32;
  DType compute = (dt == DType::F16 || dt == DType::BF16) ? DType::F32 : dt;
  Tensor ac = to_dtype(a, compute), bc = to_dtype(b, compute);
  Tensor out = Tensor::empty(shape, compute, dev);
  if (out.numel() > 0) kernel<BinaryKernel>(op, dev)(op, ac, bc, out);
  return to_dtype(out, dt);
}

Tensor compare(OpId op, const Tensor& a, const Tensor& b) {
  const char* name = op_name(op);
  check_defined(a, name, "first operand");
  check_defined(b, name, "second operand");
  Device dev = common_device({&a, &b}, name);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  DType dt = promote_types(a.dtype(), b.dtype());
  if (dt == DType::Bool) dt = DType::U8;
  if (dt == DType::F16 || dt == DType::BF16) dt = DType::F32;
  Tensor ac = to_dtype(a, dt), bc = to_dtype(b, dt);
  Tensor out = Tensor::empty(shape, DType::Bool, dev);
  if (out.numel() > 0) kernel<CompareKernel>(op, dev)(op, ac, bc, out);
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined(cond, "where", "condition");
  Device dev = common_device({&cond, &a, &b}, "where");
  MM_CHECK(cond.dtype() == DType::Bool, DType, "where", "condition must be bool, got ", dtype_name(cond.dtype()));
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  DType dt = promote_types(a.dtype(), b.dtype());
  Tensor ac = to_dtype(a, dt), bc = to_dtype(b, dt);
  Tensor out = Tensor::empty(shape, dt, dev);
  if (out.numel() > 0) kernel<WhereKernel>(OpId::where, dev)(cond, ac, bc, out);
  return out;
}

Tensor logical_not(const Tensor& x) {
  check_defined(x, "logical_not", "input");
  Tensor xb = x.dtype() == DType::Bool ? x : compare(OpId::ne, x, scalar_tensor(0, x.dtype(), x.device()));
  Tensor out = Tensor::empty(x.shape(), DType::Bool, x.device());
  if (out.numel() > 0) kernel<LogicalNotKernel>(OpId::logical_not, x.device())(xb, out);
  return out;
}

Tensor scalar_tensor(double v, DType dtype, Device device) { return full({}, v, dtype, device); }

DType scalar_dtype_for(const Tensor& t, double v) {
  if (is_floating(t.dtype())) return t.dtype();
  if (std::floor(v) != v) return DType::F32;
  return t.dtype() == DType::Bool ? DType::I64 : t.dtype();
}

}  // namespace mm::ops
