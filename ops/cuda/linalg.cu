// CUDA GEMM through cuBLAS.
//
// cuBLAS is column-major; our matrices are row-major. A row-major matrix with leading dimension ld
// is, read column-major, its own transpose with the same ld. So instead of C = A·B we ask cuBLAS for
// Cᵀ = Bᵀ·Aᵀ: pass B first, then A, swap M and N, and C (row-major [M, N], ld N) comes out right
// without any copy. An operand that is itself stored transposed (BlasMatrix::trans) gets OP_T.
//
// Batches use the strided-batched entry points: make_indexer collapses the batch dims, and a batch
// that collapses to one dimension (contiguous, or broadcast with stride 0) is one call; otherwise one
// call per index of the outer dims. f16/bf16 go through cublasGemm*Ex with f32 accumulation.
#include <algorithm>
#include <climits>
#include <type_traits>
#include <vector>

#include "ops/linalg.h"
#include "runtime/cuda/launch.h"

namespace mm::cuda {
namespace {

// One handle per device and per host thread, created on first use. cuBLAS handles must not be used
// by two threads at once, and a handle is bound to the device that was current when it was created.
// The handles are deliberately never destroyed: destroying them from static destructors races with
// the CUDA runtime's own teardown at exit.
cublasHandle_t cublas_handle() {
  thread_local std::vector<cublasHandle_t> handles;
  int device = 0;
  MM_CUDA_CHECK(cudaGetDevice(&device), "matmul");
  if (static_cast<int>(handles.size()) <= device) handles.resize(device + 1, nullptr);
  if (handles[device] == nullptr) MM_CUBLAS_CHECK(cublasCreate(&handles[device]), "matmul");
  MM_CUBLAS_CHECK(cublasSetStream(handles[device], current_stream()), "matmul");
  return handles[device];
}

// The cuBLAS call for one dtype, on column-major arguments (already swapped by the caller).
struct GemmCall {
  cublasHandle_t h;
  cublasOperation_t op1, op2;  // for the first (B) and second (A) operand
  int m, n, k;                 // column-major C is m × n = N × M
  int ld1, ld2, ldc;
};

template <typename T>
void cublas_gemm(const GemmCall& g, double alpha, double beta, const T* p1, long long s1, const T* p2, long long s2,
                 T* c, long long sc, int count) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    const T al = static_cast<T>(alpha), be = static_cast<T>(beta);
    if (count == 1) {
      if constexpr (std::is_same_v<T, float>)
        MM_CUBLAS_CHECK(cublasSgemm(g.h, g.op1, g.op2, g.m, g.n, g.k, &al, p1, g.ld1, p2, g.ld2, &be, c, g.ldc),
                        "matmul");
      else
        MM_CUBLAS_CHECK(cublasDgemm(g.h, g.op1, g.op2, g.m, g.n, g.k, &al, p1, g.ld1, p2, g.ld2, &be, c, g.ldc),
                        "matmul");
    } else {
      if constexpr (std::is_same_v<T, float>)
        MM_CUBLAS_CHECK(cublasSgemmStridedBatched(g.h, g.op1, g.op2, g.m, g.n, g.k, &al, p1, g.ld1, s1, p2, g.ld2, s2,
                                                  &be, c, g.ldc, sc, count),
                        "matmul");
      else
        MM_CUBLAS_CHECK(cublasDgemmStridedBatched(g.h, g.op1, g.op2, g.m, g.n, g.k, &al, p1, g.ld1, s1, p2, g.ld2, s2,
                                                  &be, c, g.ldc, sc, count),
                        "matmul");
    }
  } else {  // Half / BFloat16: f32 scalars and accumulation
    const cudaDataType_t type = std::is_same_v<T, Half> ? CUDA_R_16F : CUDA_R_16BF;
    const float al = static_cast<float>(alpha), be = static_cast<float>(beta);
    if (count == 1)
      MM_CUBLAS_CHECK(cublasGemmEx(g.h, g.op1, g.op2, g.m, g.n, g.k, &al, p1, type, g.ld1, p2, type, g.ld2, &be, c,
                                   type, g.ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                      "matmul");
    else
      MM_CUBLAS_CHECK(cublasGemmStridedBatchedEx(g.h, g.op1, g.op2, g.m, g.n, g.k, &al, p1, type, g.ld1, s1, p2, type,
                                                 g.ld2, s2, &be, c, type, g.ldc, sc, count, CUBLAS_COMPUTE_32F,
                                                 CUBLAS_GEMM_DEFAULT),
                      "matmul");
  }
}

template <typename T>
void gemm_typed(const Tensor& a, const Tensor& b, Tensor& out, double alpha, double beta) {
  const GemmDims d = gemm_dims(a, b, out, "cuBLAS");
  const int64_t M = d.M, N = d.N, K = d.K;
  const BlasMatrix la = d.a, lb = d.b;
  GemmCall g{cublas_handle(),
             lb.trans ? CUBLAS_OP_T : CUBLAS_OP_N,
             la.trans ? CUBLAS_OP_T : CUBLAS_OP_N,
             static_cast<int>(N),
             static_cast<int>(M),
             static_cast<int>(K),
             static_cast<int>(lb.ld),
             static_cast<int>(la.ld),
             static_cast<int>(N)};
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  T* pc = static_cast<T*>(out.raw_data());
  StridedIndexer<3> ix = gemm_batch_indexer(a, b, out);
  if (ix.ndim == 0) {
    cublas_gemm<T>(g, alpha, beta, pb, 0, pa, 0, pc, 0, 1);
    return;
  }
  // The innermost collapsed batch dim is one strided-batched call; outer dims (if any) loop here.
  const int last = ix.ndim - 1;
  const int64_t inner = ix.sizes[last];
  const int64_t outer = (out.numel() / (M * N)) / inner;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t off[3];
    ix.offsets(o * inner, off);
    for (int64_t done = 0; done < inner; done += INT_MAX) {  // batchCount is an int
      const int count = static_cast<int>(std::min<int64_t>(inner - done, INT_MAX));
      cublas_gemm<T>(g, alpha, beta, pb + off[2] + done * ix.strides[2][last], ix.strides[2][last],
                     pa + off[1] + done * ix.strides[1][last], ix.strides[1][last],
                     pc + off[0] + done * ix.strides[0][last], ix.strides[0][last], count);
    }
  }
}

void gemm_kernel(const Tensor& a, const Tensor& b, Tensor& out, double alpha, double beta) {
  switch (out.dtype()) {
    case DType::F32: return gemm_typed<float>(a, b, out, alpha, beta);
    case DType::F64: return gemm_typed<double>(a, b, out, alpha, beta);
    case DType::F16: return gemm_typed<Half>(a, b, out, alpha, beta);
    case DType::BF16: return gemm_typed<BFloat16>(a, b, out, alpha, beta);
    default:
      fail(ErrorKind::DType, "matmul", "unsupported dtype ", dtype_name(out.dtype()), " (expected f32/f64/f16/bf16)");
  }
}

}  // namespace

MM_REGISTER_KERNEL(matmul, CUDA, &gemm_kernel);

}  // namespace mm::cuda
