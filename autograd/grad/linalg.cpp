// Linear algebra and its gradients.
//
// For C = A·B with upstream gradient G = dL/dC:  dA = G·Bᵀ,  dB = Aᵀ·G  (each batch matrix on its
// own). The transposes are views: the GEMM reads them with BLAS's transpose flag, never copying.
// When A or B was broadcast over batch dims, these products have the broadcast batch shape and the
// engine sums them back to the operand's shape.
#include "autograd/grad/linalg.h"

#include "autograd/autocast.h"
#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/shape.h"

namespace mm {

namespace {

// Gradients of matmul(a, b) (torch.matmul semantics) for the upstream gradient g.
TensorList matmul_backward(const Tensor& a, const Tensor& b, const Tensor& g, const GradContext& c) {
  // Redo the forward's 1-D promotion so every tensor is a (batch of) matrices:
  // a2 [*, M, K], b2 [*, K, N], g2 [*, M, N].
  Tensor a2 = a.dim() == 1 ? ops::unsqueeze(a, 0) : a;
  Tensor b2 = b.dim() == 1 ? ops::unsqueeze(b, 1) : b;
  Tensor g2 = g;
  if (b.dim() == 1) g2 = ops::unsqueeze(g2, -1);  // [*, M] → [*, M, 1]  (a 0-d dot gradient → [1])
  if (a.dim() == 1) g2 = ops::unsqueeze(g2, -2);  // [*, N] → [*, 1, N]
  TensorList r(2);
  if (c.needs_grad(0)) {
    Tensor da = ops::gemm(g2, ops::transpose(b2, -1, -2));  // [*, M, K]
    r[0] = a.dim() == 1 ? ops::squeeze(da, -2) : da;
  }
  if (c.needs_grad(1)) {
    Tensor db;
    if (b2.dim() == 2 && a2.dim() > 2) {
      // b was shared by the whole batch: sum over the batch inside one GEMM,
      // dB = Σ_i A_iᵀ G_i = [B·M, K]ᵀ · [B·M, N].
      const int64_t K = a2.size(-1), N = g2.size(-1);
      int64_t rows = 1;  // B·M
      for (int64_t d = 0; d + 1 < a2.dim(); ++d) rows *= a2.size(d);
      db = ops::gemm(ops::transpose(ops::reshape(a2, {rows, K}), 0, 1), ops::reshape(g2, {rows, N}));
    } else {
      db = ops::gemm(ops::transpose(a2, -1, -2), g2);  // [*, K, N]
    }
    r[1] = b.dim() == 1 ? ops::squeeze(db, -1) : db;
  }
  return r;
}

Tensor matmul_f(const Tensor& a, const Tensor& b) {
  Tensor y = ops::matmul(a, b);
  if (needs_grad({a, b}))
    record("matmul", {a, b}, {y}, [a = saved(a), b = saved(b)](const GradContext& c) {
      return matmul_backward(a, b, c.grad(), c);
    });
  return y;
}

Tensor bmm_f(const Tensor& a, const Tensor& b) {
  Tensor y = ops::bmm(a, b);
  if (needs_grad({a, b}))
    record("bmm", {a, b}, {y}, [a = saved(a), b = saved(b)](const GradContext& c) {
      return matmul_backward(a, b, c.grad(), c);
    });
  return y;
}

Tensor linear_f(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  Tensor y = ops::linear(x, weight, bias);
  if (needs_grad({x, weight, bias}))
    record("linear", {x, weight, bias}, {y}, [x = saved(x), w = saved(weight)](const GradContext& c) {
      // y = x·Wᵀ + b over all leading dims of x: flatten them into rows R.
      const int64_t out = w.size(0), in = w.size(1);
      int64_t rows = 1;
      for (int64_t d = 0; d + 1 < x.dim(); ++d) rows *= x.size(d);
      Tensor g2d = ops::reshape(c.grad(), {rows, out});  // [R, out]
      TensorList r(3);
      if (c.needs_grad(0)) r[0] = ops::reshape(ops::gemm(g2d, w), x.shape());  // dx = g·W
      if (c.needs_grad(1))
        r[1] = ops::gemm(ops::transpose(g2d, 0, 1), ops::reshape(x, {rows, in}));  // dW = gᵀ·x
      if (c.needs_grad(2)) r[2] = ops::sum(g2d, {0});                             // db = Σ_rows g
      return r;
    });
  return y;
}

Tensor addmm_f(const Tensor& bias, const Tensor& a, const Tensor& b, double beta, double alpha) {
  Tensor y = ops::addmm(bias, a, b, beta, alpha);
  if (needs_grad({bias, a, b}))
    record("addmm", {bias, a, b}, {y}, [a = saved(a), b = saved(b), beta, alpha](const GradContext& c) {
      const Tensor& g = c.grad();
      TensorList r(3);
      if (c.needs_grad(0))  // d(beta·bias) = beta·g, summed to bias's shape by the engine
        r[0] = beta == 1.0 ? g : ops::binary(OpId::mul, g, ops::scalar_tensor(beta, g.dtype(), g.device()));
      if (c.needs_grad(1)) r[1] = ops::gemm(g, ops::transpose(b, 0, 1), alpha);  // alpha·g·Bᵀ
      if (c.needs_grad(2)) r[2] = ops::gemm(ops::transpose(a, 0, 1), g, alpha);  // alpha·Aᵀ·g
      return r;
    });
  return y;
}

}  // namespace

// Autocast's low-precision list (autograd/autocast.h): every floating operand in the low dtype.
Tensor matmul(const Tensor& a, const Tensor& b) {
  if (autocast_enabled()) [[unlikely]]
    return matmul_f(autocast_to_low(a), autocast_to_low(b));
  return matmul_f(a, b);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  if (autocast_enabled()) [[unlikely]]
    return bmm_f(autocast_to_low(a), autocast_to_low(b));
  return bmm_f(a, b);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (autocast_enabled()) [[unlikely]]
    return linear_f(autocast_to_low(x), autocast_to_low(weight), autocast_to_low(bias));
  return linear_f(x, weight, bias);
}

Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta, double alpha) {
  if (autocast_enabled()) [[unlikely]]
    return addmm_f(autocast_to_low(bias), autocast_to_low(a), autocast_to_low(b), beta, alpha);
  return addmm_f(bias, a, b, beta, alpha);
}

}  // namespace mm
