// The emulated cuBLAS (runtime/cuda/emulation/cublas.cpp) against a naive triple-loop reference in
// double written here: every (transa, transb) pair, empty and degenerate shapes, padded leading
// dimensions and batch strides (the padding is poisoned and must survive), alpha/beta including 0
// and negative, beta == 0 over NaN, strided batches, GemmEx in f32/f64/f16/bf16, the documented
// argument errors, both pointer modes and the asynchronous (lazy stream) execution.
//
// The emulated device memory is host memory, so plain host buffers stand in for device buffers.
// Queued work runs when the stream is flushed; every test flushes before reading results.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/cuda/emulation/emulator.h"

namespace mm::cuda::emu {
namespace {

// ---------------------------------------------------------------------------------------------
// Element types

template <typename T>
struct Traits;

template <>
struct Traits<float> {
  using Scalar = float;
  static constexpr cudaDataType type = CUDA_R_32F;
  static constexpr cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  static constexpr double eps = 0x1p-23;
  static constexpr double denorm_min = 0x1p-149;
  static double to_double(float x) { return x; }
  static float from_double(double x) { return static_cast<float>(x); }
};

template <>
struct Traits<double> {
  using Scalar = double;
  static constexpr cudaDataType type = CUDA_R_64F;
  static constexpr cublasComputeType_t compute = CUBLAS_COMPUTE_64F;
  static constexpr double eps = 0x1p-52;
  static constexpr double denorm_min = 0x1p-1074;
  static double to_double(double x) { return x; }
  static double from_double(double x) { return x; }
};

// f16/bf16: from_double goes through float, which is a correct rounding whenever x is exactly
// representable in float (true of every exact result of the dyadic grid below).
template <>
struct Traits<__half> {
  using Scalar = float;
  static constexpr cudaDataType type = CUDA_R_16F;
  static constexpr cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  static constexpr double eps = 0x1p-10;
  static constexpr double denorm_min = 0x1p-24;
  static double to_double(__half x) { return __half2float(x); }
  static __half from_double(double x) { return __float2half_rn(static_cast<float>(x)); }
};

template <>
struct Traits<__nv_bfloat16> {
  using Scalar = float;
  static constexpr cudaDataType type = CUDA_R_16BF;
  static constexpr cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  static constexpr double eps = 0x1p-7;
  static constexpr double denorm_min = 0x1p-133;
  static double to_double(__nv_bfloat16 x) { return __bfloat162float(x); }
  static __nv_bfloat16 from_double(double x) { return __float2bfloat16_rn(static_cast<float>(x)); }
};

template <typename T>
using Scalar = typename Traits<T>::Scalar;

// ---------------------------------------------------------------------------------------------
// Column-major batches of matrices inside one buffer poisoned with 0xFF bytes (a NaN in every
// floating type, as in the emulated device memory)

template <typename T>
struct Matrices {
  int rows, cols, ld;
  long long stride;  // elements between consecutive matrices (0: one matrix shared by the batch)
  int count;         // matrices stored
  std::vector<T> data;

