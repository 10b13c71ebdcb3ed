// Linear algebra (no autograd): matmul with torch.matmul semantics, bmm, linear, addmm. All of them
// are one batched GEMM kernel (OpenBLAS on the CPU, cuBLAS on CUDA) plus shape logic in the front
// end (ops/linalg.cpp). The differentiable versions are in autograd/grad/linalg.h.
#pragma once

#include "ops/common/strided_indexer.h"
#include "ops/kernels.h"

namespace mm {

// How BLAS can read one row-major matrix [rows, cols] stored with element strides (rs, cs) without a
// copy. BLAS wants one unit stride and a "leading dimension" (the other stride):
//   cs == 1, rs >= cols: row-major, leading dimension rs            → trans = false
//   rs == 1, cs >= rows: column-major (its transpose is row-major)  → trans = true, leading dimension cs
// The stride of a size-1 dimension is never used, so it is ignored. Returns false when neither
// layout fits (e.g. a broadcast matrix with a 0 stride, or a slice with step 2 along the rows); the
// front end then makes that operand contiguous.
struct BlasMatrix {
  bool trans = false;
  int64_t ld = 1;
};
bool blas_matrix(int64_t rows, int64_t cols, int64_t rs, int64_t cs, BlasMatrix* out);
// Same for the last two dimensions of t.
bool blas_matrix(const Tensor& t, BlasMatrix* out);

// One batched GEMM: out[i] = alpha · a[i] @ b[i] + beta · out[i] for every index i of the batch.
//   a: [*batch, M, K] and b: [*batch, K, N] with the batch shape of out (broadcast batch dims have
//   stride 0 and so reuse one matrix); every matrix readable by BLAS as is (blas_matrix() true).
//   out: contiguous [*batch, M, N]; with beta == 0 it is not read (may be uninitialised).
//   a, b, out share a dtype: f32/f64 on the CPU, also f16/bf16 on CUDA (accumulated in f32).
//   M, N, K >= 1: the front end handles empty products.
// Other families that need a GEMM (e.g. convolution via im2col) call it through the registry:
//   kernel<GemmKernel>(OpId::matmul, device)(a, b, out, 1.0, 0.0);
using GemmKernel = void (*)(const Tensor& a, const Tensor& b, Tensor& out, double alpha, double beta);

// Offsets of the i-th matrix of (out, a, b) — operands 0, 1, 2 — over the batch dims of a GEMM, with
// mergeable batch dims collapsed (a contiguous batch becomes one dimension, so CUDA can use a single
// strided-batched call). Shared by both backends.
StridedIndexer<3> gemm_batch_indexer(const Tensor& a, const Tensor& b, const Tensor& out);

// A GEMM's sizes (out [.., M, N] = a [.., M, K] @ b [.., K, N]) and how BLAS reads one matrix of a
// and of b (blas_matrix). Throws Shape when one of M, N, K or a leading dimension exceeds INT_MAX,
// the limit of the int arguments of `library` ("BLAS", "cuBLAS"). Shared by both backends.
struct GemmDims {
  int64_t M, N, K;
  BlasMatrix a, b;
};
GemmDims gemm_dims(const Tensor& a, const Tensor& b, const Tensor& out, const char* library);

namespace ops {

// torch.matmul: 1-D · 1-D is a dot product (0-d result); a 1-D first operand is treated as a row
// [1, K], a 1-D second one as a column [K, 1], and the added dimension is removed from the result;
// otherwise the last two dims are matrices and the leading (batch) dims broadcast.
// Operands: same floating dtype, same device, at least 1-D.
Tensor matmul(const Tensor& a, const Tensor& b);
// Strict batched product: a [B, M, K] @ b [B, K, N] → [B, M, N] (no broadcasting).
Tensor bmm(const Tensor& a, const Tensor& b);
// x [..., in] @ weight[out, in]ᵀ + bias[out] → [..., out]; bias may be undefined (no bias).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);
// beta · bias + alpha · (a @ b) for 2-D a [M, K], b [K, N]; bias broadcasts to [M, N]. With beta == 0
// bias is ignored (NaNs in it do not propagate), as in PyTorch.
Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta = 1.0, double alpha = 1.0);

// The building block of the above and of their backward formulas: alpha · a @ b (+ beta · c when c
// is defined; c broadcasts to the result) for a [*ba, M, K] and b [*bb, K, N], both at least 2-D,
// batch dims broadcast. `op` names the caller in error messages.
Tensor gemm(const Tensor& a, const Tensor& b, double alpha = 1.0, const Tensor& c = Tensor(), double beta = 0.0,
            const char* op = "matmul");

}  // namespace ops
}  // namespace mm
