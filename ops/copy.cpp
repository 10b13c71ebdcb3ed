// Copies between dtypes, layouts and devices. Every layout change in the framework (contiguous(),
// to(dtype), to(device), cat into a slice, ...) funnels into copy_, whose backends are one strided
// conversion loop per device (ops/cpu/copy.cpp, ops/cuda/copy.cu).
#include "ops/copy.h"

namespace mm::ops {

void copy_(const Tensor& dst_handle, const Tensor& src) {
  Tensor dst = dst_handle;
  MM_CHECK(dst.defined() && src.defined(), Value, "copy", "undefined tensor");
  MM_CHECK(dst.shape() == src.shape(), Shape, "copy", "destination ", shape_str(dst.shape()), " and source ",
           shape_str(src.shape()), " differ");
  if (dst.numel() == 0) return;
  if (dst.device() == src.device()) {
    kernel<CopyKernel>(OpId::copy, dst.device())(src, dst);
    return;
  }
  // Across devices: make the source contiguous in the destination's dtype on its own device, move
  // the bytes, then (if dst is strided) scatter on the destination device.
  Tensor s = src;
  if (s.dtype() != dst.dtype() || !s.is_contiguous()) {
    Tensor tmp = Tensor::empty(s.shape(), dst.dtype(), s.device());
    kernel<CopyKernel>(OpId::copy, s.device())(s, tmp);
    s = tmp;
  }
  if (dst.is_contiguous()) {
    copy_bytes(dst.raw_data(), dst.device(), s.raw_data(), s.device(), s.numel() * s.element_size());
  } else {
    Tensor staged = Tensor::empty(s.shape(), dst.dtype(), dst.device());
    copy_bytes(staged.raw_data(), dst.device(), s.raw_data(), s.device(), s.numel() * s.element_size());
    kernel<CopyKernel>(OpId::copy, dst.device())(staged, dst);
  }
}

Tensor contiguous(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  copy_(out, t);
  return out;
}

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.shape(), dtype, t.device());
  copy_(out, t);
  return out;
}

Tensor to_device(const Tensor& t, Device device) {
  if (t.device() == device) return t;
  Tensor out = Tensor::empty(t.shape(), t.dtype(), device);
  copy_(out, t);
  return out;
}

void fill_(const Tensor& t, double value) {
  if (t.numel() == 0) return;
  Tensor dst = t;
  kernel<FillKernel>(OpId::full, t.device())(dst, value);
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  fill_(t, value);
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }

}  // namespace mm::ops
