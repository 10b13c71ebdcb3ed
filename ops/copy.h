// Copies and conversions (no autograd): contiguous(), to(dtype), to(device), fills, host data.
#pragma once

#include "ops/kernels.h"

namespace mm::ops {

// dst ← src (same shape; any dtypes, strides and devices). dst is a handle: its memory is written.
void copy_(const Tensor& dst, const Tensor& src);
Tensor contiguous(const Tensor& t);  // returns t itself when already contiguous
Tensor to_dtype(const Tensor& t, DType dtype);  // returns t itself when the dtype matches
Tensor to_device(const Tensor& t, Device device);
void fill_(const Tensor& t, double value);
Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = kCPU);
Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = kCPU);
Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = kCPU);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);

}  // namespace mm::ops
