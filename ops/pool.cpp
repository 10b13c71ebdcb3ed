// Pooling front ends: validation and output sizes (PyTorch's rules), dtype handling (f16/bf16
// computed in f32), then the kernels of ops/cpu/pool.cpp and ops/cuda/pool.cu.
#include "ops/pool.h"

#include "ops/copy.h"

namespace mm {

namespace {

DType pool_compute_dtype(DType t) { return t == DType::F64 ? DType::F64 : DType::F32; }

std::string pair_str(const std::array<int64_t, 2>& a) { return detail::concat("(", a[0], ", ", a[1], ")"); }

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// PyTorch's pooling_output_shape: floor (or ceil) of the number of window positions; with ceil_mode
// the last window must still start inside the input or its left padding.
int64_t pool_output_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dilation, bool ceil_mode) {
  int64_t out = floor_div(in + 2 * pad - dilation * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

void check_input_shape(const Shape& x, const char* op) {
  MM_CHECK(x.size() == 3 || x.size() == 4, Shape, op, "expected a 3-d [C,H,W] or 4-d [N,C,H,W] input, got ", shape_str(x));
  size_t lead = x.size() - 3;
  MM_CHECK(x[lead] > 0 && x[lead + 1] > 0 && x[lead + 2] > 0, Shape, op, "input ", shape_str(x),
           " has an empty C, H or W dimension (only the batch may be 0)");
}

void check_floating(const Tensor& x, const char* op) {
  MM_CHECK(x.defined(), Value, op, "undefined input");
  MM_CHECK(is_floating(x.dtype()), DType, op, "needs a floating dtype, got ", dtype_name(x.dtype()));
}

// The incoming gradient must have the forward output's shape, a floating dtype.
void check_grad(const Tensor& grad_out, const Shape& out_shape, const char* op) {
  check_floating(grad_out, op);
  MM_CHECK(grad_out.shape() == out_shape, Shape, op, "grad_out must have the output shape ", shape_str(out_shape), ", got ",
           shape_str(grad_out.shape()));
}

Tensor prepare(const Tensor& t, DType ct) { return ops::contiguous(ops::to_dtype(t, ct)); }

}  // namespace

Shape pool2d_output_shape(const Shape& x, const Pool2dGeometry& g) {
  Shape out = x;
  out[out.size() - 2] = g.OH;
  out[out.size() - 1] = g.OW;
  return out;
}

Pool2dGeometry pool2d_geometry(const Shape& x, std::array<int64_t, 2> kernel_size, std::array<int64_t, 2> stride,
                               std::array<int64_t, 2> padding, std::array<int64_t, 2> dilation, bool ceil_mode,
                               const char* op) {
  check_input_shape(x, op);
  if (stride[0] == 0 && stride[1] == 0) stride = kernel_size;
  for (int i = 0; i < 2; ++i) {
    MM_CHECK(kernel_size[i] >= 1, Value, op, "kernel size must be >= 1, got ", pair_str(kernel_size));
    MM_CHECK(stride[i] >= 1, Value, op, "stride must be >= 1 (or {0,0} for the kernel size), got ", pair_str(stride));
    MM_CHECK(padding[i] >= 0, Value, op, "padding must be >= 0, got ", pair_str(padding));
    MM_CHECK(dilation[i] >= 1, Value, op, "dilation must be >= 1, got ", pair_str(dilation));
    MM_CHECK(padding[i] <= kernel_size[i] / 2, Value, op, "padding ", pair_str(padding),
             " must be at most half the kernel size ", pair_str(kernel_size));
  }
  Pool2dGeometry g;
  size_t lead = x.size() - 3;
  g.planes = (lead ? x[0] : 1) * x[lead];
  g.H = x[lead + 1];
  g.W = x[lead + 2];
  g.kH = kernel_size[0], g.kW = kernel_size[1];
  g.sH = stride[0], g.sW = stride[1];
  g.pH = padding[0], g.pW = padding[1];
  g.dH = dilation[0], g.dW = dilation[1];
  g.OH = pool_output_size(g.H, g.kH, g.pH, g.sH, g.dH, ceil_mode);
  g.OW = pool_output_size(g.W, g.kW, g.pW, g.sW, g.dW, ceil_mode);
  MM_CHECK(g.OH >= 1 && g.OW >= 1, Shape, op, "output size ", g.OH, "x", g.OW, " is too small: input ", shape_str(x),
           ", kernel ", pair_str(kernel_size), ", stride ", pair_str(stride), ", padding ", pair_str(padding), ", dilation ",
           pair_str(dilation));
  return g;
}

Pool2dGeometry adaptive_pool2d_geometry(const Shape& x, std::array<int64_t, 2> output_size, const char* op) {
  check_input_shape(x, op);
  MM_CHECK(output_size[0] >= 0 && output_size[1] >= 0, Value, op, "output_size must be >= 0, got ", pair_str(output_size));
  Pool2dGeometry g;
  size_t lead = x.size() - 3;
  g.planes = (lead ? x[0] : 1) * x[lead];
  g.H = x[lead + 1];
  g.W = x[lead + 2];
  g.OH = output_size[0];
  g.OW = output_size[1];
  return g;
}

namespace ops {

MaxPool2dResult max_pool2d_with_indices(const Tensor& x, std::array<int64_t, 2> kernel_size, std::array<int64_t, 2> stride,
                                        std::array<int64_t, 2> padding, std::array<int64_t, 2> dilation, bool ceil_mode) {
  check_floating(x, "max_pool2d");
  Pool2dGeometry g = pool2d_geometry(x.shape(), kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d");
  DType ct = pool_compute_dtype(x.dtype());
  Shape os = pool2d_output_shape(x.shape(), g);
  Tensor xc = prepare(x, ct);
  Tensor out = Tensor::empty(os, ct, x.device());
  Tensor idx = Tensor::empty(os, DType::I64, x.device());
  if (out.numel() > 0) kernel<MaxPool2dKernel>(OpId::max_pool2d, x.device())(xc, g, out, idx);
  return {to_dtype(out, x.dtype()), idx};
}

Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& input_shape,
                           std::array<int64_t, 2> kernel_size, std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                           std::array<int64_t, 2> dilation, bool ceil_mode) {
  const char* op = "max_pool2d_backward";
  Pool2dGeometry g = pool2d_geometry(input_shape, kernel_size, stride, padding, dilation, ceil_mode, op);
  Shape os = pool2d_output_shape(input_shape, g);
  check_grad(grad_out, os, op);
  MM_CHECK(indices.defined() && indices.dtype() == DType::I64 && indices.shape() == os, Shape, op,
           "indices must be i64 with the output shape ", shape_str(os));
  MM_CHECK(indices.device() == grad_out.device(), Device, op, "indices are on ", indices.device().str(),
           " but grad_out is on ", grad_out.device().str());
  DType ct = pool_compute_dtype(grad_out.dtype());
  Tensor gc = prepare(grad_out, ct);
  Tensor ic = contiguous(indices);
  if (ic.device().is_cpu()) {
    // Range-check before the parallel scatter (CUDA kernels skip out-of-range entries instead).
    const int64_t* p = ic.data<int64_t>();
    for (int64_t i = 0, n = ic.numel(); i < n; ++i)
      MM_CHECK(p[i] >= -1 && p[i] < g.H * g.W, Index, op, "index ", p[i], " at position ", i,
               " is outside the input plane of ", g.H, "x", g.W, " elements");
  }
  Tensor gx = Tensor::empty(input_shape, ct, grad_out.device());
  if (gx.numel() > 0) kernel<MaxPool2dBackwardKernel>(OpId::max_pool2d_backward, gx.device())(gc, ic, g, gx);
  return to_dtype(gx, grad_out.dtype());
}

Tensor avg_pool2d(const Tensor& x, std::array<int64_t, 2> kernel_size, std::array<int64_t, 2> stride,
                  std::array<int64_t, 2> padding, bool ceil_mode, bool count_include_pad) {
  check_floating(x, "avg_pool2d");
  Pool2dGeometry g = pool2d_geometry(x.shape(), kernel_size, stride, padding, {1, 1}, ceil_mode, "avg_pool2d");
  g.count_include_pad = count_include_pad;
  DType ct = pool_compute_dtype(x.dtype());
  Tensor xc = prepare(x, ct);
  Tensor out = Tensor::empty(pool2d_output_shape(x.shape(), g), ct, x.device());
  if (out.numel() > 0) kernel<AvgPool2dKernel>(OpId::avg_pool2d, x.device())(OpId::avg_pool2d, xc, g, out);
  return to_dtype(out, x.dtype());
}

Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, std::array<int64_t, 2> kernel_size,
                           std::array<int64_t, 2> stride, std::array<int64_t, 2> padding, bool ceil_mode,
                           bool count_include_pad) {
  const char* op = "avg_pool2d_backward";
  Pool2dGeometry g = pool2d_geometry(input_shape, kernel_size, stride, padding, {1, 1}, ceil_mode, op);
  g.count_include_pad = count_include_pad;
  check_grad(grad_out, pool2d_output_shape(input_shape, g), op);
  DType ct = pool_compute_dtype(grad_out.dtype());
  Tensor gc = prepare(grad_out, ct);
  Tensor gx = Tensor::empty(input_shape, ct, grad_out.device());
  if (gx.numel() > 0)
    kernel<AvgPool2dBackwardKernel>(OpId::avg_pool2d_backward, gx.device())(OpId::avg_pool2d, gc, g, gx);
  return to_dtype(gx, grad_out.dtype());
}

Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size) {
  check_floating(x, "adaptive_avg_pool2d");
  Pool2dGeometry g = adaptive_pool2d_geometry(x.shape(), output_size, "adaptive_avg_pool2d");
  DType ct = pool_compute_dtype(x.dtype());
  Tensor xc = prepare(x, ct);
  Tensor out = Tensor::empty(pool2d_output_shape(x.shape(), g), ct, x.device());
  if (out.numel() > 0)
    kernel<AvgPool2dKernel>(OpId::adaptive_avg_pool2d, x.device())(OpId::adaptive_avg_pool2d, xc, g, out);
  return to_dtype(out, x.dtype());
}

Tensor adaptive_avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, std::array<int64_t, 2> output_size) {
  const char* op = "adaptive_avg_pool2d_backward";
  Pool2dGeometry g = adaptive_pool2d_geometry(input_shape, output_size, op);
  check_grad(grad_out, pool2d_output_shape(input_shape, g), op);
  DType ct = pool_compute_dtype(grad_out.dtype());
  Tensor gc = prepare(grad_out, ct);
  Tensor gx = Tensor::empty(input_shape, ct, grad_out.device());
  if (gx.numel() > 0) {
    if (gc.numel() == 0) fill_(gx, 0.0);  // output_size 0: nothing flows back
    else kernel<AvgPool2dBackwardKernel>(OpId::adaptive_avg_pool2d_backward, gx.device())(OpId::adaptive_avg_pool2d, gc, g, gx);
  }
  return to_dtype(gx, grad_out.dtype());
}

}  // namespace ops
}  // namespace mm
