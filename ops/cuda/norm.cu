// CUDA layer_norm and batch_norm (formulas: ops/norm_math.h, shared with the CPU loops).
//
// One block per row (layer_norm) or per channel (batch_norm): the block's threads stride over the
// elements, block_reduce (ops/cuda/block_reduce.cuh) combines their partial sums, and the same
// threads then write the outputs. Mean and variance take two passes (the second centred, which is
// accurate in f32); re-reading a row hits L1/L2, the kernels are bound by DRAM traffic.
//
// Rows that fit in registers take a packed path: 16-byte loads, each element read from DRAM once
// (layer_norm_forward_packed / layer_norm_dx_packed); other shapes use the plain strided loops.
//
// layer_norm's weight/bias gradients sum over rows — a column reduction. A grid of (column tiles ×
// row chunks) blocks writes per-chunk partial sums, and a second kernel adds the partials in chunk
// order: deterministic, and enough blocks to fill the GPU even when D is small.
#include <algorithm>
#include <cstdint>
#include <initializer_list>

#include "ops/cuda/block_reduce.cuh"
#include "ops/math/reduce_functors.h"
#include "ops/norm.h"
#include "ops/norm_math.h"
#include "runtime/cuda/launch.h"

namespace mm::cuda {
namespace {

struct Add {
  template <typename A>
  __device__ A operator()(A a, A b) const {
    return a + b;
  }
};

// Threads for a block reducing n elements: about 4 elements per thread, a multiple of 32 (block_reduce
// needs whole warps), between 32 and 512.
int threads_for(int64_t n) {
  int64_t t = ((n + 3) / 4 + kWarpSize - 1) / kWarpSize * kWarpSize;
  return static_cast<int>(std::clamp<int64_t>(t, kWarpSize, 512));
}

unsigned grid_size(int64_t blocks, const char* op) {
  MM_CHECK(blocks <= 2147483647LL, Shape, op, "too many rows/channels for one grid: ", blocks);
  return static_cast<unsigned>(blocks);
}

// ---- layer_norm ----

template <typename T>
__global__ void layer_norm_forward_kernel(const T* x, const T* w, const T* b, int64_t D, acc_t<T> eps, T* y, T* mean,
                                          T* rstd) {
  using Acc = acc_t<T>;
  __shared__ Acc shared[32];
  const int64_t r = blockIdx.x;
  const T* xr = x + r * D;
  Acc s = 0;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) s += Acc(xr[j]);
  const Acc mu = block_reduce(s, Add{}, Acc(0), shared) / Acc(D);
  Acc v = 0;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    const Acc d = Acc(xr[j]) - mu;
    v += d * d;
  }
  const Acc rs = norm::rstd<Acc>(block_reduce(v, Add{}, Acc(0), shared) / Acc(D), eps);
  T* yr = y + r * D;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x)
    yr[j] = T(norm::affine<Acc>(Acc(xr[j]), mu, rs, w ? Acc(w[j]) : Acc(1), b ? Acc(b[j]) : Acc(0)));
  if (threadIdx.x == 0) {
    mean[r] = T(mu);
    rstd[r] = T(rs);
  }
}

// dx for one row per block: needs the row sums Σg and Σg·x̂ (g = dy·w) first.
template <typename T>
__global__ void layer_norm_dx_kernel(const T* dy, const T* x, const T* mean, const T* rstd, const T* w, int64_t D,
                                     T* dx) {
  using Acc = acc_t<T>;
  __shared__ Acc shared[32];
  const int64_t r = blockIdx.x;
  const T* dyr = dy + r * D;
  const T* xr = x + r * D;
  const Acc mu = Acc(mean[r]), rs = Acc(rstd[r]);
  Acc sg = 0, sgx = 0;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    const Acc g = Acc(dyr[j]) * (w ? Acc(w[j]) : Acc(1));
    sg += g;
    sgx += g * (Acc(xr[j]) - mu) * rs;
  }
  const Acc mg = block_reduce(sg, Add{}, Acc(0), shared) / Acc(D);
  const Acc mgx = block_reduce(sgx, Add{}, Acc(0), shared) / Acc(D);
  T* dxr = dx + r * D;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    const Acc g = Acc(dyr[j]) * (w ? Acc(w[j]) : Acc(1));
    dxr[j] = T(norm::dx<Acc>(g, (Acc(xr[j]) - mu) * rs, rs, mg, mgx));
  }
}

