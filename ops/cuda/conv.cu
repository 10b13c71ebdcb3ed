// CUDA conv2d: im2col / col2im kernels + cuBLAS GEMMs, and direct kernels for depthwise convolutions.
// The algorithm mirrors ops/cpu/conv.cpp (read its header comment first): a block of nb samples is
// unfolded into col[C·kH·kW, nb·P] (column b·P + p = pixel p of sample b), so each group's forward
// and backward products are one GEMM over the whole block.
//
// Determinism: no atomics. col2im is written as a gather (each input pixel sums the col entries that
// read it, in a fixed order), the weight gradient accumulates over blocks with beta = 1 GEMMs issued
// in order on one stream, and bias / depthwise-weight gradients use block reductions
// (ops/cuda/block_reduce.cuh).
#include <algorithm>
#include <type_traits>
#include <vector>

#include "ops/conv.h"
#include "ops/cuda/block_reduce.cuh"
#include "runtime/cuda/launch.h"

namespace mm::cuda {
namespace {

inline constexpr int kThreads = 256;

// ---- cuBLAS ----

// One handle per device and host thread, created lazily and never destroyed (like ops/cuda/linalg.cu;
// kept separate so the two families do not depend on each other).
cublasHandle_t conv_cublas_handle() {
  thread_local std::vector<cublasHandle_t> handles;
  int device = 0;
  MM_CUDA_CHECK(cudaGetDevice(&device), "conv2d");
  if (static_cast<int>(handles.size()) <= device) handles.resize(device + 1, nullptr);
  if (handles[device] == nullptr) MM_CUBLAS_CHECK(cublasCreate(&handles[device]), "conv2d");
  MM_CUBLAS_CHECK(cublasSetStream(handles[device], current_stream()), "conv2d");
  return handles[device];
}

// Row-major C[M,N] = alpha·op(A)·op(B) + beta·C. cuBLAS is column-major, where a row-major matrix
// reads as its transpose: compute Cᵀ = op(B)ᵀ·op(A)ᵀ by swapping the operands and M/N.
template <typename T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc) {
  cublasHandle_t h = conv_cublas_handle();
  cublasOperation_t opA = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opB = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  int m = static_cast<int>(N), n = static_cast<int>(M), k = static_cast<int>(K);
  if constexpr (std::is_same_v<T, float>)
    MM_CUBLAS_CHECK(cublasSgemm(h, opB, opA, m, n, k, &alpha, B, static_cast<int>(ldb), A, static_cast<int>(lda), &beta,
                                C, static_cast<int>(ldc)),
                    "conv2d");
  else
    MM_CUBLAS_CHECK(cublasDgemm(h, opB, opA, m, n, k, &alpha, B, static_cast<int>(ldb), A, static_cast<int>(lda), &beta,
                                C, static_cast<int>(ldc)),
                    "conv2d");
}

// ---- im2col / col2im ----

// col[r, b·P + p] for r = (c, kh, kw), one thread per entry.
template <typename T>
__global__ void im2col_kernel(const T* x, Conv2dGeometry g, int64_t nb, T* col) {
  const int64_t P = g.P(), ld = nb * P, KK = g.kH * g.kW, total = g.C * KK * ld;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t r = i / ld, q = i % ld;
    int64_t b = q / P, p = q % P;
    int64_t c = r / KK, kh = (r % KK) / g.kW, kw = r % g.kW;
    int64_t ih = (p / g.OW) * g.sH - g.pH + kh * g.dH, iw = (p % g.OW) * g.sW - g.pW + kw * g.dW;
    bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
    col[i] = inside ? x[((b * g.C + c) * g.H + ih) * g.W + iw] : T(0);
  }
}

