// conv2d front end: validation, dtype handling (f16/bf16 computed in f32), unbatched inputs, empty
// tensors, then the backend kernels of ops/cpu/conv.cpp and ops/cuda/conv.cu.
#include "ops/conv.h"

#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/shape.h"

namespace mm {

namespace {

// f16/bf16 (and anything else floating but not f32/f64) compute in f32.
DType conv_compute_dtype(DType t) { return t == DType::F64 ? DType::F64 : DType::F32; }

std::string pair_str(const std::array<int64_t, 2>& a) {
  return detail::concat("(", a[0], ", ", a[1], ")");
}

// Contiguous, in the compute dtype, and 4-d (an unbatched [C,H,W] input becomes [1,C,H,W]).
Tensor prepare(const Tensor& t, DType ct) { return ops::contiguous(ops::to_dtype(t, ct)); }

}  // namespace

Conv2dGeometry conv2d_geometry(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p,
                               const char* op) {
  MM_CHECK(x.defined() && weight.defined(), Value, op, "undefined input or weight");
  MM_CHECK(x.dim() == 3 || x.dim() == 4, Shape, op, "expected a 3-d [C,H,W] or 4-d [N,C,H,W] input, got ",
           shape_str(x.shape()));
  MM_CHECK(weight.dim() == 4, Shape, op, "weight must be 4-d [O, C/groups, kH, kW], got ", shape_str(weight.shape()));
  MM_CHECK(is_floating(x.dtype()) && is_floating(weight.dtype()), DType, op, "needs floating dtypes, got input ",
           dtype_name(x.dtype()), " and weight ", dtype_name(weight.dtype()));
  MM_CHECK(x.dtype() == weight.dtype(), DType, op, "input and weight dtypes differ: ", dtype_name(x.dtype()), " vs ",
           dtype_name(weight.dtype()));
  MM_CHECK(x.device() == weight.device(), Device, op, "input is on ", x.device().str(), " but weight is on ",
           weight.device().str());
  for (int i = 0; i < 2; ++i) {
    MM_CHECK(p.stride[i] >= 1, Value, op, "stride must be >= 1, got ", pair_str(p.stride));
    MM_CHECK(p.padding[i] >= 0, Value, op, "padding must be >= 0, got ", pair_str(p.padding));
    MM_CHECK(p.dilation[i] >= 1, Value, op, "dilation must be >= 1, got ", pair_str(p.dilation));
  }
  MM_CHECK(p.groups >= 1, Value, op, "groups must be >= 1, got ", p.groups);

  Conv2dGeometry g;
  g.batched = x.dim() == 4;
  int64_t lead = g.batched ? 1 : 0;
  g.N = g.batched ? x.size(0) : 1;
  g.C = x.size(lead);
  g.H = x.size(lead + 1);
  g.W = x.size(lead + 2);
  g.O = weight.size(0);
  g.kH = weight.size(2);
  g.kW = weight.size(3);
  g.groups = p.groups;
  g.sH = p.stride[0], g.sW = p.stride[1];
  g.pH = p.padding[0], g.pW = p.padding[1];
  g.dH = p.dilation[0], g.dW = p.dilation[1];

  MM_CHECK(g.C % g.groups == 0, Shape, op, "input channels C=", g.C, " are not divisible by groups=", g.groups,
           " (input ", shape_str(x.shape()), ")");
  MM_CHECK(g.O % g.groups == 0, Shape, op, "output channels O=", g.O, " are not divisible by groups=", g.groups,
           " (weight ", shape_str(weight.shape()), ")");
  MM_CHECK(weight.size(1) == g.Cg(), Shape, op, "weight ", shape_str(weight.shape()), " expects ", weight.size(1),
           " input channels per group, but input ", shape_str(x.shape()), " with groups=", g.groups, " has ", g.Cg());
  MM_CHECK(g.kH >= 1 && g.kW >= 1, Shape, op, "weight ", shape_str(weight.shape()), " has an empty kernel");
  if (bias.defined()) {
    MM_CHECK(bias.dim() == 1 && bias.size(0) == g.O, Shape, op, "bias must be 1-d [", g.O, "] (one per output channel), got ",
             shape_str(bias.shape()));
    MM_CHECK(bias.dtype() == x.dtype(), DType, op, "bias dtype ", dtype_name(bias.dtype()), " differs from input dtype ",
             dtype_name(x.dtype()));
    MM_CHECK(bias.device() == x.device(), Device, op, "bias is on ", bias.device().str(), " but input is on ",
             x.device().str());
  }
  // The dilated kernel must fit inside the padded input (else the output would be empty).
  int64_t ekH = g.dH * (g.kH - 1) + 1, ekW = g.dW * (g.kW - 1) + 1;
  MM_CHECK(g.H + 2 * g.pH >= ekH && g.W + 2 * g.pW >= ekW, Shape, op, "kernel size (dilated) ", ekH, "x", ekW,
           " exceeds the padded input size ", g.H + 2 * g.pH, "x", g.W + 2 * g.pW, " (input ", shape_str(x.shape()),
           ", weight ", shape_str(weight.shape()), ", padding ", pair_str(p.padding), ", dilation ",
           pair_str(p.dilation), ")");
  g.OH = (g.H + 2 * g.pH - ekH) / g.sH + 1;
  g.OW = (g.W + 2 * g.pW - ekW) / g.sW + 1;
  return g;
}

namespace ops {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  Conv2dGeometry g = conv2d_geometry(x, weight, bias, p, "conv2d");
  DType ct = conv_compute_dtype(x.dtype());
  Tensor xc = reshape(prepare(x, ct), {g.N, g.C, g.H, g.W});
  Tensor wc = prepare(weight, ct);
  Tensor bc = bias.defined() ? prepare(bias, ct) : Tensor();
  Tensor out = Tensor::empty({g.N, g.O, g.OH, g.OW}, ct, x.device());
  if (out.numel() > 0) {
    if (xc.numel() == 0 || wc.numel() == 0) {
      // No input channels (C = 0) or an empty spatial input that only padding covers: bias only.
      fill_(out, 0.0);
      if (bc.defined()) out = binary(OpId::add, out, reshape(bc, {g.O, 1, 1}));
    } else {
      kernel<Conv2dKernel>(OpId::conv2d, x.device())(xc, wc, bc.defined() ? &bc : nullptr, g, out);
    }
  }
  if (!g.batched) out = reshape(out, {g.O, g.OH, g.OW});
  return to_dtype(out, x.dtype());
}

Conv2dGrads conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Conv2dParams& p,
                            std::array<bool, 3> needs) {
  Conv2dGeometry g = conv2d_geometry(x, weight, Tensor(), p, "conv2d_backward");
  Shape out_shape = g.batched ? Shape{g.N, g.O, g.OH, g.OW} : Shape{g.O, g.OH, g.OW};
  MM_CHECK(grad_out.defined() && grad_out.shape() == out_shape, Shape, "conv2d_backward", "grad_out must have the output shape ",
           shape_str(out_shape), ", got ", grad_out.defined() ? shape_str(grad_out.shape()) : "undefined");
  MM_CHECK(grad_out.device() == x.device(), Device, "conv2d_backward", "grad_out is on ", grad_out.device().str(),
           " but input is on ", x.device().str());
  DType ct = conv_compute_dtype(x.dtype());
  Tensor gc = reshape(prepare(grad_out, ct), {g.N, g.O, g.OH, g.OW});
  Tensor xc = reshape(prepare(x, ct), {g.N, g.C, g.H, g.W});
  Tensor wc = prepare(weight, ct);

  Conv2dGrads r;
  if (needs[0]) r.input = Tensor::empty({g.N, g.C, g.H, g.W}, ct, x.device());
  if (needs[1]) r.weight = Tensor::empty(weight.shape(), ct, x.device());
  if (needs[2]) r.bias = Tensor::empty({g.O}, ct, x.device());
  if (gc.numel() == 0 || xc.numel() == 0 || wc.numel() == 0) {
    // Nothing flows between input and weight: zero gradients, and the bias gradient is a plain sum
    // (zero when grad_out is empty).
    if (needs[0]) fill_(r.input, 0.0);
    if (needs[1]) fill_(r.weight, 0.0);
    if (needs[2]) r.bias = sum(gc, {0, 2, 3});
  } else if (needs[0] || needs[1] || needs[2]) {
    kernel<Conv2dBackwardKernel>(OpId::conv2d_backward, x.device())(gc, xc, wc, g, needs[0] ? &r.input : nullptr,
                                                                    needs[1] ? &r.weight : nullptr,
                                                                    needs[2] ? &r.bias : nullptr);
  }
  if (r.input.defined()) r.input = to_dtype(reshape(r.input, x.shape()), x.dtype());
  if (r.weight.defined()) r.weight = to_dtype(r.weight, weight.dtype());
  if (r.bias.defined()) r.bias = to_dtype(r.bias, x.dtype());
  return r;
}

}  // namespace ops
}  // namespace mm