// The fast path for rows that fit in registers (D up to 4 packs of 16 bytes per thread × 512
// threads, i.e. 8192 floats): each thread loads its share of the row once, with 16-byte loads, keeps
// it in registers for both reductions and the output pass, so x (and dy) cross DRAM exactly once.
template <typename T>
struct alignas(16) Pack {
  static constexpr int kSize = 16 / sizeof(T);
  T v[kSize];
};

// Which packs per thread (1, 2 or 4) the register path needs for D elements, or 0 when it does not
// apply (D not a whole number of packs, a misaligned pointer, or a row too long).
template <typename T>
int packs_per_thread(int64_t D, std::initializer_list<const void*> ptrs) {
  if (D % Pack<T>::kSize != 0) return 0;
  for (const void* p : ptrs)
    if (p != nullptr && reinterpret_cast<uintptr_t>(p) % alignof(Pack<T>) != 0) return 0;
  const int64_t packs = D / Pack<T>::kSize;
  for (int k : {1, 2, 4})
    if ((packs + k - 1) / k <= 512) return k;
  return 0;
}

template <typename T>
int packed_threads(int64_t D, int k) {
  const int64_t per = (D / Pack<T>::kSize + k - 1) / k;
  return static_cast<int>(std::clamp<int64_t>((per + kWarpSize - 1) / kWarpSize * kWarpSize, kWarpSize, 512));
}

template <typename T, int K>
__global__ void layer_norm_forward_packed(const T* x, const T* w, const T* b, int64_t D, acc_t<T> eps, T* y, T* mean,
                                          T* rstd) {
  using Acc = acc_t<T>;
  using P = Pack<T>;
  __shared__ Acc shared[32];
  const int64_t r = blockIdx.x, packs = D / P::kSize;
  const P* xr = reinterpret_cast<const P*>(x + r * D);
  P v[K] = {};  // zero-initialised: g++ (the emulation build) cannot see that the guards match
  Acc s = 0;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const int64_t p = threadIdx.x + static_cast<int64_t>(k) * blockDim.x;
    if (p < packs) {
      v[k] = xr[p];
#pragma unroll
      for (int e = 0; e < P::kSize; ++e) s += Acc(v[k].v[e]);
    }
  }
  const Acc mu = block_reduce(s, Add{}, Acc(0), shared) / Acc(D);
  Acc q = 0;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    if (threadIdx.x + static_cast<int64_t>(k) * blockDim.x < packs) {
#pragma unroll
      for (int e = 0; e < P::kSize; ++e) {
        const Acc d = Acc(v[k].v[e]) - mu;
        q += d * d;
      }
    }
  }
  const Acc rs = norm::rstd<Acc>(block_reduce(q, Add{}, Acc(0), shared) / Acc(D), eps);
  P* yr = reinterpret_cast<P*>(y + r * D);
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const int64_t p = threadIdx.x + static_cast<int64_t>(k) * blockDim.x;
    if (p < packs) {
      P wp{}, bp{}, o;
      if (w) wp = reinterpret_cast<const P*>(w)[p];
      if (b) bp = reinterpret_cast<const P*>(b)[p];
#pragma unroll
      for (int e = 0; e < P::kSize; ++e)
        o.v[e] = T(norm::affine<Acc>(Acc(v[k].v[e]), mu, rs, w ? Acc(wp.v[e]) : Acc(1), b ? Acc(bp.v[e]) : Acc(0)));
      yr[p] = o;
    }
  }
  if (threadIdx.x == 0) {
    mean[r] = T(mu);
    rstd[r] = T(rs);
  }
}

