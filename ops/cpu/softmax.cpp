// CPU softmax / log_softmax and their backward kernels: fused loops over [outer, n, inner] slices.
//
// Rows (inner == 1, the softmax dim is last): per row one pass for the max, one storing exp(x − m)
// into the output, one summing them (the row is still in L1), one to write. Rows are split across
// threads; every element is written by one thread, so results do not depend on the thread count.
// The inner loops are `omp simd` loops over contiguous memory with a branch-free exp
// (softmax_exp), so they vectorise.
//
// Why double accumulators for f32 sums: the sums are of n terms in (0, 1] (or of gradients); a
// float accumulator loses ~n·2^-24 relative in the worst case, a double one nothing visible at f32.
// Converting each float to double costs one instruction per 8 lanes, and the loops are bound by
// exp and memory anyway.
// (Kahan summation would give similar accuracy, but its compensation term does not vectorise as
// simply and costs four operations per element.)
//
// Columns (inner > 1, softmax over an earlier dim): the slice elements are `inner` apart, so we
// work on blocks of up to kCols adjacent columns at once: every pass walks the n rows of the block,
// each row a contiguous run of values, with one accumulator per column. Long slices get narrower
// blocks so that a block (n × width values) stays in L2 across its passes.
#include <algorithm>

#include "ops/cpu/loops.h"
#include "ops/math/reduce_functors.h"
#include "ops/math/softmax_functors.h"
#include "ops/softmax.h"

namespace mm::cpu {
namespace {

constexpr int64_t kCols = 64;

// ---- one contiguous row ----

template <typename T>
T row_max(const T* x, int64_t n) {
  T m = lowest_value<T>();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;  // a NaN is skipped here, but then makes Σ exp NaN, so the row is NaN as in PyTorch
}

// y ← exp(x − m) and returns Σ y. Two loops, not one: GCC does not vectorise softmax_exp's selects
// inside an `omp simd reduction` loop, while the plain map and the plain sum each vectorise.
template <typename T>
acc_t<T> exp_and_sum(const T* x, T m, T* y, int64_t n) {
  using A = acc_t<T>;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = softmax_exp(x[i] - m);
  A s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += A(y[i]);
  return s;
}

template <typename T>
void softmax_row(const T* x, T* y, int64_t n) {
  using A = acc_t<T>;
  const T m = row_max(x, n);
  const T inv = T(A(1) / exp_and_sum(x, m, y, n));
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

template <typename T>
void log_softmax_row(const T* x, T* y, int64_t n) {
  const T m = row_max(x, n);
  const T lse = T(math::log(exp_and_sum(x, m, y, n)));  // y is scratch for the exponentials here
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - lse;
}

template <typename T>
void softmax_backward_row(const T* g, const T* y, T* out, int64_t n) {
  using A = acc_t<T>;
  A dot = 0;
#pragma omp simd reduction(+ : dot)
  for (int64_t i = 0; i < n; ++i) dot += A(g[i]) * A(y[i]);
  const T d = T(dot);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = y[i] * (g[i] - d);
}

template <typename T>
void log_softmax_backward_row(const T* g, const T* y, T* out, int64_t n) {
  using A = acc_t<T>;
  A s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += A(g[i]);
  const T st = T(s);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] - softmax_exp(y[i]) * st;
}

// ---- a block of cn ≤ kCols columns, rows `stride` apart ----

template <typename T>
void col_max(const T* x, int64_t n, int64_t stride, int64_t cn, T* m) {
  for (int64_t c = 0; c < cn; ++c) m[c] = lowest_value<T>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < cn; ++c) m[c] = x[i * stride + c] > m[c] ? x[i * stride + c] : m[c];
}

template <typename T>
void softmax_cols(bool log, const T* x, T* y, int64_t n, int64_t stride, int64_t cn) {
  using A = acc_t<T>;
  T m[kCols], f[kCols];
  A s[kCols];
  col_max(x, n, stride, cn, m);
  // As in the rows: the exponentials go to y first (scratch for log_softmax), then are summed.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < cn; ++c) y[i * stride + c] = softmax_exp(x[i * stride + c] - m[c]);
  for (int64_t c = 0; c < cn; ++c) s[c] = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < cn; ++c) s[c] += A(y[i * stride + c]);
  if (log) {
    for (int64_t c = 0; c < cn; ++c) f[c] = T(math::log(s[c]));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < cn; ++c) y[i * stride + c] = (x[i * stride + c] - m[c]) - f[c];
  } else {
    for (int64_t c = 0; c < cn; ++c) f[c] = T(A(1) / s[c]);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < cn; ++c) y[i * stride + c] *= f[c];
  }
}

