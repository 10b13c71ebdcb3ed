// Differentiable linear algebra: mm::matmul, bmm, linear, addmm (forward in ops/linalg.cpp).
#pragma once

#include "autograd/record.h"
#include "ops/linalg.h"

namespace mm {

// torch.matmul semantics: dot product for two 1-D operands, 1-D operands promoted to a row/column
// (the added dim removed again), broadcast batch dims for ≥ 3-D operands.
Tensor matmul(const Tensor& a, const Tensor& b);
// Strict batched product of 3-D tensors with equal batch sizes: [B, M, K] @ [B, K, N].
Tensor bmm(const Tensor& a, const Tensor& b);
// x [..., in] @ weight[out, in]ᵀ + bias[out]; an undefined bias means no bias.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
// beta · bias + alpha · (a @ b), a and b 2-D, bias broadcast to the result.
Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta = 1.0, double alpha = 1.0);

}  // namespace mm