template <typename T, int K>
__global__ void layer_norm_dx_packed(const T* dy, const T* x, const T* mean, const T* rstd, const T* w, int64_t D,
                                     T* dx) {
  using Acc = acc_t<T>;
  using P = Pack<T>;
  __shared__ Acc shared[32];
  const int64_t r = blockIdx.x, packs = D / P::kSize;
  const P* dyr = reinterpret_cast<const P*>(dy + r * D);
  const P* xr = reinterpret_cast<const P*>(x + r * D);
  const Acc mu = Acc(mean[r]), rs = Acc(rstd[r]);
  P g[K] = {}, xh[K] = {};  // g = dy·w and x̂, kept in registers between the reductions and the output
  Acc sg = 0, sgx = 0;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const int64_t p = threadIdx.x + static_cast<int64_t>(k) * blockDim.x;
    if (p < packs) {
      const P d = dyr[p], xv = xr[p];
      P wp{};
      if (w) wp = reinterpret_cast<const P*>(w)[p];
#pragma unroll
      for (int e = 0; e < P::kSize; ++e) {
        const Acc ge = Acc(d.v[e]) * (w ? Acc(wp.v[e]) : Acc(1)), xe = (Acc(xv.v[e]) - mu) * rs;
        g[k].v[e] = T(ge);
        xh[k].v[e] = T(xe);
        sg += ge;
        sgx += ge * xe;
      }
    }
  }
  const Acc mg = block_reduce(sg, Add{}, Acc(0), shared) / Acc(D);
  const Acc mgx = block_reduce(sgx, Add{}, Acc(0), shared) / Acc(D);
  P* dxr = reinterpret_cast<P*>(dx + r * D);
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const int64_t p = threadIdx.x + static_cast<int64_t>(k) * blockDim.x;
    if (p < packs) {
      P o;
#pragma unroll
      for (int e = 0; e < P::kSize; ++e) o.v[e] = T(norm::dx<Acc>(Acc(g[k].v[e]), Acc(xh[k].v[e]), rs, mg, mgx));
      dxr[p] = o;
    }
  }
}

inline constexpr int kColTile = 32;  // columns per block (one warp wide: coalesced row reads)
inline constexpr int kRowLanes = 8;  // threads per column, striding over the chunk's rows

// Partial Σ dy·x̂ and Σ dy over the rows of chunk blockIdx.y, for the columns of tile blockIdx.x.
template <typename T>
__global__ void layer_norm_params_kernel(const T* dy, const T* x, const T* mean, const T* rstd, int64_t rows, int64_t D,
                                         int64_t rows_per_chunk, acc_t<T>* part_w, acc_t<T>* part_b) {
  using Acc = acc_t<T>;
  __shared__ Acc sw[kRowLanes][kColTile + 1];
  __shared__ Acc sb[kRowLanes][kColTile + 1];
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kColTile + threadIdx.x;
  const int64_t r0 = blockIdx.y * rows_per_chunk;
  const int64_t r1 = r0 + rows_per_chunk < rows ? r0 + rows_per_chunk : rows;
  Acc aw = 0, ab = 0;
  if (j < D) {
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kRowLanes) {
      const Acc g = Acc(dy[r * D + j]);
      aw += g * (Acc(x[r * D + j]) - Acc(mean[r])) * Acc(rstd[r]);
      ab += g;
    }
  }
  sw[threadIdx.y][threadIdx.x] = aw;
  sb[threadIdx.y][threadIdx.x] = ab;
  __syncthreads();
  if (threadIdx.y == 0 && j < D) {
    for (int k = 1; k < kRowLanes; ++k) {
      aw += sw[k][threadIdx.x];
      ab += sb[k][threadIdx.x];
    }
    if (part_w) part_w[blockIdx.y * D + j] = aw;
    if (part_b) part_b[blockIdx.y * D + j] = ab;
  }
}

