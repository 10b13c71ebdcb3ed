// CUDA softmax / log_softmax and their backward kernels, with the CPU loops' math
// (ops/math/softmax_functors.h). Layouts as on the CPU ([outer, n, inner], ops/softmax.h):
//
//  * rows (inner == 1): one warp per row when n ≤ kWarpRowMax (4 rows per block; the warp reduces
//    with shuffles only), otherwise one block per row with block_reduce. Each pass strides the row
//    by the group width, so loads are coalesced. Exponentials are recomputed in the write pass
//    rather than stored and re-read: arithmetic is cheaper than a second round trip to memory.
//  * columns (inner > 1): one thread per (outer, column) slice; neighbouring threads own
//    neighbouring columns, so each of their sequential steps reads a coalesced row segment.
#include "ops/cuda/block_reduce.cuh"
#include "ops/cuda/loops.cuh"
#include "ops/math/reduce_functors.h"
#include "ops/math/softmax_functors.h"
#include "ops/softmax.h"

namespace mm::cuda {
namespace {

inline constexpr int kWarpRowMax = 1024;
inline constexpr int kRowsPerBlock = 4;
inline constexpr int kBlockRowThreads = 512;
inline constexpr int kColumnThreads = 256;

template <typename T>
struct MaxOp {
  __device__ T operator()(T a, T b) const { return a > b ? a : b; }
};
template <typename T>
struct AddOp {
  __device__ T operator()(T a, T b) const { return a + b; }
};

// Reduces across the group that owns a row: a warp, or the whole block (then `shared` holds 32 T).
template <typename T>
struct GroupReduce {
  bool whole_block;
  T* shared;
  template <typename Op>
  __device__ T operator()(T v, Op op, T identity) const {
    return whole_block ? block_reduce(v, op, identity, shared) : warp_reduce(v, op);
  }
};

// Forward of one row, by `width` threads of which this is `lane`.
template <typename T>
__device__ void forward_row(bool log, const T* x, T* y, int64_t n, int lane, int width, GroupReduce<T> reduce) {
  T m = lowest_value<T>();
  for (int64_t i = lane; i < n; i += width) m = MaxOp<T>{}(m, x[i]);
  m = reduce(m, MaxOp<T>{}, lowest_value<T>());
  T s = 0;
  for (int64_t i = lane; i < n; i += width) s += softmax_exp(x[i] - m);
  s = reduce(s, AddOp<T>{}, T(0));
  if (log) {
    T lse = math::log(s);
    for (int64_t i = lane; i < n; i += width) y[i] = (x[i] - m) - lse;
  } else {
    T inv = T(1) / s;
    for (int64_t i = lane; i < n; i += width) y[i] = softmax_exp(x[i] - m) * inv;
  }
}

// Backward of one row: softmax gx = y (g − Σ g y); log_softmax gx = g − exp(y) Σ g.
template <typename T>
__device__ void backward_row(bool log, const T* g, const T* y, T* out, int64_t n, int lane, int width,
                             GroupReduce<T> reduce) {
  T s = 0;
  for (int64_t i = lane; i < n; i += width) s += log ? g[i] : g[i] * y[i];
  s = reduce(s, AddOp<T>{}, T(0));
  for (int64_t i = lane; i < n; i += width) out[i] = log ? g[i] - softmax_exp(y[i]) * s : y[i] * (g[i] - s);
}

// Rows: the block's warps own one row each (warp_rows) or the whole block owns one row.
template <typename T>
__global__ void forward_rows_kernel(bool log, bool warp_rows, const T* x, T* y, int64_t rows, int64_t n) {
  __shared__ T shared[32];
  int64_t row = warp_rows ? blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.x / kWarpSize : blockIdx.x;
  if (row >= rows) return;  // a whole warp leaves together (warp rows only; block rows always fit)
  int lane = warp_rows ? threadIdx.x % kWarpSize : threadIdx.x;
  int width = warp_rows ? kWarpSize : blockDim.x;
  forward_row<T>(log, x + row * n, y + row * n, n, lane, width, GroupReduce<T>{!warp_rows, shared});
}

template <typename T>
__global__ void backward_rows_kernel(bool log, bool warp_rows, const T* g, const T* y, T* out, int64_t rows,
                                     int64_t n) {
  __shared__ T shared[32];
  int64_t row = warp_rows ? blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.x / kWarpSize : blockIdx.x;
  if (row >= rows) return;
  int lane = warp_rows ? threadIdx.x % kWarpSize : threadIdx.x;
  int width = warp_rows ? kWarpSize : blockDim.x;
  backward_row<T>(log, g + row * n, y + row * n, out + row * n, n, lane, width, GroupReduce<T>{!warp_rows, shared});
}

// Columns: thread per (outer, column) slice, elements `inner` apart.
template <typename T>
__global__ void forward_cols_kernel(bool log, const T* x, T* y, SoftmaxGeometry geo) {
  const int64_t n = geo.n, inner = geo.inner, total = geo.outer * inner;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t base = (t / inner) * n * inner + t % inner;
    T m = lowest_value<T>();
    for (int64_t i = 0; i < n; ++i) m = MaxOp<T>{}(m, x[base + i * inner]);
    T s = 0;
    for (int64_t i = 0; i < n; ++i) s += softmax_exp(x[base + i * inner] - m);
    T f = log ? math::log(s) : T(1) / s;
    for (int64_t i = 0; i < n; ++i) {
      int64_t k = base + i * inner;
      y[k] = log ? (x[k] - m) - f : softmax_exp(x[k] - m) * f;
    }
  }
}

template <typename T>
__global__ void backward_cols_kernel(bool log, const T* g, const T* y, T* out, SoftmaxGeometry geo) {
  const int64_t n = geo.n, inner = geo.inner, total = geo.outer * inner;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t base = (t / inner) * n * inner + t % inner;
    T s = 0;
    for (int64_t i = 0; i < n; ++i) s += log ? g[base + i * inner] : g[base + i * inner] * y[base + i * inner];
    for (int64_t i = 0; i < n; ++i) {
      int64_t k = base + i * inner;
      out[k] = log ? g[k] - softmax_exp(y[k]) * s : y[k] * (g[k] - s);
    }
  }
}

