// Front ends of the linear-algebra family: validation, the shape rules of matmul/bmm/linear/addmm,
// and the reduction of all of them to one batched GEMM (ops::gemm → GemmKernel).
//
// Copies are avoided where BLAS can read an operand as it is: a transposed view is a column-major
// matrix, which BLAS reads with its "transpose" flag (see blas_matrix). Broadcast batch dims stay
// stride-0 views, so a weight shared by a whole batch is never materialised.
#include "ops/linalg.h"

#include <algorithm>
#include <climits>

#include "ops/common/broadcast.h"
#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/shape.h"

namespace mm {

bool blas_matrix(int64_t rows, int64_t cols, int64_t rs, int64_t cs, BlasMatrix* out) {
  // Row-major: unit stride along a row, rows at least a full row apart. A size-1 dim's stride is unused.
  if ((cs == 1 || cols == 1) && (rows == 1 || rs >= std::max<int64_t>(cols, 1))) {
    out->trans = false;
    out->ld = rows == 1 ? std::max<int64_t>(cols, 1) : rs;
    return true;
  }
  // Column-major: unit stride down a column.
  if ((rs == 1 || rows == 1) && (cols == 1 || cs >= std::max<int64_t>(rows, 1))) {
    out->trans = true;
    out->ld = cols == 1 ? std::max<int64_t>(rows, 1) : cs;
    return true;
  }
  return false;
}

bool blas_matrix(const Tensor& t, BlasMatrix* out) {
  return blas_matrix(t.size(-2), t.size(-1), t.stride(-2), t.stride(-1), out);
}

StridedIndexer<3> gemm_batch_indexer(const Tensor& a, const Tensor& b, const Tensor& out) {
  Shape batch(out.shape().begin(), out.shape().end() - 2);
  auto batch_view = [&](const Tensor& t) {
    Strides st(t.strides().begin(), t.strides().end() - 2);
    return Tensor::make_view(t.storage(), batch, st, t.offset(), t.dtype());
  };
  Tensor ov = batch_view(out), av = batch_view(a), bv = batch_view(b);
  return make_indexer<3>(batch, {&ov, &av, &bv}, "matmul");
}

GemmDims gemm_dims(const Tensor& a, const Tensor& b, const Tensor& out, const char* library) {
  GemmDims d{out.size(-2), out.size(-1), a.size(-1), {}, {}};
  MM_INTERNAL_ASSERT(blas_matrix(a, &d.a) && blas_matrix(b, &d.b));
  for (int64_t v : {d.M, d.N, d.K, d.a.ld, d.b.ld})
    MM_CHECK(v <= INT_MAX, Shape, "matmul", "matrix dimension ", v, " exceeds the ", library, " limit of ", INT_MAX);
  return d;
}

namespace ops {
namespace {

Shape batch_dims(const Shape& s) { return Shape(s.begin(), s.end() - 2); }

Shape concat(Shape a, const Shape& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The checks every product shares: defined, same floating dtype, same device.
void check_operands(const Tensor& a, const Tensor& b, const char* op) {
  MM_CHECK(a.defined() && b.defined(), Value, op, "an operand is an undefined tensor");
  common_device({&a, &b}, op);
  MM_CHECK(a.dtype() == b.dtype(), DType, op, "operands must have the same dtype, got ", dtype_name(a.dtype()),
           " and ", dtype_name(b.dtype()));
  MM_CHECK(is_floating(a.dtype()), DType, op, "needs floating operands, got ", dtype_name(a.dtype()));
}

void check_inner(const Tensor& a, const Tensor& b, int64_t ka, int64_t kb, const char* op) {
  MM_CHECK(ka == kb, Shape, op, "inner dimensions differ: ", shape_str(a.shape()), " @ ", shape_str(b.shape()));
}

// The extra operand of addmm/linear: same dtype and device as the product, broadcastable to `shape`.
void check_addend(const Tensor& c, const Tensor& a, const Shape& shape, const char* op, const char* what) {
  common_device({&a, &c}, op);
  MM_CHECK(c.dtype() == a.dtype(), DType, op, what, " must have the operands' dtype ", dtype_name(a.dtype()),
           ", got ", dtype_name(c.dtype()));
  bool ok = c.dim() <= static_cast<int64_t>(shape.size());
  for (int64_t i = 0; ok && i < c.dim(); ++i) {
    int64_t want = shape[shape.size() - c.dim() + i];
    ok = c.shape()[i] == want || c.shape()[i] == 1;
  }
  MM_CHECK(ok, Shape, op, what, " ", shape_str(c.shape()), " cannot be broadcast to the result shape ",
           shape_str(shape));
}

}  // namespace

Tensor gemm(const Tensor& a, const Tensor& b, double alpha, const Tensor& c, double beta, const char* op) {
  check_operands(a, b, op);
  MM_CHECK(a.dim() >= 2 && b.dim() >= 2, Shape, op, "expected operands with at least 2 dimensions, got ",
           shape_str(a.shape()), " @ ", shape_str(b.shape()));
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  check_inner(a, b, K, b.size(-2), op);
  Shape ba = batch_dims(a.shape()), bb = batch_dims(b.shape());
  Shape batch;
  {
    size_t n = std::max(ba.size(), bb.size());
    for (size_t i = 0; i < n; ++i) {
      int64_t da = i < n - ba.size() ? 1 : ba[i - (n - ba.size())];
      int64_t db = i < n - bb.size() ? 1 : bb[i - (n - bb.size())];
      MM_CHECK(da == db || da == 1 || db == 1, Shape, op, "batch dimensions cannot be broadcast: ",
               shape_str(a.shape()), " @ ", shape_str(b.shape()));
      batch.push_back(da == 1 ? db : da);
    }
  }
  const Shape out_shape = concat(batch, {M, N});
  const bool use_c = c.defined() && beta != 0.0;
  if (c.defined()) check_addend(c, a, out_shape, op, "bias");

  const Device dev = a.device();
  const DType dt = a.dtype();
  // The CPU computes half types in f32; cuBLAS takes them directly (with f32 accumulation).
  const DType cdt = (dev.is_cpu() && (dt == DType::F16 || dt == DType::BF16)) ? DType::F32 : dt;

  Tensor out = Tensor::empty(out_shape, cdt, dev);
  if (use_c) copy_(out, expand(c, out_shape));
  if (out.numel() == 0) return to_dtype(out, dt);
  if (K == 0) {  // an empty sum: the product is zero
    if (use_c) return to_dtype(binary(OpId::mul, out, scalar_tensor(beta, cdt, dev)), dt);
    fill_(out, 0.0);
    return to_dtype(out, dt);
  }

  // A batch of a's against one matrix b is a single taller GEMM: [B·M, K] @ [K, N] (as PyTorch folds
  // it). One big GEMM keeps every BLAS thread busy and reads b once.
  const bool fold = a.dim() > 2 && shape_numel(ba) > 1 && shape_numel(bb) == 1;
  Tensor A = to_dtype(fold ? reshape(a, {-1, K}) : a, cdt);
  Tensor B = to_dtype(fold ? reshape(b, {K, N}) : b, cdt);
  BlasMatrix layout;
  if (!blas_matrix(A, &layout)) A = contiguous(A);
  if (!blas_matrix(B, &layout)) B = contiguous(B);
  Tensor target = out;
  if (fold) {
    Shape flat{shape_numel(batch) * M, N};
    target = Tensor::make_view(out.storage(), flat, contiguous_strides(flat), 0, cdt);
  } else {
    A = expand(A, concat(batch, {M, K}));
    B = expand(B, concat(batch, {K, N}));
  }
  kernel<GemmKernel>(OpId::matmul, dev)(A, B, target, alpha, use_c ? beta : 0.0);
  return to_dtype(out, dt);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "matmul");
  MM_CHECK(a.dim() >= 1 && b.dim() >= 1, Shape, "matmul", "both operands need at least one dimension, got ",
           shape_str(a.shape()), " @ ", shape_str(b.shape()));
  check_inner(a, b, a.size(-1), b.dim() == 1 ? b.size(0) : b.size(-2), "matmul");
  // 1-D operands become a row (first) or a column (second); the added dim is dropped afterwards.
  Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;
  Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
  Tensor y = gemm(a2, b2);
  Shape shape = batch_dims(y.shape());
  if (a.dim() > 1) shape.push_back(y.size(-2));
  if (b.dim() > 1) shape.push_back(y.size(-1));
  return reshape(y, shape);  // y is contiguous: a view
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "bmm");
  MM_CHECK(a.dim() == 3 && b.dim() == 3, Shape, "bmm", "expected 3-D tensors [B, M, K] @ [B, K, N], got ",
           shape_str(a.shape()), " @ ", shape_str(b.shape()));
  MM_CHECK(a.size(0) == b.size(0), Shape, "bmm", "batch sizes differ: ", shape_str(a.shape()), " @ ",
           shape_str(b.shape()));
  check_inner(a, b, a.size(2), b.size(1), "bmm");
  return gemm(a, b, 1.0, Tensor(), 0.0, "bmm");
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_operands(x, weight, "linear");
  MM_CHECK(weight.dim() == 2, Shape, "linear", "weight must be 2-D [out_features, in_features], got ",
           shape_str(weight.shape()));
  MM_CHECK(x.dim() >= 1, Shape, "linear", "input must have at least one dimension, got ", shape_str(x.shape()));
  MM_CHECK(x.size(-1) == weight.size(1), Shape, "linear", "input features differ: input ", shape_str(x.shape()),
           " has ", x.size(-1), ", weight ", shape_str(weight.shape()), " expects ", weight.size(1));
  if (bias.defined())
    MM_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), Shape, "linear", "bias must be [",
             weight.size(0), "] (out_features), got ", shape_str(bias.shape()));
  Tensor x2 = x.dim() == 1 ? unsqueeze(x, 0) : x;
  // weightᵀ is a column-major view: BLAS reads it with its transpose flag, no copy.
  Tensor y = gemm(x2, transpose(weight, 0, 1), 1.0, bias, 1.0, "linear");
  return x.dim() == 1 ? reshape(y, {weight.size(0)}) : y;
}

Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta, double alpha) {
  check_operands(a, b, "addmm");
  MM_CHECK(bias.defined(), Value, "addmm", "bias is an undefined tensor");
  MM_CHECK(a.dim() == 2 && b.dim() == 2, Shape, "addmm", "expected 2-D matrices, got ", shape_str(a.shape()),
           " @ ", shape_str(b.shape()));
  check_inner(a, b, a.size(1), b.size(0), "addmm");
  return gemm(a, b, alpha, bias, beta, "addmm");
}

}  // namespace ops
}  // namespace mm