  Matrices(int rows_, int cols_, int pad, int batch, int gap, bool broadcast)
      : rows(rows_), cols(cols_), ld(std::max(1, rows_) + pad) {
    const long long one = static_cast<long long>(ld) * std::max(1, cols);
    stride = broadcast ? 0 : one + gap;
    count = broadcast ? 1 : std::max(1, batch);
    data.resize(static_cast<size_t>((count - 1) * stride + one));
    std::memset(static_cast<void*>(data.data()), 0xFF, data.size() * sizeof(T));
  }
  T& at(int b, int i, int j) { return data[b * stride + i + static_cast<long long>(j) * ld]; }
  const T& at(int b, int i, int j) const { return data[b * stride + i + static_cast<long long>(j) * ld]; }
  int mat(int b) const { return stride == 0 ? 0 : b; }  // the stored matrix batch entry b uses
};

// Multiples of 1/8 in [-2, 2]: exact in f16, bf16, f32 and f64.
struct Dyadic {
  uint32_t state;
  double next() {
    state = state * 1664525u + 1013904223u;
    return static_cast<int>((state >> 8) % 33) / 8.0 - 2.0;
  }
};

template <typename T>
void fill(Matrices<T>& x, Dyadic& gen) {
  for (int b = 0; b < x.count; ++b)
    for (int j = 0; j < x.cols; ++j)
      for (int i = 0; i < x.rows; ++i) x.at(b, i, j) = Traits<T>::from_double(gen.next());
}

template <typename T>
bool same_bytes(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// ---------------------------------------------------------------------------------------------
// One GEMM case and its reference

struct Case {
  cublasOperation_t ta, tb;
  int m, n, k;
  int pad = 0;  // rows beyond the minimum leading dimension, in A, B and C
  double alpha = 1, beta = 0;
  bool batched = false;  // strided-batched entry point
  int batch = 1;
  int gap = 0;               // elements between the matrices of a batch
  bool broadcast_a = false;  // strideA = 0

  std::string str() const {
    std::ostringstream s;
    s << "op" << "NTC"[ta] << "NTC"[tb] << " m=" << m << " n=" << n << " k=" << k << " pad=" << pad
      << " alpha=" << alpha << " beta=" << beta;
    if (batched) s << " batch=" << batch << " gap=" << gap << (broadcast_a ? " strideA=0" : "");
    return s.str();
  }
};

// Element (i, l) of op(X) for batch entry b.
template <typename T>
double op_at(const Matrices<T>& x, cublasOperation_t op, int b, int i, int l) {
  const T& v = op == CUBLAS_OP_N ? x.at(x.mat(b), i, l) : x.at(x.mat(b), l, i);
  return Traits<T>::to_double(v);
}

struct Ref {
  double value;  // alpha sum_l op(A)(i,l) op(B)(l,j) + beta C(i,j), C not read when beta == 0
  double mag;    // |alpha| sum_l |op(A)(i,l) op(B)(l,j)| + |beta C(i,j)|, the scale of rounding errors
};

template <typename T>
Ref reference(const Case& c, const Matrices<T>& a, const Matrices<T>& b, const Matrices<T>& c0, int bi, int i, int j) {
  double dot = 0, abs_dot = 0;
  for (int l = 0; l < c.k; ++l) {
    const double p = op_at(a, c.ta, bi, i, l) * op_at(b, c.tb, bi, l, j);
    dot += p;
    abs_dot += std::fabs(p);
  }
  const double cij = c.beta == 0 ? 0.0 : c.beta * Traits<T>::to_double(c0.at(bi, i, j));
  return {c.alpha * dot + cij, std::fabs(c.alpha) * abs_dot + std::fabs(cij)};
}

// Exact comparison: with dyadic data every intermediate is exact in float and double, so the only
// admissible result is the reference rounded once to T.
struct Exact {
  template <typename T>
  bool operator()(T got, Ref r) const {
    return Traits<T>::to_double(got) == Traits<T>::to_double(Traits<T>::from_double(r.value));
  }
};

// ---------------------------------------------------------------------------------------------
// Calling the library

enum class Api { Typed, Ex };  // cublas<t>gemm[StridedBatched] or cublasGemm[StridedBatched]Ex

template <typename T>
cublasStatus_t call_gemm(Api api, cublasHandle_t h, const Case& c, const Scalar<T>* alpha, const Matrices<T>& a,
                         const Matrices<T>& b, const Scalar<T>* beta, Matrices<T>& out) {
  using Tr = Traits<T>;
  const T* pa = a.data.data();
  const T* pb = b.data.data();
  T* pc = out.data.data();
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    if (api == Api::Typed) {
      if constexpr (std::is_same_v<T, float>) {
        if (c.batched)
          return cublasSgemmStridedBatched(h, c.ta, c.tb, c.m, c.n, c.k, alpha, pa, a.ld, a.stride, pb, b.ld,
                                           b.stride, beta, pc, out.ld, out.stride, c.batch);
        return cublasSgemm(h, c.ta, c.tb, c.m, c.n, c.k, alpha, pa, a.ld, pb, b.ld, beta, pc, out.ld);
      } else {
        if (c.batched)
          return cublasDgemmStridedBatched(h, c.ta, c.tb, c.m, c.n, c.k, alpha, pa, a.ld, a.stride, pb, b.ld,
                                           b.stride, beta, pc, out.ld, out.stride, c.batch);
        return cublasDgemm(h, c.ta, c.tb, c.m, c.n, c.k, alpha, pa, a.ld, pb, b.ld, beta, pc, out.ld);
      }
    }
  }
  if (c.batched)
    return cublasGemmStridedBatchedEx(h, c.ta, c.tb, c.m, c.n, c.k, alpha, pa, Tr::type, a.ld, a.stride, pb, Tr::type,
                                      b.ld, b.stride, beta, pc, Tr::type, out.ld, out.stride, c.batch, Tr::compute,
                                      CUBLAS_GEMM_DEFAULT);
  return cublasGemmEx(h, c.ta, c.tb, c.m, c.n, c.k, alpha, pa, Tr::type, a.ld, pb, Tr::type, b.ld, beta, pc, Tr::type,
                      out.ld, Tr::compute, CUBLAS_GEMM_DEFAULT);
}

// Operands of a case: A, B and C with the case's layout (C's m x n blocks all NaN when beta == 0).
template <typename T>
struct Operands {
  Matrices<T> a, b, c;
  Operands(const Case& cs, uint32_t seed)
      : a(cs.ta == CUBLAS_OP_N ? cs.m : cs.k, cs.ta == CUBLAS_OP_N ? cs.k : cs.m, cs.pad, cs.batch, cs.gap,
          cs.broadcast_a),
        b(cs.tb == CUBLAS_OP_N ? cs.k : cs.n, cs.tb == CUBLAS_OP_N ? cs.n : cs.k, cs.pad, cs.batch, cs.gap, false),
        c(cs.m, cs.n, cs.pad, cs.batch, cs.gap, false) {
    Dyadic gen{seed};
    fill(a, gen);
    fill(b, gen);
    if (cs.beta != 0) fill(c, gen);
  }
};

// Checks C after the call: each m x n block of the first `batch` matrices against the reference
// with `ok`, and every other byte of the buffer (padding, gaps, untouched matrices) unchanged.
template <typename T, typename Ok>
::testing::AssertionResult check_result(const Case& cs, const Operands<T>& in, const Matrices<T>& before,
                                        const Matrices<T>& got, Ok ok) {
  std::vector<bool> written(got.data.size(), false);
  if (cs.m > 0 && cs.n > 0)
    for (int bi = 0; bi < (cs.batched ? cs.batch : 1); ++bi)
      for (int j = 0; j < cs.n; ++j)
        for (int i = 0; i < cs.m; ++i) {
          const size_t pos = &got.at(bi, i, j) - got.data.data();
          written[pos] = true;
          const Ref r = reference(cs, in.a, in.b, before, bi, i, j);
          const T g = got.data[pos];
          if (!ok(g, r))
            return ::testing::AssertionFailure()
                   << cs.str() << ": C[" << bi << "](" << i << "," << j << ") = " << Traits<T>::to_double(g)
                   << ", reference " << r.value << " (magnitude " << r.mag << ")";
        }
  for (size_t p = 0; p < got.data.size(); ++p)
    if (!written[p] && !same_bytes(got.data[p], before.data[p]))
      return ::testing::AssertionFailure() << cs.str() << ": element " << p << " outside the result was modified";
  return ::testing::AssertionSuccess();
}

template <typename T, typename Ok = Exact>
::testing::AssertionResult run_case(Api api, cublasHandle_t h, const Case& cs, uint32_t seed, Ok ok = {}) {
  Operands<T> in(cs, seed);
  const Matrices<T> before = in.c;
  const Scalar<T> alpha = static_cast<Scalar<T>>(cs.alpha), beta = static_cast<Scalar<T>>(cs.beta);
  const cublasStatus_t st = call_gemm<T>(api, h, cs, &alpha, in.a, in.b, &beta, in.c);
  if (st != CUBLAS_STATUS_SUCCESS)
    return ::testing::AssertionFailure() << cs.str() << ": returned " << cublasGetStatusName(st);
  flush_all();
  return check_result(cs, in, before, in.c, ok);
}

class CublasEmulation : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(cublasCreate(&h_), CUBLAS_STATUS_SUCCESS); }
  void TearDown() override {
    if (h_ != nullptr) {
      EXPECT_EQ(cublasDestroy(h_), CUBLAS_STATUS_SUCCESS);
    }
  }
  cublasHandle_t h_ = nullptr;
};

constexpr cublasOperation_t kOps[] = {CUBLAS_OP_N, CUBLAS_OP_T, CUBLAS_OP_C};

// ---------------------------------------------------------------------------------------------
// Results: grids over shapes, ops, leading dimensions and scalars