// out[j] = Σ_c part[c, j], in chunk order.
template <typename T>
__global__ void sum_partials_kernel(const acc_t<T>* part, int64_t chunks, int64_t D, T* out) {
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < D;
       j += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    acc_t<T> s = 0;
    for (int64_t c = 0; c < chunks; ++c) s += part[c * D + j];
    out[j] = T(s);
  }
}

template <typename T>
void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor& y, Tensor& mean,
                        Tensor& rstd) {
  const int64_t rows = x.size(0), D = x.size(1);
  const T *px = x.data<T>(), *pw = opt_data<T>(weight), *pb = opt_data<T>(bias);
  T* py = y.data<T>();
  const dim3 grid(grid_size(rows, "layer_norm"));
  const auto e = static_cast<acc_t<T>>(eps);
  switch (packs_per_thread<T>(D, {px, pw, pb, py})) {
    case 1:
      return launch(layer_norm_forward_packed<T, 1>, grid, dim3(packed_threads<T>(D, 1)), 0, "layer_norm", px, pw, pb,
                    D, e, py, mean.data<T>(), rstd.data<T>());
    case 2:
      return launch(layer_norm_forward_packed<T, 2>, grid, dim3(packed_threads<T>(D, 2)), 0, "layer_norm", px, pw, pb,
                    D, e, py, mean.data<T>(), rstd.data<T>());
    case 4:
      return launch(layer_norm_forward_packed<T, 4>, grid, dim3(packed_threads<T>(D, 4)), 0, "layer_norm", px, pw, pb,
                    D, e, py, mean.data<T>(), rstd.data<T>());
    default:
      return launch(layer_norm_forward_kernel<T>, grid, dim3(threads_for(D)), 0, "layer_norm", px, pw, pb, D, e, py,
                    mean.data<T>(), rstd.data<T>());
  }
}

template <typename T>
void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  using Acc = acc_t<T>;
  const int64_t rows = x.size(0), D = x.size(1);
  const char* op = "layer_norm_backward";
  if (dx.defined()) {
    const T *pdy = dy.data<T>(), *px = x.data<T>(), *pw = opt_data<T>(weight);
    T* pdx = dx.data<T>();
    const dim3 grid(grid_size(rows, op));
    switch (packs_per_thread<T>(D, {pdy, px, pw, pdx})) {
      case 1:
        launch(layer_norm_dx_packed<T, 1>, grid, dim3(packed_threads<T>(D, 1)), 0, op, pdy, px, mean.data<T>(),
               rstd.data<T>(), pw, D, pdx);
        break;
      case 2:
        launch(layer_norm_dx_packed<T, 2>, grid, dim3(packed_threads<T>(D, 2)), 0, op, pdy, px, mean.data<T>(),
               rstd.data<T>(), pw, D, pdx);
        break;
      case 4:
        launch(layer_norm_dx_packed<T, 4>, grid, dim3(packed_threads<T>(D, 4)), 0, op, pdy, px, mean.data<T>(),
               rstd.data<T>(), pw, D, pdx);
        break;
      default:
        launch(layer_norm_dx_kernel<T>, grid, dim3(threads_for(D)), 0, op, pdy, px, mean.data<T>(), rstd.data<T>(), pw,
               D, pdx);
    }
  }
  if (!dweight.defined() && !dbias.defined()) return;
  // About 128 rows per chunk, at most 64 chunks: with D = 768 that is 24 × 64 blocks.
  const int64_t chunks = std::clamp<int64_t>((rows + 127) / 128, 1, 64);
  const int64_t rows_per_chunk = (rows + chunks - 1) / chunks;
  Tensor part = Tensor::empty({2, chunks, D}, dtype_of<Acc>::value, x.device());
  Acc* pw = dweight.defined() ? part.data<Acc>() : nullptr;
  Acc* pb = dbias.defined() ? part.data<Acc>() + chunks * D : nullptr;
  launch(layer_norm_params_kernel<T>, dim3(grid_size((D + kColTile - 1) / kColTile, op), static_cast<unsigned>(chunks)),
         dim3(kColTile, kRowLanes), 0, op, dy.data<T>(), x.data<T>(), mean.data<T>(), rstd.data<T>(), rows, D,
         rows_per_chunk, pw, pb);
  if (pw) launch(sum_partials_kernel<T>, blocks_for(D, 256), dim3(256), 0, op, pw, chunks, D, dweight.data<T>());
  if (pb) launch(sum_partials_kernel<T>, blocks_for(D, 256), dim3(256), 0, op, pb, chunks, D, dbias.data<T>());
}

