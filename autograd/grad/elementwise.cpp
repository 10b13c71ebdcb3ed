// Element-wise functions: forward through ops/, backward formulas beside them, written with
// framework ops. Broadcasting needs no care here: the engine sums each gradient back to its input's
// shape.
#include "autograd/grad/elementwise.h"

#include "autograd/autocast.h"
#include "ops/common/broadcast.h"

namespace mm {

namespace {

Tensor unary_op(OpId op, const Tensor& x, const UnaryArgs& args = {}) {
  Tensor y = ops::unary(op, x, args);
  if (needs_grad({x})) {
    record(op_name(op), {x}, {y}, [op, args, x = saved(x), y = saved(y)](const GradContext& c) {
      return TensorList{ops::unary_backward(op, c.grad(), x, y, args)};
    });
  }
  return y;
}

}  // namespace

#define MM_DEFINE_UNARY(name) \
  Tensor name(const Tensor& x) { return unary_op(OpId::name, x); }
// On autocast's f32 list (autograd/autocast.h): an f16/bf16 input is cast up first.
#define MM_DEFINE_UNARY_F32(name)                                                              \
  Tensor name(const Tensor& x) {                                                               \
    if (autocast_wants_f32(x)) [[unlikely]] return unary_op(OpId::name, autocast_to_f32(x)); \
    return unary_op(OpId::name, x);                                                            \
  }
MM_DEFINE_UNARY(neg)
MM_DEFINE_UNARY(abs)
MM_DEFINE_UNARY_F32(exp)
MM_DEFINE_UNARY_F32(log)
MM_DEFINE_UNARY_F32(log1p)
MM_DEFINE_UNARY(sqrt)
MM_DEFINE_UNARY_F32(rsqrt)
MM_DEFINE_UNARY_F32(reciprocal)
MM_DEFINE_UNARY(square)
MM_DEFINE_UNARY(sin)
MM_DEFINE_UNARY(cos)
MM_DEFINE_UNARY(tanh)
MM_DEFINE_UNARY(sigmoid)
MM_DEFINE_UNARY(relu)
MM_DEFINE_UNARY(relu6)
MM_DEFINE_UNARY(gelu)
MM_DEFINE_UNARY(gelu_tanh)
MM_DEFINE_UNARY(silu)
MM_DEFINE_UNARY(logsigmoid)
MM_DEFINE_UNARY(erf)
#undef MM_DEFINE_UNARY
#undef MM_DEFINE_UNARY_F32

Tensor pow_scalar(const Tensor& x, double exponent) {
  UnaryArgs a;
  a.a = exponent;
  if (autocast_wants_f32(x)) [[unlikely]] return unary_op(OpId::pow_scalar, autocast_to_f32(x), a);  // f32 list
  return unary_op(OpId::pow_scalar, x, a);
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  MM_CHECK(beta > 0, Value, "softplus", "beta must be positive, got ", beta);
  UnaryArgs a;
  a.a = beta;
  a.b = threshold;
  if (autocast_wants_f32(x)) [[unlikely]] return unary_op(OpId::softplus, autocast_to_f32(x), a);  // f32 list
  return unary_op(OpId::softplus, x, a);
}

Tensor clamp(const Tensor& x, double min, double max) {
  MM_CHECK(!(min > max), Value, "clamp", "min (", min, ") is greater than max (", max, ")");
  UnaryArgs a;
  a.a = min;
  a.b = max;
  return unary_op(OpId::clamp, x, a);
}

Tensor clamp_min(const Tensor& x, double min) {
  UnaryArgs a;
  a.a = min;
  a.has_b = false;
  return unary_op(OpId::clamp, x, a);
}

Tensor clamp_max(const Tensor& x, double max) {
  UnaryArgs a;
  a.b = max;
  a.has_a = false;
  return unary_op(OpId::clamp, x, a);
}

Tensor scalar_like(const Tensor& t, double v) { return ops::scalar_tensor(v, ops::scalar_dtype_for(t, v), t.device()); }

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = ops::binary(OpId::add, a, b);
  if (needs_grad({a, b})) record("add", {a, b}, {y}, [](const GradContext& c) { return TensorList{c.grad(), c.grad()}; });
  return y;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = ops::binary(OpId::sub, a, b);
  if (needs_grad({a, b}))
    record("sub", {a, b}, {y}, [](const GradContext& c) {
      return TensorList{c.grad(), c.needs_grad(1) ? neg(c.grad()) : Tensor()};
    });
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = ops::binary(OpId::mul, a, b);
  if (needs_grad({a, b}))
    record("mul", {a, b}, {y}, [a = saved(a), b = saved(b)](const GradContext& c) {
      return TensorList{c.needs_grad(0) ? mul(c.grad(), b) : Tensor(), c.needs_grad(1) ? mul(c.grad(), a) : Tensor()};
    });
  return y;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = ops::binary(OpId::div, a, b);
  if (needs_grad({a, b}))
    record("div", {a, b}, {y}, [b = saved(b), y = saved(y)](const GradContext& c) {
      Tensor ga = c.grad() / b;  // d(a/b)/da = 1/b;  d(a/b)/db = -a/b² = -y/b
      return TensorList{c.needs_grad(0) ? ga : Tensor(), c.needs_grad(1) ? neg(ga * y) : Tensor()};
    });
  return y;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  if (autocast_wants_f32(a) || autocast_wants_f32(b)) [[unlikely]]  // autocast's f32 list
    return pow(autocast_to_f32(a), autocast_to_f32(b));
  Tensor y = ops::binary(OpId::pow, a, b);
  if (needs_grad({a, b}))
    record("pow", {a, b}, {y}, [a = saved(a), b = saved(b), y = saved(y)](const GradContext& c) {
      Tensor ga, gb;
      if (c.needs_grad(0)) ga = c.grad() * b * pow(a, b - 1.0);
      // d/db a^b = a^b·log a; PyTorch defines it as 0 where a == 0 and b >= 0 (log 0 = -inf).
      if (c.needs_grad(1)) gb = masked_fill(c.grad() * y * log(a), logical_and(eq(a, 0.0), ge(b, 0.0)), 0.0);
      return TensorList{ga, gb};
    });
  return y;
}