// gx[b, c, ih, iw] = Σ over the taps (kh, kw) whose output pixel reads (ih, iw): a gather, so every
// input pixel is written once by one thread.
template <typename T>
__global__ void col2im_kernel(const T* col, Conv2dGeometry g, int64_t nb, T* gx) {
  const int64_t P = g.P(), ld = nb * P, total = nb * g.C * g.H * g.W;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t iw = i % g.W, ih = (i / g.W) % g.H, c = (i / (g.W * g.H)) % g.C, b = i / (g.W * g.H * g.C);
    T acc = 0;
    for (int64_t kh = 0; kh < g.kH; ++kh) {
      int64_t th = ih + g.pH - kh * g.dH;  // = oh·sH
      if (th < 0 || th % g.sH != 0 || th / g.sH >= g.OH) continue;
      int64_t oh = th / g.sH;
      for (int64_t kw = 0; kw < g.kW; ++kw) {
        int64_t tw = iw + g.pW - kw * g.dW;
        if (tw < 0 || tw % g.sW != 0 || tw / g.sW >= g.OW) continue;
        int64_t r = (c * g.kH + kh) * g.kW + kw;
        acc += col[r * ld + b * P + oh * g.OW + tw / g.sW];
      }
    }
    gx[i] = acc;
  }
}

// y[b, o, p] = tmp[o, b·P + p] + bias[o]  (unpack the block's GEMM result).
template <typename T>
__global__ void unpack_bias_kernel(const T* tmp, const T* bias, int64_t O, int64_t P, int64_t nb, T* y) {
  const int64_t total = nb * O * P, ld = nb * P;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t p = i % P, o = (i / P) % O, b = i / (P * O);
    y[i] = tmp[o * ld + b * P + p] + (bias ? bias[o] : T(0));
  }
}

// out[o, b·P + p] = g[b, o, p]  (grad_out of a block as one [O, nb·P] matrix).
template <typename T>
__global__ void pack_kernel(const T* g, int64_t O, int64_t P, int64_t nb, T* out) {
  const int64_t total = nb * O * P, ld = nb * P;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t p = i % P, o = (i / P) % O, b = i / (P * O);
    out[o * ld + b * P + p] = g[i];
  }
}

template <typename T>
struct SumOp {
  __device__ T operator()(T a, T b) const { return a + b; }
};

// grad_bias[o] = Σ_{n,p} g[n, o, p]: one block per channel.
template <typename T>
__global__ void bias_grad_kernel(const T* g, int64_t N, int64_t O, int64_t P, T* gb) {
  __shared__ T shared[32];
  int64_t o = blockIdx.x;
  T acc = 0;
  for (int64_t i = threadIdx.x; i < N * P; i += blockDim.x) acc += g[((i / P) * O + o) * P + i % P];
  acc = block_reduce(acc, SumOp<T>{}, T(0), shared);
  if (threadIdx.x == 0) gb[o] = acc;
}

// ---- depthwise (Cg = 1) ----

template <typename T>
__global__ void depthwise_forward_kernel(const T* x, const T* w, const T* bias, Conv2dGeometry g, T* y) {
  const int64_t total = g.N * g.O * g.P();
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, o = (i / g.P()) % g.O, n = i / (g.P() * g.O);
    const T* xp = x + (n * g.C + o / g.Og()) * g.H * g.W;
    T acc = bias ? bias[o] : T(0);
    for (int64_t kh = 0; kh < g.kH; ++kh) {
      int64_t ih = oh * g.sH - g.pH + kh * g.dH;
      if (ih < 0 || ih >= g.H) continue;
      for (int64_t kw = 0; kw < g.kW; ++kw) {
        int64_t iw = ow * g.sW - g.pW + kw * g.dW;
        if (iw >= 0 && iw < g.W) acc += w[(o * g.kH + kh) * g.kW + kw] * xp[ih * g.W + iw];
      }
    }
    y[i] = acc;
  }
}