// Grid and block for the row kernels.
struct RowLaunch {
  bool warp_rows;
  dim3 grid, block;
};
RowLaunch row_launch(const SoftmaxGeometry& geo, const char* op) {
  bool warp_rows = geo.n <= kWarpRowMax;
  int64_t blocks = warp_rows ? (geo.outer + kRowsPerBlock - 1) / kRowsPerBlock : geo.outer;
  MM_CHECK(blocks <= 2147483647LL, Shape, op, "too many rows for one grid: ", geo.outer);
  return {warp_rows, dim3(static_cast<unsigned>(blocks)),
          dim3(warp_rows ? kRowsPerBlock * kWarpSize : kBlockRowThreads)};
}

template <typename T>
void forward_typed(OpId op, const Tensor& x, Tensor& out, const SoftmaxGeometry& geo) {
  const char* name = op_name(op);
  bool log = op == OpId::log_softmax;
  if (geo.inner == 1) {
    RowLaunch l = row_launch(geo, name);
    launch(forward_rows_kernel<T>, l.grid, l.block, 0, name, log, l.warp_rows, x.data<T>(), out.data<T>(), geo.outer,
           geo.n);
  } else {
    launch(forward_cols_kernel<T>, blocks_for(geo.outer * geo.inner, kColumnThreads), dim3(kColumnThreads), 0, name,
           log, x.data<T>(), out.data<T>(), geo);
  }
}

template <typename T>
void backward_typed(OpId op, const Tensor& g, const Tensor& y, Tensor& out, const SoftmaxGeometry& geo) {
  const char* name = op_name(op);
  bool log = op == OpId::log_softmax_backward;
  if (geo.inner == 1) {
    RowLaunch l = row_launch(geo, name);
    launch(backward_rows_kernel<T>, l.grid, l.block, 0, name, log, l.warp_rows, g.data<T>(), y.data<T>(),
           out.data<T>(), geo.outer, geo.n);
  } else {
    launch(backward_cols_kernel<T>, blocks_for(geo.outer * geo.inner, kColumnThreads), dim3(kColumnThreads), 0, name,
           log, g.data<T>(), y.data<T>(), out.data<T>(), geo);
  }
}

void softmax_kernel(OpId op, const Tensor& x, Tensor& out, const SoftmaxGeometry& geo) {
  MM_DISPATCH_FLOAT(x.dtype(), op_name(op), [&] { forward_typed<scalar_t>(op, x, out, geo); });
}

void softmax_backward_kernel(OpId op, const Tensor& g, const Tensor& y, Tensor& out, const SoftmaxGeometry& geo) {
  MM_DISPATCH_FLOAT(y.dtype(), op_name(op), [&] { backward_typed<scalar_t>(op, g, y, out, geo); });
}

}  // namespace

MM_REGISTER_KERNEL(softmax, CUDA, &softmax_kernel);
MM_REGISTER_KERNEL(log_softmax, CUDA, &softmax_kernel);
MM_REGISTER_KERNEL(softmax_backward, CUDA, &softmax_backward_kernel);
MM_REGISTER_KERNEL(log_softmax_backward, CUDA, &softmax_backward_kernel);

}  // namespace mm::cuda
