// The emulated cuBLAS: the handle functions and the GEMM entry points the project calls, with the
// cuBLAS v2 semantics (column-major operands, op N/T/C, leading dimensions, batch strides, host or
// device pointer mode), computed on the host.
//
// Every GEMM is validated when it is called and then queued on the handle's stream as one closure
// that captures everything by value, so it runs when the host synchronises with that stream, like a
// kernel on a GPU. Host-mode alpha/beta are read at call time (the caller may reuse the variables as
// soon as the call returns); device-mode alpha/beta are read when the work runs, as a kernel would.
//
// f32/f64 go to OpenBLAS; f16/bf16 are widened to float, multiplied by OpenBLAS's sgemm (float
// products and float accumulation, as CUBLAS_COMPUTE_32F) and rounded once to the output type.
#include <cblas.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "runtime/cuda/emulation/emulator.h"

// The handle's state. The header only declares this struct (cublasHandle_t is a pointer to it).
struct cublasContext {
  cudaStream_t stream = nullptr;  // nullptr: the default stream
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
  cublasMath_t math_mode = CUBLAS_DEFAULT_MATH;
  bool alive = true;
};

namespace mm::cuda::emu {
namespace {

// ---------------------------------------------------------------------------------------------
// Handles

// Every handle ever created. A destroyed handle stays allocated (alive = false) and is never
// reused, so calling with a destroyed handle is always reported as NOT_INITIALIZED instead of
// silently hitting a newer handle at the same address. Handles are few (one per thread and
// device), so keeping them costs nothing. The registry is leaked on purpose: handles are used from
// thread-local and static destructors that may run after a static registry would be gone.
struct HandleRegistry {
  std::mutex mu;
  std::unordered_map<const cublasContext*, std::unique_ptr<cublasContext>> all;
};

HandleRegistry& registry() {
  static HandleRegistry* r = new HandleRegistry;
  return *r;
}

// Runs `f` on the handle's state under the registry lock, or returns NOT_INITIALIZED for a null,
// unknown or destroyed handle.
template <typename F>
cublasStatus_t with_handle(cublasHandle_t h, F&& f) {
  HandleRegistry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.all.find(h);
  if (it == r.all.end() || !it->second->alive) return CUBLAS_STATUS_NOT_INITIALIZED;
  return f(*it->second);
}

// A copy of the handle's state, taken once per GEMM call.
cublasStatus_t snapshot(cublasHandle_t h, cublasContext* out) {
  return with_handle(h, [&](cublasContext& c) {
    *out = c;
    return CUBLAS_STATUS_SUCCESS;
  });
}

bool valid_pointer_mode(cublasPointerMode_t m) {
  return m == CUBLAS_POINTER_MODE_HOST || m == CUBLAS_POINTER_MODE_DEVICE;
}

// One of the header's math modes, optionally with the DISALLOW_REDUCED_PRECISION_REDUCTION flag.
// The emulation computes every mode the same way (exact f32/f64 arithmetic); the mode is only
// stored so that cublasGetMathMode (and the header's compute-type migration) sees it.
bool valid_math_mode(cublasMath_t m) {
  const int flags = static_cast<int>(m) & ~static_cast<int>(CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION);
  switch (flags) {
    case CUBLAS_DEFAULT_MATH:
    case CUBLAS_TENSOR_OP_MATH:
    case CUBLAS_PEDANTIC_MATH:
    case CUBLAS_TF32_TENSOR_OP_MATH:
    case CUBLAS_FP32_EMULATED_BF16X9_MATH:
    case CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH: return true;
    default: return false;
  }
}

// ---------------------------------------------------------------------------------------------
// GEMM description and validation

// One (strided-batched) GEMM as cuBLAS describes it: C[b] = alpha op(A[b]) op(B[b]) + beta C[b],
// op(A) m x k, op(B) k x n, C m x n, all column-major; strides in elements.
struct Gemm {
  cublasOperation_t ta, tb;
  int m, n, k;
  int lda, ldb, ldc;
  long long sa = 0, sb = 0, sc = 0;
  int batch = 1;
};

bool valid_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

// Rows of the stored A (B): op(A) is m x k, so A itself is m x k for N and k x m for T/C.
int rows_a(const Gemm& g) { return g.ta == CUBLAS_OP_N ? g.m : g.k; }
int cols_a(const Gemm& g) { return g.ta == CUBLAS_OP_N ? g.k : g.m; }
int rows_b(const Gemm& g) { return g.tb == CUBLAS_OP_N ? g.k : g.n; }
int cols_b(const Gemm& g) { return g.tb == CUBLAS_OP_N ? g.n : g.k; }

// The documented CUBLAS_STATUS_INVALID_VALUE conditions of cublas<t>gemm, <t>gemmStridedBatched,
// GemmEx and GemmStridedBatchedEx. Checked before anything is read or queued.
cublasStatus_t check_gemm(const Gemm& g, const void* alpha, const void* beta) {
  if (g.m < 0 || g.n < 0 || g.k < 0 || g.batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (!valid_op(g.ta) || !valid_op(g.tb)) return CUBLAS_STATUS_INVALID_VALUE;
  if (g.lda < std::max(1, rows_a(g)) || g.ldb < std::max(1, rows_b(g)) || g.ldc < std::max(1, g.m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  return CUBLAS_STATUS_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// Element types: storage type T, the type alpha/beta and the arithmetic use (Compute), conversions

template <typename T>
struct Element {  // f32 and f64: computed in their own precision
  using Compute = T;
  static T load(T x) { return x; }
  static T store(T x) { return x; }
};

template <>
struct Element<__half> {  // CUBLAS_COMPUTE_32F: float arithmetic, round-to-nearest-even on store
  using Compute = float;
  static float load(__half x) { return __half2float(x); }
  static __half store(float x) { return __float2half_rn(x); }
};

template <>
struct Element<__nv_bfloat16> {
  using Compute = float;
  static float load(__nv_bfloat16 x) { return __bfloat162float(x); }
  static __nv_bfloat16 store(float x) { return __float2bfloat16_rn(x); }
};

template <typename T>
using Compute = typename Element<T>::Compute;

// ---------------------------------------------------------------------------------------------
// Host kernels

CBLAS_TRANSPOSE to_cblas(cublasOperation_t op) { return op == CUBLAS_OP_N ? CblasNoTrans : CblasTrans; }

void blas_gemm(const Gemm& g, float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c,
               int ldc) {
  cblas_sgemm(CblasColMajor, to_cblas(g.ta), to_cblas(g.tb), g.m, g.n, g.k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void blas_gemm(const Gemm& g, double alpha, const double* a, int lda, const double* b, int ldb, double beta,
               double* c, int ldc) {
  cblas_dgemm(CblasColMajor, to_cblas(g.ta), to_cblas(g.tb), g.m, g.n, g.k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// C = beta C on the m x n block (never the padding). beta == 0 stores zeros without reading C:
// C may hold NaN (uninitialised or poisoned memory) and cuBLAS documents that it is then not read.
template <typename T>
void scale_c(const Gemm& g, Compute<T> beta, T* c) {
  using E = Element<T>;
  for (int64_t j = 0; j < g.n; ++j) {
    T* col = c + j * g.ldc;
    for (int64_t i = 0; i < g.m; ++i) col[i] = E::store(beta == 0 ? Compute<T>(0) : beta * E::load(col[i]));
  }
}

// Copies the rows x cols block of a column-major low-precision matrix into a dense float one.
template <typename T>
void widen(const T* src, int64_t ld, int rows, int cols, std::vector<float>& dst) {
  dst.resize(static_cast<size_t>(rows) * cols);
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t i = 0; i < rows; ++i) dst[i + j * rows] = Element<T>::load(src[i + j * ld]);
}

// Scratch buffers of the f16/bf16 path, reused across the matrices of a batch.
struct Widened {
  std::vector<float> a, b, c;
};

// One f32/f64 matrix product. alpha == 0 or k == 0 leaves C = beta C and reads neither A nor B
// (the reference BLAS rule, which OpenBLAS also follows); we handle it here so that every storage
// type behaves the same.
template <typename T>
void gemm_one(const Gemm& g, T alpha, T beta, const T* a, const T* b, T* c) {
  if (alpha == T(0) || g.k == 0) return scale_c(g, beta, c);
  if (beta == T(0)) scale_c(g, beta, c);  // C may be NaN: zero it ourselves rather than trust 0 * NaN
  blas_gemm(g, alpha, a, g.lda, b, g.ldb, beta, c, g.ldc);
}

// One f16/bf16 product with CUBLAS_COMPUTE_32F: float inputs, float products and sums, alpha and
// beta applied in float, one rounding to T per element at the end.
template <typename T>
void gemm_one_widened(const Gemm& g, float alpha, float beta, const T* a, const T* b, T* c, Widened& w) {
  if (alpha == 0.0f || g.k == 0) return scale_c(g, beta, c);
  widen(a, g.lda, rows_a(g), cols_a(g), w.a);
  widen(b, g.ldb, rows_b(g), cols_b(g), w.b);
  if (beta == 0.0f)
    w.c.assign(static_cast<size_t>(g.m) * g.n, 0.0f);  // C is not read
  else
    widen(c, g.ldc, g.m, g.n, w.c);
  blas_gemm(g, alpha, w.a.data(), rows_a(g), w.b.data(), rows_b(g), beta, w.c.data(), g.m);
  for (int64_t j = 0; j < g.n; ++j)
    for (int64_t i = 0; i < g.m; ++i) c[i + j * g.ldc] = Element<T>::store(w.c[i + j * g.m]);
}

// Every matrix of the batch, in order. Strides are signed 64-bit element counts.
template <typename T>
void run_batches(const Gemm& g, Compute<T> alpha, Compute<T> beta, const T* a, const T* b, T* c) {
  [[maybe_unused]] Widened w;
  for (int64_t i = 0; i < g.batch; ++i) {
    const T* ai = a + i * g.sa;
    const T* bi = b + i * g.sb;
    T* ci = c + i * g.sc;
    if constexpr (std::is_same_v<T, Compute<T>>)
      gemm_one(g, alpha, beta, ai, bi, ci);
    else
      gemm_one_widened(g, alpha, beta, ai, bi, ci, w);
  }
}

// ---------------------------------------------------------------------------------------------
// Submission

// alpha and beta as the work will use them: values read at call time (host pointer mode), or
// pointers read when the work runs (device pointer mode).
template <typename S>
struct Scalars {
  S alpha{}, beta{};
  const S* dev_alpha = nullptr;
  const S* dev_beta = nullptr;

  Scalars(cublasPointerMode_t mode, const void* a, const void* b) {
    if (mode == CUBLAS_POINTER_MODE_DEVICE) {
      dev_alpha = static_cast<const S*>(a);
      dev_beta = static_cast<const S*>(b);
    } else {
      alpha = *static_cast<const S*>(a);
      beta = *static_cast<const S*>(b);
    }
  }
  S get_alpha() const { return dev_alpha ? *dev_alpha : alpha; }
  S get_beta() const { return dev_beta ? *dev_beta : beta; }
};

// Queues an already validated GEMM on the handle's stream (T: the storage type). A launch on a
// stream the runtime does not know fails like a kernel launch would: the CUDA error becomes the
// thread's last error and cuBLAS reports EXECUTION_FAILED.
template <typename T>
cublasStatus_t submit(const cublasContext& h, const Gemm& g, const void* alpha, const void* beta, const void* a,
                      const void* b, void* c) {
  if (g.m == 0 || g.n == 0 || g.batch == 0) return CUBLAS_STATUS_SUCCESS;  // C is empty: nothing to do
  const Scalars<Compute<T>> s(h.pointer_mode, alpha, beta);
  const T* pa = static_cast<const T*>(a);
  const T* pb = static_cast<const T*>(b);
  T* pc = static_cast<T*>(c);
  const cudaError_t e =
      enqueue(h.stream, [g, s, pa, pb, pc] { run_batches<T>(g, s.get_alpha(), s.get_beta(), pa, pb, pc); });
  if (e != cudaSuccess) {
    set_last_error(e);
    return CUBLAS_STATUS_EXECUTION_FAILED;
  }
  return CUBLAS_STATUS_SUCCESS;
}

// cublas<t>gemm and cublas<t>gemmStridedBatched: handle, then arguments, then the work.
template <typename T>
cublasStatus_t typed_gemm(cublasHandle_t handle, const Gemm& g, const T* alpha, const T* a, const T* b,
                          const T* beta, T* c) {
  cublasContext h;
  if (cublasStatus_t st = snapshot(handle, &h); st != CUBLAS_STATUS_SUCCESS) return st;
  if (cublasStatus_t st = check_gemm(g, alpha, beta); st != CUBLAS_STATUS_SUCCESS) return st;
  return submit<T>(h, g, alpha, beta, a, b, c);
}

// The algorithm values the header defines. They only select among GPU kernels (and are ignored by
// recent cuBLAS); any of them computes the same product here.
bool known_algo(cublasGemmAlgo_t algo) {
  const int v = static_cast<int>(algo);
  return v == CUBLAS_GEMM_DEFAULT || (v >= CUBLAS_GEMM_ALGO0 && v <= CUBLAS_GEMM_ALGO23) ||
         (v >= CUBLAS_GEMM_DEFAULT_TENSOR_OP && v <= CUBLAS_GEMM_ALGO15_TENSOR_OP) || v == CUBLAS_GEMM_AUTOTUNE;
}

bool is_compute_32f(cublasComputeType_t t) { return t == CUBLAS_COMPUTE_32F || t == CUBLAS_COMPUTE_32F_PEDANTIC; }
bool is_compute_32f_fast(cublasComputeType_t t) {
  return t == CUBLAS_COMPUTE_32F_FAST_16F || t == CUBLAS_COMPUTE_32F_FAST_16BF || t == CUBLAS_COMPUTE_32F_FAST_TF32;
}
bool is_compute_64f(cublasComputeType_t t) { return t == CUBLAS_COMPUTE_64F || t == CUBLAS_COMPUTE_64F_PEDANTIC; }

// cublasGemmEx / cublasGemmStridedBatchedEx. Implemented: A, B, C of one type and the compute types
// the cuBLAS GemmEx table allows for it — f32 with COMPUTE_32F[_PEDANTIC] or a COMPUTE_32F_FAST_*
// (computed as plain f32), f64 with COMPUTE_64F[_PEDANTIC], f16 and bf16 with COMPUTE_32F[_PEDANTIC]
// (the table has no FAST variant for them). Everything else is NOT_SUPPORTED, as cuBLAS answers
// for a combination it does not provide.
cublasStatus_t ex_gemm(cublasHandle_t handle, const Gemm& g, const void* alpha, const void* a, cudaDataType at,
                       const void* b, cudaDataType bt, const void* beta, void* c, cudaDataType ct,
                       cublasComputeType_t compute, cublasGemmAlgo_t algo) {
  cublasContext h;
  if (cublasStatus_t st = snapshot(handle, &h); st != CUBLAS_STATUS_SUCCESS) return st;
  if (cublasStatus_t st = check_gemm(g, alpha, beta); st != CUBLAS_STATUS_SUCCESS) return st;
  if (!known_algo(algo) || at != bt || at != ct) return CUBLAS_STATUS_NOT_SUPPORTED;
  if (at == CUDA_R_32F && (is_compute_32f(compute) || is_compute_32f_fast(compute)))
    return submit<float>(h, g, alpha, beta, a, b, c);
  if (at == CUDA_R_64F && is_compute_64f(compute)) return submit<double>(h, g, alpha, beta, a, b, c);
  if (at == CUDA_R_16F && is_compute_32f(compute)) return submit<__half>(h, g, alpha, beta, a, b, c);
  if (at == CUDA_R_16BF && is_compute_32f(compute)) return submit<__nv_bfloat16>(h, g, alpha, beta, a, b, c);
  return CUBLAS_STATUS_NOT_SUPPORTED;
}

}  // namespace
}  // namespace mm::cuda::emu

namespace emu = mm::cuda::emu;

// ---------------------------------------------------------------------------------------------
// The cuBLAS API (names as cublas_v2.h maps them, C linkage as cublas_api.h declares them)

extern "C" {

cublasStatus_t CUBLASWINAPI cublasCreate(cublasHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  auto ctx = std::make_unique<cublasContext>();
  cublasContext* raw = ctx.get();
  emu::HandleRegistry& r = emu::registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.all.emplace(raw, std::move(ctx));
  *handle = raw;
  return CUBLAS_STATUS_SUCCESS;
}

// cuBLAS documents that destroying a handle implicitly synchronises the device, so queued work
// (this handle's and everyone else's) has run when cublasDestroy returns.
cublasStatus_t CUBLASWINAPI cublasDestroy(cublasHandle_t handle) {
  cublasStatus_t st = emu::with_handle(handle, [](cublasContext& c) {
    c.alive = false;
    return CUBLAS_STATUS_SUCCESS;
  });
  if (st == CUBLAS_STATUS_SUCCESS) emu::flush_all();
  return st;
}

// The library version does not depend on the handle; like cuBLAS, only the output is checked.
cublasStatus_t CUBLASWINAPI cublasGetVersion(cublasHandle_t, int* version) {
  if (version == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *version = CUBLAS_VERSION;
  return CUBLAS_STATUS_SUCCESS;
}

// The stream is not checked here: as with cuBLAS, a bad stream only fails the launches that use it.
cublasStatus_t CUBLASWINAPI cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  return emu::with_handle(handle, [&](cublasContext& c) {
    c.stream = stream;
    return CUBLAS_STATUS_SUCCESS;
  });
}

cublasStatus_t CUBLASWINAPI cublasGetStream(cublasHandle_t handle, cudaStream_t* stream) {
  return emu::with_handle(handle, [&](cublasContext& c) {
    if (stream == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    *stream = c.stream;
    return CUBLAS_STATUS_SUCCESS;
  });
}

cublasStatus_t CUBLASWINAPI cublasSetPointerMode(cublasHandle_t handle, cublasPointerMode_t mode) {
  return emu::with_handle(handle, [&](cublasContext& c) {
    if (!emu::valid_pointer_mode(mode)) return CUBLAS_STATUS_INVALID_VALUE;
    c.pointer_mode = mode;
    return CUBLAS_STATUS_SUCCESS;
  });
}

cublasStatus_t CUBLASWINAPI cublasGetPointerMode(cublasHandle_t handle, cublasPointerMode_t* mode) {
  return emu::with_handle(handle, [&](cublasContext& c) {
    if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = c.pointer_mode;
    return CUBLAS_STATUS_SUCCESS;
  });
}

cublasStatus_t CUBLASWINAPI cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  return emu::with_handle(handle, [&](cublasContext& c) {
    if (!emu::valid_math_mode(mode)) return CUBLAS_STATUS_INVALID_VALUE;
    c.math_mode = mode;
    return CUBLAS_STATUS_SUCCESS;
  });
}

cublasStatus_t CUBLASWINAPI cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  return emu::with_handle(handle, [&](cublasContext& c) {
    if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = c.math_mode;
    return CUBLAS_STATUS_SUCCESS;
  });
}

const char* CUBLASWINAPI cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "<unknown>";
}

// The meanings the cuBLAS documentation gives each status, in our words.
const char* CUBLASWINAPI cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized (null or destroyed handle)";
    case CUBLAS_STATUS_ALLOC_FAILED: return "resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an unsupported value or parameter was passed to the function";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "the function requires a feature absent from the device architecture";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal cuBLAS operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "the functionality requested requires some license";
  }
  return "unknown cuBLAS status";
}

cublasStatus_t CUBLASWINAPI cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                        int m, int n, int k, const float* alpha, const float* A, int lda,
                                        const float* B, int ldb, const float* beta, float* C, int ldc) {
  return emu::typed_gemm(handle, {transa, transb, m, n, k, lda, ldb, ldc}, alpha, A, B, beta, C);
}

cublasStatus_t CUBLASWINAPI cublasDgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                        int m, int n, int k, const double* alpha, const double* A, int lda,
                                        const double* B, int ldb, const double* beta, double* C, int ldc) {
  return emu::typed_gemm(handle, {transa, transb, m, n, k, lda, ldb, ldc}, alpha, A, B, beta, C);
}

cublasStatus_t CUBLASWINAPI cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                                      cublasOperation_t transb, int m, int n, int k,
                                                      const float* alpha, const float* A, int lda,
                                                      long long int strideA, const float* B, int ldb,
                                                      long long int strideB, const float* beta, float* C, int ldc,
                                                      long long int strideC, int batchCount) {
  return emu::typed_gemm(handle, {transa, transb, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, batchCount},
                         alpha, A, B, beta, C);
}

cublasStatus_t CUBLASWINAPI cublasDgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                                      cublasOperation_t transb, int m, int n, int k,
                                                      const double* alpha, const double* A, int lda,
                                                      long long int strideA, const double* B, int ldb,
                                                      long long int strideB, const double* beta, double* C,
                                                      int ldc, long long int strideC, int batchCount) {
  return emu::typed_gemm(handle, {transa, transb, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, batchCount},
                         alpha, A, B, beta, C);
}

cublasStatus_t CUBLASWINAPI cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype,
                                         int lda, const void* B, cudaDataType Btype, int ldb, const void* beta,
                                         void* C, cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                                         cublasGemmAlgo_t algo) {
  return emu::ex_gemm(handle, {transa, transb, m, n, k, lda, ldb, ldc}, alpha, A, Atype, B, Btype, beta, C, Ctype,
                      computeType, algo);
}

cublasStatus_t CUBLASWINAPI cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                                       cublasOperation_t transb, int m, int n, int k,
                                                       const void* alpha, const void* A, cudaDataType Atype, int lda,
                                                       long long int strideA, const void* B, cudaDataType Btype,
                                                       int ldb, long long int strideB, const void* beta, void* C,
                                                       cudaDataType Ctype, int ldc, long long int strideC,
                                                       int batchCount, cublasComputeType_t computeType,
                                                       cublasGemmAlgo_t algo) {
  return emu::ex_gemm(handle, {transa, transb, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, batchCount},
                      alpha, A, Atype, B, Btype, beta, C, Ctype, computeType, algo);
}

}  // extern "C"