// ---- batch_norm ----

// Element i of channel c in x [N, C, S]: sample i / S, position i % S.
__device__ __forceinline__ int64_t channel_offset(int64_t i, int64_t c, int64_t C, int64_t S) {
  const int64_t n = i / S;
  return (n * C + c) * S + (i - n * S);
}

template <typename T>
__global__ void batch_norm_forward_kernel(const T* x, const T* w, const T* b, T* rm, T* rv, bool training,
                                          acc_t<T> momentum, acc_t<T> eps, int64_t N, int64_t C, int64_t S, T* y,
                                          T* mean, T* rstd) {
  using Acc = acc_t<T>;
  __shared__ Acc shared[32];
  const int64_t c = blockIdx.x, M = N * S;
  Acc mu, rs;
  if (training) {  // uniform across the block, so the block reductions inside are safe
    Acc s = 0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) s += Acc(x[channel_offset(i, c, C, S)]);
    mu = block_reduce(s, Add{}, Acc(0), shared) / Acc(M);
    Acc v = 0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      const Acc d = Acc(x[channel_offset(i, c, C, S)]) - mu;
      v += d * d;
    }
    const Acc var = block_reduce(v, Add{}, Acc(0), shared) / Acc(M);  // biased: used to normalise
    rs = norm::rstd<Acc>(var, eps);
    if (threadIdx.x == 0 && rm != nullptr) {
      rm[c] = T(norm::running_update<Acc>(Acc(rm[c]), mu, momentum));
      rv[c] = T(norm::running_update<Acc>(Acc(rv[c]), var * Acc(M) / Acc(M - 1), momentum));
    }
  } else {
    mu = Acc(rm[c]);
    rs = norm::rstd<Acc>(Acc(rv[c]), eps);
  }
  if (threadIdx.x == 0) {
    mean[c] = T(mu);
    rstd[c] = T(rs);
  }
  const Acc wc = w ? Acc(w[c]) : Acc(1), bc = b ? Acc(b[c]) : Acc(0);
  for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
    const int64_t o = channel_offset(i, c, C, S);
    y[o] = T(norm::affine<Acc>(Acc(x[o]), mu, rs, wc, bc));
  }
}

