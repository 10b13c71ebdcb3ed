// Kernel signatures, one per op family. A front end (ops/<family>.cpp) validates its arguments,
// allocates the outputs and then calls the backend's function of this type through the registry.
// Kernels may assume: all tensors on one device, dtypes as the front end documents, outputs
// allocated with the right shape (contiguous unless noted). Kernels never throw from inside a
// parallel region: anything that can fail is checked by the front end first.
#pragma once

#include "ops/math/unary_functors.h"
#include "ops/registry.h"
#include "runtime/tensor.h"

namespace mm {

// out = F(x) for the unary functor of `op`; x and out: same shape, f32 or f64, out contiguous.
using UnaryKernel = void (*)(OpId op, const Tensor& x, Tensor& out, const UnaryArgs& args);
// out = F::bwd(g, x, y) for the forward op `op`; all four tensors: same shape and dtype.
using UnaryBackwardKernel = void (*)(OpId op, const Tensor& g, const Tensor& x, const Tensor& y, Tensor& out,
                                     const UnaryArgs& args);
// out = F(a, b) with broadcasting; a, b and out share a dtype; out has the broadcast shape.
using BinaryKernel = void (*)(OpId op, const Tensor& a, const Tensor& b, Tensor& out);
// out(bool) = F(a, b) with broadcasting; a and b share a dtype.
using CompareKernel = void (*)(OpId op, const Tensor& a, const Tensor& b, Tensor& out);
// out = cond ? a : b with broadcasting; cond bool; a, b and out share a dtype.
using WhereKernel = void (*)(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out);
// out(bool) = !x for a bool tensor x.
using LogicalNotKernel = void (*)(const Tensor& x, Tensor& out);
// dst = src element-wise, converting dtype; same shape, same device, any strides.
using CopyKernel = void (*)(const Tensor& src, Tensor& dst);
// Fills a tensor (any strides, any dtype) with a value.
using FillKernel = void (*)(Tensor& dst, double value);

}  // namespace mm