// grad_x as a gather over the Og output channels of the input channel and their taps.
template <typename T>
__global__ void depthwise_grad_input_kernel(const T* gy, const T* w, Conv2dGeometry g, T* gx) {
  const int64_t total = g.N * g.C * g.H * g.W, Og = g.Og();
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t iw = i % g.W, ih = (i / g.W) % g.H, c = (i / (g.W * g.H)) % g.C, n = i / (g.W * g.H * g.C);
    T acc = 0;
    for (int64_t o = c * Og; o < (c + 1) * Og; ++o) {
      const T* gp = gy + (n * g.O + o) * g.P();
      for (int64_t kh = 0; kh < g.kH; ++kh) {
        int64_t th = ih + g.pH - kh * g.dH;
        if (th < 0 || th % g.sH != 0 || th / g.sH >= g.OH) continue;
        for (int64_t kw = 0; kw < g.kW; ++kw) {
          int64_t tw = iw + g.pW - kw * g.dW;
          if (tw < 0 || tw % g.sW != 0 || tw / g.sW >= g.OW) continue;
          acc += w[(o * g.kH + kh) * g.kW + kw] * gp[(th / g.sH) * g.OW + tw / g.sW];
        }
      }
    }
    gx[i] = acc;
  }
}

// grad_w[o, kh, kw] = Σ_{n, oh, ow} gy[n, o, oh, ow] · x[n, o/Og, ih, iw]: one block per weight.
template <typename T>
__global__ void depthwise_grad_weight_kernel(const T* gy, const T* x, Conv2dGeometry g, T* gw) {
  __shared__ T shared[32];
  int64_t widx = blockIdx.x;
  int64_t kw = widx % g.kW, kh = (widx / g.kW) % g.kH, o = widx / (g.kW * g.kH);
  const int64_t P = g.P();
  T acc = 0;
  for (int64_t i = threadIdx.x; i < g.N * P; i += blockDim.x) {
    int64_t n = i / P, p = i % P;
    int64_t ih = (p / g.OW) * g.sH - g.pH + kh * g.dH, iw = (p % g.OW) * g.sW - g.pW + kw * g.dW;
    if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
      acc += gy[(n * g.O + o) * P + p] * x[((n * g.C + o / g.Og()) * g.H + ih) * g.W + iw];
  }
  acc = block_reduce(acc, SumOp<T>{}, T(0), shared);
  if (threadIdx.x == 0) gw[widx] = acc;
}

// ---- drivers ----

// Samples per block: the col buffer (C·kH·kW × nb·P) is kept under ~64M elements.
int64_t block_samples(const Conv2dGeometry& g) {
  const int64_t per_sample = std::max<int64_t>(1, g.C * g.kH * g.kW * g.P());
  return std::clamp<int64_t>((int64_t{64} << 20) / per_sample, 1, g.N);
}

template <typename T>
void conv_forward(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dGeometry& g, Tensor& out) {
  const T* X = x.data<T>();
  const T* Wt = w.data<T>();
  const T* B = bias ? bias->data<T>() : nullptr;
  T* Y = out.data<T>();
  if (g.depthwise()) {
    launch(depthwise_forward_kernel<T>, blocks_for(out.numel(), kThreads), dim3(kThreads), 0, "conv2d", X, Wt, B, g, Y);
    return;
  }
  const int64_t P = g.P(), K = g.K(), Og = g.Og(), CHW = g.C * g.H * g.W, OP = g.O * P;
  const int64_t nb = block_samples(g);
  Tensor col = Tensor::empty({g.C * g.kH * g.kW * nb * P}, x.dtype(), x.device());
  Tensor tmp = Tensor::empty({g.O * nb * P}, x.dtype(), x.device());
  for (int64_t n = 0; n < g.N; n += nb) {
    int64_t cnt = std::min(nb, g.N - n), ld = cnt * P;
    launch(im2col_kernel<T>, blocks_for(g.C * g.kH * g.kW * ld, kThreads), dim3(kThreads), 0, "conv2d", X + n * CHW, g,
           cnt, col.data<T>());
    for (int64_t gr = 0; gr < g.groups; ++gr)
      gemm<T>(false, false, Og, ld, K, T(1), Wt + gr * Og * K, K, col.data<T>() + gr * K * ld, ld, T(0),
              tmp.data<T>() + gr * Og * ld, ld);
    launch(unpack_bias_kernel<T>, blocks_for(cnt * OP, kThreads), dim3(kThreads), 0, "conv2d", tmp.data<T>(), B, g.O, P,
           cnt, Y + n * OP);
  }
}