template <typename T>
__global__ void batch_norm_backward_kernel(const T* dy, const T* x, const T* mean, const T* rstd, const T* w,
                                           bool training, int64_t N, int64_t C, int64_t S, T* dx, T* dw, T* db) {
  using Acc = acc_t<T>;
  __shared__ Acc shared[32];
  const int64_t c = blockIdx.x, M = N * S;
  const Acc mu = Acc(mean[c]), rs = Acc(rstd[c]), wc = w ? Acc(w[c]) : Acc(1);
  Acc sdy = 0, sdyx = 0;
  for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
    const int64_t o = channel_offset(i, c, C, S);
    sdy += Acc(dy[o]);
    sdyx += Acc(dy[o]) * (Acc(x[o]) - mu) * rs;
  }
  sdy = block_reduce(sdy, Add{}, Acc(0), shared);
  sdyx = block_reduce(sdyx, Add{}, Acc(0), shared);
  if (threadIdx.x == 0) {
    if (dw) dw[c] = T(sdyx);
    if (db) db[c] = T(sdy);
  }
  if (!dx) return;
  // g = dy·w: mean(g) = w·Σdy/M, mean(g·x̂) = w·Σdy·x̂/M; both vanish in eval mode (constant statistics).
  const Acc mg = training ? wc * sdy / Acc(M) : Acc(0);
  const Acc mgx = training ? wc * sdyx / Acc(M) : Acc(0);
  for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
    const int64_t o = channel_offset(i, c, C, S);
    dx[o] = T(norm::dx<Acc>(Acc(dy[o]) * wc, (Acc(x[o]) - mu) * rs, rs, mg, mgx));
  }
}

template <typename T>
void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                        const Tensor& running_var, bool training, double momentum, double eps, Tensor& y,
                        Tensor& mean, Tensor& rstd) {
  const int64_t N = x.size(0), C = x.size(1), S = x.size(2);
  launch(batch_norm_forward_kernel<T>, dim3(grid_size(C, "batch_norm")), dim3(threads_for(N * S)), 0, "batch_norm",
         x.data<T>(), opt_data<T>(weight), opt_data<T>(bias), opt_mut<T>(running_mean), opt_mut<T>(running_var),
         training, static_cast<acc_t<T>>(momentum), static_cast<acc_t<T>>(eps), N, C, S, y.data<T>(), mean.data<T>(),
         rstd.data<T>());
}

template <typename T>
void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, bool training, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  const int64_t N = x.size(0), C = x.size(1), S = x.size(2);
  const char* op = "batch_norm_backward";
  launch(batch_norm_backward_kernel<T>, dim3(grid_size(C, op)), dim3(threads_for(N * S)), 0, op, dy.data<T>(),
         x.data<T>(), mean.data<T>(), rstd.data<T>(), opt_data<T>(weight), training, N, C, S, opt_mut<T>(dx),
         opt_mut<T>(dweight), opt_mut<T>(dbias));
}

void layer_norm_entry(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor& y, Tensor& mean,
                       Tensor& rstd) {
  MM_DISPATCH_FLOAT(x.dtype(), "layer_norm",
                    [&] { layer_norm_forward<scalar_t>(x, weight, bias, eps, y, mean, rstd); });
}

void layer_norm_backward_entry(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                const Tensor& weight, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  MM_DISPATCH_FLOAT(x.dtype(), "layer_norm_backward",
                    [&] { layer_norm_backward<scalar_t>(dy, x, mean, rstd, weight, dx, dweight, dbias); });
}

void batch_norm_entry(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                       const Tensor& running_var, bool training, double momentum, double eps, Tensor& y, Tensor& mean,
                       Tensor& rstd) {
  MM_DISPATCH_FLOAT(x.dtype(), "batch_norm", [&] {
    batch_norm_forward<scalar_t>(x, weight, bias, running_mean, running_var, training, momentum, eps, y, mean, rstd);
  });
}

void batch_norm_backward_entry(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                const Tensor& weight, bool training, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  MM_DISPATCH_FLOAT(x.dtype(), "batch_norm_backward",
                    [&] { batch_norm_backward<scalar_t>(dy, x, mean, rstd, weight, training, dx, dweight, dbias); });
}

}  // namespace

MM_REGISTER_KERNEL(layer_norm, CUDA, &layer_norm_entry);
MM_REGISTER_KERNEL(layer_norm_backward, CUDA, &layer_norm_backward_entry);
MM_REGISTER_KERNEL(batch_norm, CUDA, &batch_norm_entry);
MM_REGISTER_KERNEL(batch_norm_backward, CUDA, &batch_norm_backward_entry);

}  // namespace mm::cuda