namespace {
// torch.maximum/minimum split the gradient evenly between equal inputs.
Tensor extremum(OpId op, const char* name, const Tensor& a, const Tensor& b) {
  Tensor y = ops::binary(op, a, b);
  if (needs_grad({a, b}))
    record(name, {a, b}, {y}, [op, a = saved(a), b = saved(b)](const GradContext& c) {
      Tensor g = c.grad();
      Tensor half = where(eq(a, b), g * 0.5, g);
      Tensor a_loses = op == OpId::maximum ? lt(a, b) : gt(a, b);
      Tensor b_loses = op == OpId::maximum ? lt(b, a) : gt(b, a);
      return TensorList{c.needs_grad(0) ? masked_fill(half, a_loses, 0.0) : Tensor(),
                        c.needs_grad(1) ? masked_fill(half, b_loses, 0.0) : Tensor()};
    });
  return y;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(OpId::maximum, "maximum", a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(OpId::minimum, "minimum", a, b); }

Tensor add(const Tensor& a, double b) { return add(a, scalar_like(a, b)); }
Tensor sub(const Tensor& a, double b) { return sub(a, scalar_like(a, b)); }
Tensor mul(const Tensor& a, double b) { return mul(a, scalar_like(a, b)); }
Tensor div(const Tensor& a, double b) { return div(a, scalar_like(a, b)); }
Tensor pow(const Tensor& a, double b) { return pow_scalar(a, b); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor y = ops::where(cond, a, b);
  if (needs_grad({a, b}))
    record("where", {cond, a, b}, {y}, [cond = saved(cond)](const GradContext& c) {
      Tensor z = scalar_like(c.grad(), 0.0);
      return TensorList{Tensor(), c.needs_grad(1) ? where(cond, c.grad(), z) : Tensor(),
                        c.needs_grad(2) ? where(cond, z, c.grad()) : Tensor()};
    });
  return y;
}

Tensor where(const Tensor& cond, const Tensor& a, double b) { return where(cond, a, scalar_like(a, b)); }

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  MM_CHECK(mask.dtype() == DType::Bool, DType, "masked_fill", "mask must be bool, got ", dtype_name(mask.dtype()));
  Shape out = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  MM_CHECK(out == x.shape(), Shape, "masked_fill", "mask ", shape_str(mask.shape()), " must broadcast to the input ",
           shape_str(x.shape()));
  return where(mask, scalar_like(x, value), x);
}

#define MM_DEFINE_COMPARE(name)                                                                   \
  Tensor name(const Tensor& a, const Tensor& b) { return ops::compare(OpId::name, a, b); }
MM_DEFINE_COMPARE(eq)
MM_DEFINE_COMPARE(ne)
MM_DEFINE_COMPARE(lt)
MM_DEFINE_COMPARE(le)
MM_DEFINE_COMPARE(gt)
MM_DEFINE_COMPARE(ge)
MM_DEFINE_COMPARE(logical_and)
MM_DEFINE_COMPARE(logical_or)
MM_DEFINE_COMPARE(logical_xor)
#undef MM_DEFINE_COMPARE
#define MM_DEFINE_COMPARE_SCALAR(name) \
  Tensor name(const Tensor& a, double b) { return ops::compare(OpId::name, a, scalar_like(a, b)); }
MM_DEFINE_COMPARE_SCALAR(eq)
MM_DEFINE_COMPARE_SCALAR(ne)
MM_DEFINE_COMPARE_SCALAR(lt)
MM_DEFINE_COMPARE_SCALAR(le)
MM_DEFINE_COMPARE_SCALAR(gt)
MM_DEFINE_COMPARE_SCALAR(ge)
#undef MM_DEFINE_COMPARE_SCALAR
Tensor logical_not(const Tensor& x) { return ops::logical_not(x); }

Tensor clone(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  ops::copy_(y, x);
  if (needs_grad({x})) record("clone", {x}, {y}, [](const GradContext& c) { return TensorList{c.grad()}; });
  return y;
}

Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : clone(x); }

Tensor to(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor y = ops::to_dtype(x, dtype);
  // The engine casts the gradient back to the input's dtype.
  if (needs_grad({x}) && is_floating(dtype))
    record("to_dtype", {x}, {y}, [](const GradContext& c) { return TensorList{c.grad()}; });
  return y;
}

Tensor to(const Tensor& x, Device device) {
  if (x.device() == device) return x;
  Tensor y = ops::to_device(x, device);
  if (needs_grad({x}))
    record("to_device", {x}, {y}, [src = x.device()](const GradContext& c) {
      return TensorList{ops::to_device(c.grad(), src)};
    });
  return y;
}

}  // namespace mm