template <typename T>
void conv_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dGeometry& g, Tensor* grad_x,
                   Tensor* grad_w, Tensor* grad_b) {
  const T* G = grad_out.data<T>();
  const T* X = x.data<T>();
  const T* Wt = w.data<T>();
  const int64_t P = g.P(), K = g.K(), Og = g.Og(), CHW = g.C * g.H * g.W, OP = g.O * P;
  const char* op = "conv2d_backward";
  if (grad_b) {
    MM_CHECK(g.O <= 2147483647LL, Shape, op, "too many output channels for one grid: ", g.O);
    launch(bias_grad_kernel<T>, dim3(static_cast<unsigned>(g.O)), dim3(kThreads), 0, op, G, g.N, g.O, P,
           grad_b->data<T>());
  }
  if (!grad_x && !grad_w) return;
  if (g.depthwise()) {
    if (grad_x)
      launch(depthwise_grad_input_kernel<T>, blocks_for(grad_x->numel(), kThreads), dim3(kThreads), 0, op, G, Wt, g,
             grad_x->data<T>());
    if (grad_w)
      launch(depthwise_grad_weight_kernel<T>, dim3(static_cast<unsigned>(grad_w->numel())), dim3(kThreads), 0, op, G, X,
             g, grad_w->data<T>());
    return;
  }
  const int64_t nb = block_samples(g);
  Tensor col = Tensor::empty({g.C * g.kH * g.kW * nb * P}, x.dtype(), x.device());
  Tensor gpack = Tensor::empty({g.O * nb * P}, x.dtype(), x.device());
  for (int64_t n = 0; n < g.N; n += nb) {
    int64_t cnt = std::min(nb, g.N - n), ld = cnt * P;
    launch(pack_kernel<T>, blocks_for(cnt * OP, kThreads), dim3(kThreads), 0, op, G + n * OP, g.O, P, cnt,
           gpack.data<T>());
    if (grad_w) {
      launch(im2col_kernel<T>, blocks_for(g.C * g.kH * g.kW * ld, kThreads), dim3(kThreads), 0, op, X + n * CHW, g, cnt,
             col.data<T>());
      // The first block overwrites (beta = 0), later blocks accumulate in order.
      T beta = n == 0 ? T(0) : T(1);
      for (int64_t gr = 0; gr < g.groups; ++gr)
        gemm<T>(false, true, Og, K, ld, T(1), gpack.data<T>() + gr * Og * ld, ld, col.data<T>() + gr * K * ld, ld, beta,
                grad_w->data<T>() + gr * Og * K, K);
    }
    if (grad_x) {
      for (int64_t gr = 0; gr < g.groups; ++gr)
        gemm<T>(true, false, K, ld, Og, T(1), Wt + gr * Og * K, K, gpack.data<T>() + gr * Og * ld, ld, T(0),
                col.data<T>() + gr * K * ld, ld);
      launch(col2im_kernel<T>, blocks_for(cnt * CHW, kThreads), dim3(kThreads), 0, op, col.data<T>(), g, cnt,
             grad_x->data<T>() + n * CHW);
    }
  }
}

void conv2d_kernel(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dGeometry& g, Tensor& out) {
  MM_DISPATCH_FLOAT(x.dtype(), "conv2d", [&] { conv_forward<scalar_t>(x, w, bias, g, out); });
}

void conv2d_backward_kernel(const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dGeometry& g,
                            Tensor* grad_x, Tensor* grad_w, Tensor* grad_b) {
  MM_DISPATCH_FLOAT(x.dtype(), "conv2d_backward",
                    [&] { conv_backward<scalar_t>(grad_out, x, w, g, grad_x, grad_w, grad_b); });
}

}  // namespace

MM_REGISTER_KERNEL(conv2d, CUDA, &conv2d_kernel);
MM_REGISTER_KERNEL(conv2d_backward, CUDA, &conv2d_backward_kernel);

}  // namespace mm::cuda