// Shapes include empty C (m or n = 0), k = 0 (C = beta C), 1 and non-square. Exactness: inputs are
// multiples of 1/8 in [-2, 2], k <= 9 and alpha, beta are dyadic, so every product, sum and scaled
// term needs at most 14 significant bits: exact in float and double in any order.
template <typename T>
void single_grid(Api api, cublasHandle_t h) {
  const int shapes[][3] = {{0, 3, 2}, {3, 0, 2}, {3, 2, 0}, {1, 1, 1}, {1, 4, 3},
                           {4, 1, 3}, {5, 3, 4}, {2, 6, 9}, {7, 5, 1}};
  uint32_t seed = 1;
  for (cublasOperation_t ta : kOps)
    for (cublasOperation_t tb : kOps)
      for (const auto& s : shapes)
        for (int pad : {0, 2})
          for (double alpha : {1.0, -1.5, 0.0})
            for (double beta : {0.0, 0.5, -2.0}) {
              Case cs{ta, tb, s[0], s[1], s[2], pad, alpha, beta};
              ASSERT_TRUE(run_case<T>(api, h, cs, seed++));
            }
}

TEST_F(CublasEmulation, SgemmGrid) { single_grid<float>(Api::Typed, h_); }
TEST_F(CublasEmulation, DgemmGrid) { single_grid<double>(Api::Typed, h_); }
TEST_F(CublasEmulation, GemmExF32Grid) { single_grid<float>(Api::Ex, h_); }
TEST_F(CublasEmulation, GemmExF64Grid) { single_grid<double>(Api::Ex, h_); }
TEST_F(CublasEmulation, GemmExF16Grid) { single_grid<__half>(Api::Ex, h_); }
TEST_F(CublasEmulation, GemmExBf16Grid) { single_grid<__nv_bfloat16>(Api::Ex, h_); }

// Batches of 0, 1 and 3 with strides larger than a matrix (the gaps are poisoned and must survive),
// and strideA = 0 (one A shared by the whole batch).
template <typename T>
void batched_grid(Api api, cublasHandle_t h) {
  const int shapes[][3] = {{3, 4, 2}, {1, 1, 1}, {2, 3, 0}, {0, 2, 2}, {4, 2, 5}};
  const double scalars[][2] = {{1.0, 0.0}, {-1.5, 0.5}};
  uint32_t seed = 1000;
  for (cublasOperation_t ta : kOps)
    for (cublasOperation_t tb : kOps)
      for (const auto& s : shapes)
        for (int batch : {0, 1, 3})
          for (bool broadcast : {false, true})
            for (const auto& ab : scalars) {
              Case cs{ta, tb, s[0], s[1], s[2], 1, ab[0], ab[1], true, batch, 3, broadcast};
              ASSERT_TRUE(run_case<T>(api, h, cs, seed++));
            }
}

TEST_F(CublasEmulation, SgemmStridedBatchedGrid) { batched_grid<float>(Api::Typed, h_); }
TEST_F(CublasEmulation, DgemmStridedBatchedGrid) { batched_grid<double>(Api::Typed, h_); }
TEST_F(CublasEmulation, GemmStridedBatchedExF32Grid) { batched_grid<float>(Api::Ex, h_); }
TEST_F(CublasEmulation, GemmStridedBatchedExF64Grid) { batched_grid<double>(Api::Ex, h_); }
TEST_F(CublasEmulation, GemmStridedBatchedExF16Grid) { batched_grid<__half>(Api::Ex, h_); }
TEST_F(CublasEmulation, GemmStridedBatchedExBf16Grid) { batched_grid<__nv_bfloat16>(Api::Ex, h_); }

// Non-dyadic data, where rounding happens, against an error bound. e = (k + 2) eps_acc mag bounds
// the accumulation in the compute type (eps_acc: the f32 or f64 epsilon): each term goes through at
// most k + 2 roundings (its product, k - 1 additions, the alpha product, the final add), i.e.
// gamma_{k+2} = (k+2)u / (1 - (k+2)u) <= (k+2) * 2u = (k+2) eps. f16/bf16 then round once to the
// output type: at most half an ulp, u_T (|ref| + e) with u_T = eps_T / 2, or half the smallest
// subnormal near zero. For f32/f64 that final rounding is already the "final add" above.
template <typename T>
struct Bound {
  int k;
  bool operator()(T got, Ref r) const {
    const bool low = !std::is_same_v<T, Scalar<T>>;
    const double eps_acc = low ? Traits<float>::eps : Traits<T>::eps;
    const double e = (k + 2) * eps_acc * r.mag;
    const double tol = low ? e + Traits<T>::eps / 2 * (std::fabs(r.value) + e) + Traits<T>::denorm_min / 2 : e;
    return std::fabs(Traits<T>::to_double(got) - r.value) <= tol;
  }
};

template <typename T>
void random_values(Api api, cublasHandle_t h) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (cublasOperation_t ta : kOps)
    for (cublasOperation_t tb : kOps) {
      Case cs{ta, tb, 6, 5, 37, 1, -1.3, 0.6};
      cs.alpha = static_cast<Scalar<T>>(cs.alpha);  // the reference uses the scalars the library sees
      cs.beta = static_cast<Scalar<T>>(cs.beta);
      Operands<T> in(cs, 7);
      for (Matrices<T>* x : {&in.a, &in.b, &in.c})
        for (int j = 0; j < x->cols; ++j)
          for (int i = 0; i < x->rows; ++i) x->at(0, i, j) = Traits<T>::from_double(dist(rng));
      const Matrices<T> before = in.c;
      const Scalar<T> alpha = static_cast<Scalar<T>>(cs.alpha), beta = static_cast<Scalar<T>>(cs.beta);
      ASSERT_EQ(call_gemm<T>(api, h, cs, &alpha, in.a, in.b, &beta, in.c), CUBLAS_STATUS_SUCCESS);
      flush_all();
      ASSERT_TRUE(check_result(cs, in, before, in.c, Bound<T>{cs.k}));
    }
}

TEST_F(CublasEmulation, SgemmRandomValuesWithinErrorBound) { random_values<float>(Api::Typed, h_); }
TEST_F(CublasEmulation, DgemmRandomValuesWithinErrorBound) { random_values<double>(Api::Typed, h_); }
TEST_F(CublasEmulation, GemmExF16RandomValuesWithinErrorBound) { random_values<__half>(Api::Ex, h_); }
TEST_F(CublasEmulation, GemmExBf16RandomValuesWithinErrorBound) { random_values<__nv_bfloat16>(Api::Ex, h_); }