template <typename T>
void softmax_backward_cols(bool log, const T* g, const T* y, T* out, int64_t n, int64_t stride, int64_t cn) {
  using A = acc_t<T>;
  A s[kCols];
  T st[kCols];
  for (int64_t c = 0; c < cn; ++c) s[c] = 0;
  if (log) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < cn; ++c) s[c] += A(g[i * stride + c]);  // Σ g
    for (int64_t c = 0; c < cn; ++c) st[c] = T(s[c]);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < cn; ++c) {
        int64_t k = i * stride + c;
        out[k] = g[k] - softmax_exp(y[k]) * st[c];
      }
  } else {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < cn; ++c) s[c] += A(g[i * stride + c]) * A(y[i * stride + c]);  // Σ g·y
    for (int64_t c = 0; c < cn; ++c) st[c] = T(s[c]);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < cn; ++c) {
        int64_t k = i * stride + c;
        out[k] = y[k] * (g[k] - st[c]);
      }
  }
}

// ---- drivers ----

// Calls row(offset) for each contiguous row (inner == 1), or cols(offset, cn) for each block of
// columns, in parallel. Each output element is written by exactly one task, so the result does not
// depend on the thread count.
template <typename Row, typename Cols>
void for_each_slice(const SoftmaxGeometry& geo, Row row, Cols cols) {
  const int64_t n = geo.n;
  if (geo.inner == 1) {
    parallel_for(0, geo.outer, std::max<int64_t>(1, kGrain / (4 * n)), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) row(r * n);
    });
    return;
  }
  constexpr int64_t kBlockBytes = 256 * 1024;  // a block's share of L2 (f32 sizes; f64 blocks are twice this)
  const int64_t width = std::min(geo.inner, n * kCols * 4 <= kBlockBytes ? kCols : kCols / 4);
  const int64_t blocks = (geo.inner + width - 1) / width;
  parallel_for(0, geo.outer * blocks, std::max<int64_t>(1, kGrain / (4 * n * width)), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      int64_t o = t / blocks, c0 = (t % blocks) * width;
      cols(o * n * geo.inner + c0, std::min(width, geo.inner - c0));
    }
  });
}

template <typename T>
void forward_typed(OpId op, const Tensor& x, Tensor& out, const SoftmaxGeometry& geo) {
  const T* xp = x.data<T>();
  T* yp = out.data<T>();
  const bool log = op == OpId::log_softmax;
  const int64_t n = geo.n, stride = geo.inner;
  for_each_slice(
      geo,
      [&](int64_t off) { log ? log_softmax_row(xp + off, yp + off, n) : softmax_row(xp + off, yp + off, n); },
      [&](int64_t off, int64_t cn) { softmax_cols(log, xp + off, yp + off, n, stride, cn); });
}

template <typename T>
void backward_typed(OpId op, const Tensor& g, const Tensor& y, Tensor& out, const SoftmaxGeometry& geo) {
  const T *gp = g.data<T>(), *yp = y.data<T>();
  T* op_ = out.data<T>();
  const bool log = op == OpId::log_softmax_backward;
  const int64_t n = geo.n, stride = geo.inner;
  for_each_slice(
      geo,
      [&](int64_t off) {
        log ? log_softmax_backward_row(gp + off, yp + off, op_ + off, n)
            : softmax_backward_row(gp + off, yp + off, op_ + off, n);
      },
      [&](int64_t off, int64_t cn) { softmax_backward_cols(log, gp + off, yp + off, op_ + off, n, stride, cn); });
}

void softmax_kernel(OpId op, const Tensor& x, Tensor& out, const SoftmaxGeometry& geo) {
  MM_DISPATCH_FLOAT(x.dtype(), op_name(op), [&] { forward_typed<scalar_t>(op, x, out, geo); });
}

void softmax_backward_kernel(OpId op, const Tensor& g, const Tensor& y, Tensor& out, const SoftmaxGeometry& geo) {
  MM_DISPATCH_FLOAT(y.dtype(), op_name(op), [&] { backward_typed<scalar_t>(op, g, y, out, geo); });
}

}  // namespace

MM_REGISTER_KERNEL(softmax, CPU, &softmax_kernel);
MM_REGISTER_KERNEL(log_softmax, CPU, &softmax_kernel);
MM_REGISTER_KERNEL(softmax_backward, CPU, &softmax_backward_kernel);
MM_REGISTER_KERNEL(log_softmax_backward, CPU, &softmax_backward_kernel);

}  // namespace mm::cpu
