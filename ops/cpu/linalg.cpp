// CPU GEMM: OpenBLAS (cblas_sgemm / cblas_dgemm), one call per matrix of the batch.
//
// Threading. One large product is left to OpenBLAS, which threads it itself over the shared OpenMP
// pool (we use the OpenMP build of OpenBLAS, see runtime/parallel.h). A batch of many small products
// would give each BLAS call too little work to split, so there we parallelise over the batch with
// parallel_for and let every call run on one thread: OpenBLAS's OpenMP build checks
// omp_in_parallel() before threading (num_cpu_avail() in its common_thread.h) and runs
// single-threaded inside a parallel region, so no thread-count juggling is needed and the pool is
// never oversubscribed. Every matrix is computed by one BLAS call either way; which path runs
// depends only on the shapes and the thread count, never on timing, and OpenBLAS's threaded GEMM
// splits the work over blocks of C (not over K), so results are reproducible run to run.
#include <cblas.h>

#include <algorithm>

#include "ops/linalg.h"
#include "runtime/parallel.h"

namespace mm::cpu {
namespace {

// Products with at most this many multiply-adds per matrix are "small": parallelise over the batch.
inline constexpr int64_t kSmallGemm = 64 * 64 * 64;
// Fewest multiply-adds worth giving a thread of its own.
inline constexpr int64_t kMinChunkWork = 1 << 16;

inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, float alpha,
                      const float* a, blasint lda, const float* b, blasint ldb, float beta, float* c, blasint ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, double alpha,
                      const double* a, blasint lda, const double* b, blasint ldb, double beta, double* c, blasint ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <typename T>
void gemm_typed(const Tensor& a, const Tensor& b, Tensor& out, double alpha, double beta) {
  const GemmDims d = gemm_dims(a, b, out, "BLAS");
  const int64_t M = d.M, N = d.N, K = d.K;
  const BlasMatrix la = d.a, lb = d.b;
  const CBLAS_TRANSPOSE ta = la.trans ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = lb.trans ? CblasTrans : CblasNoTrans;
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = out.data<T>();
  const T al = static_cast<T>(alpha), be = static_cast<T>(beta);
  const int64_t batch = out.numel() / (M * N);
  if (batch == 1) {  // the common case: straight to BLAS, nothing around it
    blas_gemm(ta, tb, M, N, K, al, pa, la.ld, pb, lb.ld, be, pc, N);
    return;
  }
  StridedIndexer<3> ix = gemm_batch_indexer(a, b, out);
  auto run = [&](int64_t lo, int64_t hi) {
    int64_t off[3];
    for (int64_t i = lo; i < hi; ++i) {
      ix.offsets(i, off);
      blas_gemm(ta, tb, M, N, K, al, pa + off[1], la.ld, pb + off[2], lb.ld, be, pc + off[0], N);
    }
  };
  if (batch >= num_threads() || M * N * K <= kSmallGemm) {
    // At least kMinChunkWork multiply-adds per thread: starting threads costs more for tiny batches.
    parallel_for(0, batch, std::max<int64_t>(1, kMinChunkWork / (M * N * K)), run);
  } else {
    run(0, batch);  // a few large products: OpenBLAS threads each one
  }
}

void gemm_kernel(const Tensor& a, const Tensor& b, Tensor& out, double alpha, double beta) {
  MM_DISPATCH_FLOAT(out.dtype(), "matmul", [&] { gemm_typed<scalar_t>(a, b, out, alpha, beta); });
}

}  // namespace

MM_REGISTER_KERNEL(matmul, CPU, &gemm_kernel);

}  // namespace mm::cpu