// f16/bf16 with COMPUTE_32F accumulate in float and round once: big + 1 + ... + 1 where each
// "+ 1" alone is a tie that rounds back to big in the storage type (big = 2048 in f16, 256 in bf16,
// where the spacing is 2). Rounding after every step, or before adding beta C, gives big instead.
template <typename T>
void accumulates_in_float(cublasHandle_t h, double big) {
  const int k = 9;
  std::vector<T> a(k, Traits<T>::from_double(1.0)), b(k, Traits<T>::from_double(1.0));
  a[0] = Traits<T>::from_double(big);
  T c = Traits<T>::from_double(1.0);
  const float one = 1.0f, zero = 0.0f;
  using Tr = Traits<T>;
  // 1 x 1 result: row of A (1 x k, lda 1) times column of B (k x 1).
  ASSERT_EQ(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, k, &one, a.data(), Tr::type, 1, b.data(), Tr::type, k,
                         &zero, &c, Tr::type, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_SUCCESS);
  flush_all();
  EXPECT_EQ(Tr::to_double(c), big + 8);
  // alpha (big + 1) + beta * 1: exact big + 2 only if alpha A B is not rounded before adding beta C.
  c = Tr::from_double(1.0);
  ASSERT_EQ(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 2, &one, a.data(), Tr::type, 1, b.data(), Tr::type, 2,
                         &one, &c, Tr::type, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_SUCCESS);
  flush_all();
  EXPECT_EQ(Tr::to_double(c), big + 2);
}

TEST_F(CublasEmulation, F16AccumulatesInFloatAndRoundsOnce) { accumulates_in_float<__half>(h_, 2048); }
TEST_F(CublasEmulation, Bf16AccumulatesInFloatAndRoundsOnce) { accumulates_in_float<__nv_bfloat16>(h_, 256); }

// The emulator's choice where cuBLAS documents nothing: alpha == 0 reads neither A nor B (the
// reference BLAS rule), so NaN in them does not reach C = beta C. Same for every type.
template <typename T>
void alpha_zero_ignores_ab(Api api, cublasHandle_t h) {
  Case cs{CUBLAS_OP_N, CUBLAS_OP_T, 3, 2, 4, 1, 0.0, -2.0};
  Operands<T> in(cs, 5);
  std::memset(static_cast<void*>(in.a.data.data()), 0xFF, in.a.data.size() * sizeof(T));
  std::memset(static_cast<void*>(in.b.data.data()), 0xFF, in.b.data.size() * sizeof(T));
  const Matrices<T> before = in.c;
  const Scalar<T> alpha = 0, beta = -2;
  ASSERT_EQ(call_gemm<T>(api, h, cs, &alpha, in.a, in.b, &beta, in.c), CUBLAS_STATUS_SUCCESS);
  flush_all();
  for (int j = 0; j < cs.n; ++j)
    for (int i = 0; i < cs.m; ++i)
      EXPECT_EQ(Traits<T>::to_double(in.c.at(0, i, j)), -2 * Traits<T>::to_double(before.at(0, i, j)));
}

TEST_F(CublasEmulation, AlphaZeroReadsNeitherAnorB) {
  alpha_zero_ignores_ab<float>(Api::Typed, h_);
  alpha_zero_ignores_ab<double>(Api::Typed, h_);
  alpha_zero_ignores_ab<__half>(Api::Ex, h_);
  alpha_zero_ignores_ab<__nv_bfloat16>(Api::Ex, h_);
}

// ---------------------------------------------------------------------------------------------
// Asynchrony, streams, pointer modes

// A 2 x 2 f32 product used by the stream and pointer-mode tests: C = alpha A B + beta C with
// A = [1 2; 3 4], B = [5 6; 7 8] (column-major below), so A B = [19 22; 43 50].
struct Small {
  float a[4] = {1, 3, 2, 4};
  float b[4] = {5, 7, 6, 8};
  float c[4];
  Small() { poison(); }
  void poison() { std::memset(c, 0xFF, sizeof c); }
  bool poisoned() const {
    for (float x : c)
      if (!std::isnan(x)) return false;
    return true;
  }
  cublasStatus_t run(cublasHandle_t h, const float* alpha, const float* beta) {
    return cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, alpha, a, 2, b, 2, beta, c, 2);
  }
  // C == s * A B + t, element by element (column-major [19 43 22 50]).
  void expect(float s, float t) const {
    const float ab[4] = {19, 43, 22, 50};
    for (int i = 0; i < 4; ++i) EXPECT_EQ(c[i], s * ab[i] + t) << "element " << i;
  }
};

// The lazy stream: the call only queues the work; C changes when the stream is flushed. This is
// what makes a missing synchronisation in project code show up as a wrong result in tests.
TEST_F(CublasEmulation, WorkIsQueuedUntilTheStreamIsFlushed) {
  Small s;
  const float one = 1, zero = 0;
  ASSERT_EQ(s.run(h_, &one, &zero), CUBLAS_STATUS_SUCCESS);
  EXPECT_TRUE(s.poisoned()) << "the GEMM ran before its stream was flushed";
  ASSERT_EQ(flush(nullptr), cudaSuccess);
  s.expect(1, 0);
}

