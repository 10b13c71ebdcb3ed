// Element-wise ops (no autograd): unary math, binary arithmetic with broadcasting and type
// promotion, comparisons, where. The differentiable versions users call are in autograd/functions.h.
#pragma once

#include "ops/kernels.h"

namespace mm::ops {

// The dtype a unary float op computes in: f32/f64 as is; f16/bf16 compute in f32; integers → f32.
DType unary_compute_dtype(DType t);

Tensor unary(OpId op, const Tensor& x, const UnaryArgs& args = {});
Tensor unary_backward(OpId op, const Tensor& grad, const Tensor& x, const Tensor& y, const UnaryArgs& args = {});
Tensor binary(OpId op, const Tensor& a, const Tensor& b);
Tensor compare(OpId op, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& x);

// A 0-d tensor holding v, with the given dtype and device.
Tensor scalar_tensor(double v, DType dtype, Device device);
// The dtype a Python-style scalar takes next to tensor t (a float scalar does not upcast f32 to f64,
// but makes an integer tensor f32), as in PyTorch's wrapped-number rule.
DType scalar_dtype_for(const Tensor& t, double v);

}  // namespace mm::ops