TEST_F(CublasEmulation, WorkRunsOnTheHandlesStream) {
  cudaStream_t got = cudaStreamPerThread;
  ASSERT_EQ(cublasGetStream(h_, &got), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(got, nullptr) << "a new handle uses the default stream";
  ASSERT_EQ(cublasSetStream(h_, cudaStreamPerThread), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasGetStream(h_, &got), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(got, cudaStreamPerThread);
  Small s;
  const float one = 1, zero = 0;
  ASSERT_EQ(s.run(h_, &one, &zero), CUBLAS_STATUS_SUCCESS);
  EXPECT_TRUE(s.poisoned());
  ASSERT_EQ(flush(cudaStreamPerThread), cudaSuccess);
  s.expect(1, 0);
  ASSERT_EQ(cublasSetStream(h_, nullptr), CUBLAS_STATUS_SUCCESS);  // 0: back to the default stream
  ASSERT_EQ(cublasGetStream(h_, &got), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(got, nullptr);
}

// A launch on a stream the runtime does not know fails like a kernel launch: EXECUTION_FAILED,
// the CUDA error recorded as the thread's last error, nothing queued.
TEST_F(CublasEmulation, UnknownStreamFailsTheLaunch) {
  int not_a_stream = 0;
  ASSERT_EQ(cublasSetStream(h_, reinterpret_cast<cudaStream_t>(&not_a_stream)), CUBLAS_STATUS_SUCCESS);
  (void)cudaGetLastError();
  Small s;
  const float one = 1, zero = 0;
  EXPECT_EQ(s.run(h_, &one, &zero), CUBLAS_STATUS_EXECUTION_FAILED);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidResourceHandle);
  flush_all();
  EXPECT_TRUE(s.poisoned());
}

// cuBLAS documents that cublasDestroy synchronises the device: queued work has run afterwards.
TEST_F(CublasEmulation, DestroyRunsQueuedWork) {
  Small s;
  const float one = 1, zero = 0;
  ASSERT_EQ(s.run(h_, &one, &zero), CUBLAS_STATUS_SUCCESS);
  EXPECT_TRUE(s.poisoned());
  ASSERT_EQ(cublasDestroy(h_), CUBLAS_STATUS_SUCCESS);
  h_ = nullptr;
  s.expect(1, 0);
}

// Host pointer mode: alpha and beta are read during the call; changing them afterwards, before the
// work runs, has no effect.
TEST_F(CublasEmulation, HostPointerModeReadsScalarsAtCallTime) {
  cublasPointerMode_t mode = CUBLAS_POINTER_MODE_DEVICE;
  ASSERT_EQ(cublasGetPointerMode(h_, &mode), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(mode, CUBLAS_POINTER_MODE_HOST) << "the default pointer mode";
  Small s;
  float alpha = 2, beta = 0;
  ASSERT_EQ(s.run(h_, &alpha, &beta), CUBLAS_STATUS_SUCCESS);
  alpha = 3;
  beta = 1;
  flush_all();
  s.expect(2, 0);
}

// Device pointer mode: alpha and beta are read when the work runs, as a kernel reads them; beta
// that is 0 by then still means C is not read (C is NaN here).
TEST_F(CublasEmulation, DevicePointerModeReadsScalarsWhenTheWorkRuns) {
  ASSERT_EQ(cublasSetPointerMode(h_, CUBLAS_POINTER_MODE_DEVICE), CUBLAS_STATUS_SUCCESS);
  cublasPointerMode_t mode = CUBLAS_POINTER_MODE_HOST;
  ASSERT_EQ(cublasGetPointerMode(h_, &mode), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(mode, CUBLAS_POINTER_MODE_DEVICE);
  Small s;
  float scalars[2] = {2, 5};  // "device" alpha, beta
  ASSERT_EQ(s.run(h_, &scalars[0], &scalars[1]), CUBLAS_STATUS_SUCCESS);
  scalars[0] = 3;
  scalars[1] = 0;
  flush_all();
  s.expect(3, 0);
  // beta read at run time too: C = 1 * A B + 2 * (3 A B) = 7 A B.
  scalars[0] = 9;
  ASSERT_EQ(s.run(h_, &scalars[0], &scalars[1]), CUBLAS_STATUS_SUCCESS);
  scalars[0] = 1;
  scalars[1] = 2;
  flush_all();
  s.expect(7, 0);
}

TEST_F(CublasEmulation, DevicePointerModeGemmExF16) {
  ASSERT_EQ(cublasSetPointerMode(h_, CUBLAS_POINTER_MODE_DEVICE), CUBLAS_STATUS_SUCCESS);
  const __half a[4] = {__float2half_rn(1), __float2half_rn(3), __float2half_rn(2), __float2half_rn(4)};
  const __half b[4] = {__float2half_rn(5), __float2half_rn(7), __float2half_rn(6), __float2half_rn(8)};
  __half c[4];
  std::memset(static_cast<void*>(c), 0xFF, sizeof c);
  float scalars[2] = {1, 1};  // compute type 32F: float alpha and beta
  ASSERT_EQ(cublasGemmEx(h_, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &scalars[0], a, CUDA_R_16F, 2, b, CUDA_R_16F, 2,
                         &scalars[1], c, CUDA_R_16F, 2, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_SUCCESS);
  scalars[0] = -0.5f;
  scalars[1] = 0;
  flush_all();
  const float want[4] = {-9.5f, -21.5f, -11, -25};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(__half2float(c[i]), want[i]) << "element " << i;
}

// ---------------------------------------------------------------------------------------------
// Argument validation: the documented status, and nothing queued

enum class Entry { Sgemm, Dgemm, SgemmBatched, DgemmBatched, GemmEx, GemmBatchedEx };
constexpr Entry kEntries[] = {Entry::Sgemm,        Entry::Dgemm,  Entry::SgemmBatched,
                              Entry::DgemmBatched, Entry::GemmEx, Entry::GemmBatchedEx};

bool is_batched(Entry e) { return e == Entry::SgemmBatched || e == Entry::DgemmBatched || e == Entry::GemmBatchedEx; }

struct Args {
  cublasOperation_t ta = CUBLAS_OP_N, tb = CUBLAS_OP_N;
  int m = 2, n = 3, k = 4;
  int lda = 2, ldb = 4, ldc = 2;
  bool null_alpha = false, null_beta = false;
  int batch = 1;
};

// Buffers large enough for every call below; C starts poisoned and must stay so.
struct Buffers {
  float fa[64] = {}, fb[64] = {}, fc[64];
  double da[64] = {}, db[64] = {}, dc[64];
  Buffers() {
    std::memset(fc, 0xFF, sizeof fc);
    std::memset(dc, 0xFF, sizeof dc);
  }
  bool untouched() const {
    for (int i = 0; i < 64; ++i)
      if (!std::isnan(fc[i]) || !std::isnan(dc[i])) return false;
    return true;
  }
};

cublasStatus_t call_entry(Entry e, cublasHandle_t h, const Args& x, Buffers& buf) {
  const float f1 = 1, *fal = x.null_alpha ? nullptr : &f1, *fbe = x.null_beta ? nullptr : &f1;
  const double d1 = 1, *dal = x.null_alpha ? nullptr : &d1, *dbe = x.null_beta ? nullptr : &d1;
  const long long s = 0;
  switch (e) {
    case Entry::Sgemm:
      return cublasSgemm(h, x.ta, x.tb, x.m, x.n, x.k, fal, buf.fa, x.lda, buf.fb, x.ldb, fbe, buf.fc, x.ldc);
    case Entry::Dgemm:
      return cublasDgemm(h, x.ta, x.tb, x.m, x.n, x.k, dal, buf.da, x.lda, buf.db, x.ldb, dbe, buf.dc, x.ldc);
    case Entry::SgemmBatched:
      return cublasSgemmStridedBatched(h, x.ta, x.tb, x.m, x.n, x.k, fal, buf.fa, x.lda, s, buf.fb, x.ldb, s, fbe,
                                       buf.fc, x.ldc, s, x.batch);
    case Entry::DgemmBatched:
      return cublasDgemmStridedBatched(h, x.ta, x.tb, x.m, x.n, x.k, dal, buf.da, x.lda, s, buf.db, x.ldb, s, dbe,
                                       buf.dc, x.ldc, s, x.batch);
    case Entry::GemmEx:
      return cublasGemmEx(h, x.ta, x.tb, x.m, x.n, x.k, fal, buf.fa, CUDA_R_32F, x.lda, buf.fb, CUDA_R_32F, x.ldb,
                          fbe, buf.fc, CUDA_R_32F, x.ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    case Entry::GemmBatchedEx:
      return cublasGemmStridedBatchedEx(h, x.ta, x.tb, x.m, x.n, x.k, fal, buf.fa, CUDA_R_32F, x.lda, s, buf.fb,
                                        CUDA_R_32F, x.ldb, s, fbe, buf.fc, CUDA_R_32F, x.ldc, s, x.batch,
                                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  }
  return CUBLAS_STATUS_INTERNAL_ERROR;
}

// Calls every entry point (batched ones only when `batched_only`) with `x` and expects `want`; a
// failing call must also have queued nothing (C still poisoned after a flush).
void expect_status(cublasHandle_t h, const Args& x, cublasStatus_t want, const std::string& what,
                   bool batched_only = false) {
  for (Entry e : kEntries) {
    if (batched_only && !is_batched(e)) continue;
    Buffers buf;
    EXPECT_EQ(call_entry(e, h, x, buf), want) << what << " (entry " << static_cast<int>(e) << ")";
    flush_all();
    if (want != CUBLAS_STATUS_SUCCESS) {
      EXPECT_TRUE(buf.untouched()) << what << " (entry " << static_cast<int>(e) << ") wrote C";
    }
  }
}

TEST_F(CublasEmulation, ValidArgumentsSucceed) {  // the baseline the invalid cases below vary
  for (Entry e : kEntries) {
    Buffers buf;
    EXPECT_EQ(call_entry(e, h_, Args{}, buf), CUBLAS_STATUS_SUCCESS);
    flush_all();  // before buf goes out of scope: the queued work reads and writes it
  }
}

TEST_F(CublasEmulation, NegativeDimensionsAreInvalid) {
  Args x;
  x.m = -1;
  expect_status(h_, x, CUBLAS_STATUS_INVALID_VALUE, "m < 0");
  x = Args{};
  x.n = -1;
  expect_status(h_, x, CUBLAS_STATUS_INVALID_VALUE, "n < 0");
  x = Args{};
  x.k = -1;
  expect_status(h_, x, CUBLAS_STATUS_INVALID_VALUE, "k < 0");
  x = Args{};
  x.batch = -1;
  expect_status(h_, x, CUBLAS_STATUS_INVALID_VALUE, "batchCount < 0", true);
}

// CUBLAS_OP_CONJG is the only value of the enum that is not N/T/C ("placeholder, not supported").
// Values outside the enum's range cannot be formed in C++ without undefined behaviour, so they
// are not tried here (the implementation rejects them too).
TEST_F(CublasEmulation, ConjugateWithoutTransposeIsInvalid) {
  Args x;
  x.ta = CUBLAS_OP_CONJG;
  expect_status(h_, x, CUBLAS_STATUS_INVALID_VALUE, "transa = CUBLAS_OP_CONJG");
  x = Args{};
  x.tb = CUBLAS_OP_CONJG;
  expect_status(h_, x, CUBLAS_STATUS_INVALID_VALUE, "transb = CUBLAS_OP_CONJG");
}

// lda >= max(1, transa == N ? m : k), ldb >= max(1, transb == N ? k : n), ldc >= max(1, m): the
// minimum is accepted, one less is not, and 0 is never valid even for an empty matrix.
TEST_F(CublasEmulation, LeadingDimensionsBelowTheMinimumAreInvalid) {
  for (cublasOperation_t ta : kOps)
    for (cublasOperation_t tb : kOps)
      for (const auto& d : {std::array<int, 3>{2, 3, 4}, std::array<int, 3>{5, 1, 3}}) {
        Args x;
        x.ta = ta;
        x.tb = tb;
        x.m = d[0];
        x.n = d[1];
        x.k = d[2];
        x.lda = ta == CUBLAS_OP_N ? x.m : x.k;
        x.ldb = tb == CUBLAS_OP_N ? x.k : x.n;
        x.ldc = x.m;
        const std::string where = std::string(" op") + "NTC"[ta] + "NTC"[tb];
        expect_status(h_, x, CUBLAS_STATUS_SUCCESS, "minimum leading dimensions" + where);
        Args bad = x;
        --bad.lda;
        expect_status(h_, bad, CUBLAS_STATUS_INVALID_VALUE, "lda one below the minimum" + where);
        bad = x;
        --bad.ldb;
        expect_status(h_, bad, CUBLAS_STATUS_INVALID_VALUE, "ldb one below the minimum" + where);
        bad = x;
        --bad.ldc;
        expect_status(h_, bad, CUBLAS_STATUS_INVALID_VALUE, "ldc one below the minimum" + where);
      }
  Args empty;  // m = n = k = 0: every leading dimension must still be at least 1
  empty.m = empty.n = empty.k = 0;
  empty.lda = empty.ldb = empty.ldc = 1;
  expect_status(h_, empty, CUBLAS_STATUS_SUCCESS, "empty with leading dimensions 1");
  for (int which = 0; which < 3; ++which) {
    Args bad = empty;
    (which == 0 ? bad.lda : which == 1 ? bad.ldb : bad.ldc) = 0;
    expect_status(h_, bad, CUBLAS_STATUS_INVALID_VALUE, "empty with a leading dimension 0");
  }
}

TEST_F(CublasEmulation, NullScalarsAreInvalidInBothPointerModes) {
  for (cublasPointerMode_t mode : {CUBLAS_POINTER_MODE_HOST, CUBLAS_POINTER_MODE_DEVICE}) {
    ASSERT_EQ(cublasSetPointerMode(h_, mode), CUBLAS_STATUS_SUCCESS);
    Args x;
    x.null_alpha = true;
    expect_status(h_, x, CUBLAS_STATUS_INVALID_VALUE, "alpha == NULL");
    x = Args{};
    x.null_beta = true;
    expect_status(h_, x, CUBLAS_STATUS_INVALID_VALUE, "beta == NULL");
    x.m = 0;  // also when there is nothing to compute: arguments are checked first
    expect_status(h_, x, CUBLAS_STATUS_INVALID_VALUE, "beta == NULL with m == 0");
  }
}

TEST_F(CublasEmulation, NullOrDestroyedHandleIsNotInitialized) {
  Args bad;
  bad.m = -1;  // the handle is checked before the arguments
  expect_status(nullptr, Args{}, CUBLAS_STATUS_NOT_INITIALIZED, "null handle");
  expect_status(nullptr, bad, CUBLAS_STATUS_NOT_INITIALIZED, "null handle and m < 0");
  cublasHandle_t dead = nullptr;
  ASSERT_EQ(cublasCreate(&dead), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasDestroy(dead), CUBLAS_STATUS_SUCCESS);
  cublasHandle_t fresh = nullptr;  // a handle created afterwards does not revive the old one
  ASSERT_EQ(cublasCreate(&fresh), CUBLAS_STATUS_SUCCESS);
  expect_status(dead, Args{}, CUBLAS_STATUS_NOT_INITIALIZED, "destroyed handle");
  for (cublasHandle_t h : {static_cast<cublasHandle_t>(nullptr), dead}) {
    cudaStream_t s;
    cublasPointerMode_t pm;
    cublasMath_t math;
    EXPECT_EQ(cublasSetStream(h, nullptr), CUBLAS_STATUS_NOT_INITIALIZED);
    EXPECT_EQ(cublasGetStream(h, &s), CUBLAS_STATUS_NOT_INITIALIZED);
    EXPECT_EQ(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST), CUBLAS_STATUS_NOT_INITIALIZED);
    EXPECT_EQ(cublasGetPointerMode(h, &pm), CUBLAS_STATUS_NOT_INITIALIZED);
    EXPECT_EQ(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH), CUBLAS_STATUS_NOT_INITIALIZED);
    EXPECT_EQ(cublasGetMathMode(h, &math), CUBLAS_STATUS_NOT_INITIALIZED);
    EXPECT_EQ(cublasDestroy(h), CUBLAS_STATUS_NOT_INITIALIZED);
  }
  EXPECT_EQ(cublasDestroy(fresh), CUBLAS_STATUS_SUCCESS);
}

// GemmEx combinations outside the implemented set (one type for A, B and C; f32 with COMPUTE_32F
// or its FAST variants, f64 with COMPUTE_64F, f16/bf16 with COMPUTE_32F) and unknown algorithms.
TEST_F(CublasEmulation, UnsupportedGemmExCombinationsAreNotSupported) {
  struct Combo {
    cudaDataType at, bt, ct;
    cublasComputeType_t compute;
    int algo;
  };
  const Combo combos[] = {
      {CUDA_R_16F, CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT},  // mixed types
      {CUDA_R_16BF, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT},
      {CUDA_R_16F, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT},  // half compute
      {CUDA_R_16F, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F_FAST_16F, CUBLAS_GEMM_DEFAULT},
      {CUDA_R_16BF, CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT},
      {CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_64F, CUBLAS_GEMM_DEFAULT},
      {CUDA_R_64F, CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT},
      {CUDA_R_8I, CUDA_R_8I, CUDA_R_32I, CUBLAS_COMPUTE_32I, CUBLAS_GEMM_DEFAULT},
      {CUDA_C_32F, CUDA_C_32F, CUDA_C_32F, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT},
      {CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, 24},  // not an algorithm value
      {CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, 500},
  };
  double a[64] = {}, b[64] = {}, c[64];
  const double one = 1;  // large enough for any scale type, never read
  for (const Combo& x : combos) {
    std::memset(c, 0xFF, sizeof c);
    const auto algo = static_cast<cublasGemmAlgo_t>(x.algo);
    EXPECT_EQ(cublasGemmEx(h_, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a, x.at, 2, b, x.bt, 2, &one, c, x.ct, 2,
                           x.compute, algo),
              CUBLAS_STATUS_NOT_SUPPORTED)
        << x.at << " " << x.bt << " " << x.ct << " compute " << x.compute << " algo " << x.algo;
    EXPECT_EQ(cublasGemmStridedBatchedEx(h_, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a, x.at, 2, 4, b, x.bt, 2, 4,
                                         &one, c, x.ct, 2, 4, 2, x.compute, algo),
              CUBLAS_STATUS_NOT_SUPPORTED)
        << x.at << " " << x.bt << " " << x.ct << " compute " << x.compute << " algo " << x.algo;
    flush_all();
    for (double v : c) EXPECT_TRUE(std::isnan(v));
  }
}

// The compute types accepted besides the plain ones, and a legacy algorithm value: same result.
TEST_F(CublasEmulation, GemmExAcceptsPedanticFastAndLegacyAlgorithms) {
  Case cs{CUBLAS_OP_T, CUBLAS_OP_N, 3, 4, 5, 1, -1.5, 0.5};
  const struct {
    cudaDataType type;
    cublasComputeType_t compute;
  } accepted[] = {{CUDA_R_32F, CUBLAS_COMPUTE_32F_PEDANTIC}, {CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_16F},
                  {CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_16BF}, {CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32},
                  {CUDA_R_64F, CUBLAS_COMPUTE_64F_PEDANTIC},  {CUDA_R_16F, CUBLAS_COMPUTE_32F_PEDANTIC},
                  {CUDA_R_16BF, CUBLAS_COMPUTE_32F_PEDANTIC}};
  for (const auto& x : accepted) {
    auto check = [&](auto tag) {
      using T = decltype(tag);
      Operands<T> in(cs, 11);
      const Matrices<T> before = in.c;
      const Scalar<T> alpha = static_cast<Scalar<T>>(cs.alpha), beta = static_cast<Scalar<T>>(cs.beta);
      ASSERT_EQ(cublasGemmEx(h_, cs.ta, cs.tb, cs.m, cs.n, cs.k, &alpha, in.a.data.data(), x.type, in.a.ld,
                             in.b.data.data(), x.type, in.b.ld, &beta, in.c.data.data(), x.type, in.c.ld, x.compute,
                             CUBLAS_GEMM_ALGO5_TENSOR_OP),
                CUBLAS_STATUS_SUCCESS)
          << "compute " << x.compute;
      flush_all();
      EXPECT_TRUE(check_result(cs, in, before, in.c, Exact{})) << "compute " << x.compute;
    };
    if (x.type == CUDA_R_32F) check(float{});
    if (x.type == CUDA_R_64F) check(double{});
    if (x.type == CUDA_R_16F) check(__half{});
    if (x.type == CUDA_R_16BF) check(__nv_bfloat16{});
  }
}

// The header's C++ overload taking a cudaDataType compute type (pre-CUDA-11 code) migrates it with
// cublasGetMathMode: CUDA_R_32F becomes COMPUTE_32F, or COMPUTE_32F_PEDANTIC in pedantic math
// mode, both implemented for f16; CUDA_R_16F becomes COMPUTE_16F, which is not.
TEST_F(CublasEmulation, LegacyComputeTypeIsMigratedThroughTheMathMode) {
  Case cs{CUBLAS_OP_N, CUBLAS_OP_T, 4, 3, 2, 0, 1.0, 0.5};
  for (cublasMath_t math : {CUBLAS_DEFAULT_MATH, CUBLAS_PEDANTIC_MATH}) {
    ASSERT_EQ(cublasSetMathMode(h_, math), CUBLAS_STATUS_SUCCESS);
    Operands<__half> in(cs, 3);
    const Matrices<__half> before = in.c;
    const float alpha = 1, beta = 0.5f;
    ASSERT_EQ(cublasGemmEx(h_, cs.ta, cs.tb, cs.m, cs.n, cs.k, &alpha, in.a.data.data(), CUDA_R_16F, in.a.ld,
                           in.b.data.data(), CUDA_R_16F, in.b.ld, &beta, in.c.data.data(), CUDA_R_16F, in.c.ld,
                           CUDA_R_32F, CUBLAS_GEMM_DEFAULT),
              CUBLAS_STATUS_SUCCESS);
    flush_all();
    EXPECT_TRUE(check_result(cs, in, before, in.c, Exact{})) << "math mode " << math;
    EXPECT_EQ(cublasGemmEx(h_, cs.ta, cs.tb, cs.m, cs.n, cs.k, &alpha, in.a.data.data(), CUDA_R_16F, in.a.ld,
                           in.b.data.data(), CUDA_R_16F, in.b.ld, &beta, in.c.data.data(), CUDA_R_16F, in.c.ld,
                           CUDA_R_16F, CUBLAS_GEMM_DEFAULT),
              CUBLAS_STATUS_NOT_SUPPORTED);
  }
}

// ---------------------------------------------------------------------------------------------
// Handle companions

TEST_F(CublasEmulation, CreateNeedsAnOutput) { EXPECT_EQ(cublasCreate(nullptr), CUBLAS_STATUS_INVALID_VALUE); }

TEST_F(CublasEmulation, PointerModeAndMathModeRoundTrip) {
  EXPECT_EQ(cublasGetPointerMode(h_, nullptr), CUBLAS_STATUS_INVALID_VALUE);
  cublasMath_t m = CUBLAS_PEDANTIC_MATH;
  ASSERT_EQ(cublasGetMathMode(h_, &m), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(m, CUBLAS_DEFAULT_MATH) << "the default math mode";
  for (int mode : std::initializer_list<int>{CUBLAS_TF32_TENSOR_OP_MATH, CUBLAS_PEDANTIC_MATH,
                                             CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION}) {
    ASSERT_EQ(cublasSetMathMode(h_, static_cast<cublasMath_t>(mode)), CUBLAS_STATUS_SUCCESS);
    ASSERT_EQ(cublasGetMathMode(h_, &m), CUBLAS_STATUS_SUCCESS);
    EXPECT_EQ(m, mode);
  }
  // Undefined values inside the enum's range (0..31; outside it C++ cannot form the value).
  EXPECT_EQ(cublasSetMathMode(h_, static_cast<cublasMath_t>(7)), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasSetMathMode(h_, static_cast<cublasMath_t>(16 | 5)), CUBLAS_STATUS_INVALID_VALUE);
  ASSERT_EQ(cublasGetMathMode(h_, &m), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(m, CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION) << "an invalid mode is ignored";
  EXPECT_EQ(cublasGetMathMode(h_, nullptr), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasGetStream(h_, nullptr), CUBLAS_STATUS_INVALID_VALUE);
}

TEST_F(CublasEmulation, VersionIsTheToolkitHeaders) {
  int v = 0;
  ASSERT_EQ(cublasGetVersion(h_, &v), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(v, CUBLAS_VER_MAJOR * 10000 + CUBLAS_VER_MINOR * 100 + CUBLAS_VER_PATCH);
  EXPECT_EQ(cublasGetVersion(h_, nullptr), CUBLAS_STATUS_INVALID_VALUE);
}

TEST_F(CublasEmulation, StatusNamesAndStrings) {
  const std::pair<cublasStatus_t, const char*> all[] = {
      {CUBLAS_STATUS_SUCCESS, "CUBLAS_STATUS_SUCCESS"},
      {CUBLAS_STATUS_NOT_INITIALIZED, "CUBLAS_STATUS_NOT_INITIALIZED"},
      {CUBLAS_STATUS_ALLOC_FAILED, "CUBLAS_STATUS_ALLOC_FAILED"},
      {CUBLAS_STATUS_INVALID_VALUE, "CUBLAS_STATUS_INVALID_VALUE"},
      {CUBLAS_STATUS_ARCH_MISMATCH, "CUBLAS_STATUS_ARCH_MISMATCH"},
      {CUBLAS_STATUS_MAPPING_ERROR, "CUBLAS_STATUS_MAPPING_ERROR"},
      {CUBLAS_STATUS_EXECUTION_FAILED, "CUBLAS_STATUS_EXECUTION_FAILED"},
      {CUBLAS_STATUS_INTERNAL_ERROR, "CUBLAS_STATUS_INTERNAL_ERROR"},
      {CUBLAS_STATUS_NOT_SUPPORTED, "CUBLAS_STATUS_NOT_SUPPORTED"},
      {CUBLAS_STATUS_LICENSE_ERROR, "CUBLAS_STATUS_LICENSE_ERROR"}};
  std::vector<std::string> strings;
  for (const auto& [status, name] : all) {
    EXPECT_STREQ(cublasGetStatusName(status), name);
    const std::string s = cublasGetStatusString(status);
    EXPECT_FALSE(s.empty()) << name;
    EXPECT_EQ(std::count(strings.begin(), strings.end(), s), 0) << name << " shares its string";
    strings.push_back(s);
  }
  const auto unknown = static_cast<cublasStatus_t>(2);
  for (const auto& [status, name] : all) EXPECT_STRNE(cublasGetStatusName(unknown), name);
  EXPECT_NE(cublasGetStatusString(unknown), nullptr);
}

}  // namespace
}  // namespace mm::cuda::emu
