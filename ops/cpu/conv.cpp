// CPU conv2d: im2col + GEMM (OpenBLAS), a direct path for 1x1 stride-1 convolutions and a direct
// loop for depthwise convolutions.
//
// im2col unfolds one sample x[C,H,W] into col[C·kH·kW, OH·OW]: row (c,kh,kw) holds, for every output
// pixel, the input value that kernel tap (kh,kw) of channel c multiplies (0 in the padding). The
// convolution of group g is then one matrix product
//     out[n, g] [Og, P] = W_g [Og, Cg·kH·kW] × col_g [Cg·kH·kW, P]          (P = OH·OW)
// and the backward pass is two more:
//     grad_W_g += grad_out[n, g] × col_gᵀ        grad_col_g = W_gᵀ × grad_out[n, g] → col2im
// (col2im is im2col's adjoint: it adds every column entry back onto the input pixel it came from).
//
// Work is organised in blocks of `nb` samples: small feature maps (7×7, 14×14) give GEMMs with very
// few columns, so several samples are unfolded side by side into one col matrix (columns
// [b·P, (b+1)·P) belong to sample b of the block) to keep the GEMMs efficient.
//
// Parallelism: the batch is cut into one contiguous range of samples per thread; each thread runs
// single-threaded GEMMs (OpenBLAS, the OpenMP build, runs single-threaded inside our parallel
// region). Weight gradients go to one partial buffer per thread, summed in thread order afterwards, so
// results are bitwise reproducible for a given thread count. With fewer samples than threads the
// blocks run one after the other and OpenBLAS parallelises each GEMM instead.
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "ops/conv.h"
#include "runtime/parallel.h"

namespace mm::cpu {
namespace {

// ---- GEMM: C[M,N] = alpha·op(A)·op(B) + beta·C, row-major ----
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
          int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta, C,
              static_cast<int>(ldc));
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta, C,
              static_cast<int>(ldc));
}

// Output positions o in [lo, hi) whose input position i = o·stride + off lies inside [0, len).
struct Range {
  int64_t lo, hi;
};
Range valid_range(int64_t off, int64_t stride, int64_t len, int64_t out) {
  int64_t lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t hi = len - 1 - off < 0 ? 0 : (len - 1 - off) / stride + 1;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
  return {lo, hi};
}

// col rows (c, kh, kw) for channels [0, C) of one sample x[C,H,W]; row r starts at col + r·ld.
template <typename T>
void im2col(const T* x, const Conv2dGeometry& g, T* col, int64_t ld) {
  const int64_t OW = g.OW;
  for (int64_t c = 0; c < g.C; ++c) {
    for (int64_t kh = 0; kh < g.kH; ++kh) {
      for (int64_t kw = 0; kw < g.kW; ++kw) {
        T* row = col + ((c * g.kH + kh) * g.kW + kw) * ld;
        int64_t offw = kw * g.dW - g.pW;
        Range wr = valid_range(offw, g.sW, g.W, OW);
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t ih = oh * g.sH - g.pH + kh * g.dH;
          T* dst = row + oh * OW;
          if (ih < 0 || ih >= g.H) {
            std::fill(dst, dst + OW, T(0));
            continue;
          }
          const T* src = x + (c * g.H + ih) * g.W;
          std::fill(dst, dst + wr.lo, T(0));
          if (g.sW == 1) {
            std::memcpy(dst + wr.lo, src + wr.lo + offw, static_cast<size_t>(wr.hi - wr.lo) * sizeof(T));
          } else {
            for (int64_t ow = wr.lo; ow < wr.hi; ++ow) dst[ow] = src[ow * g.sW + offw];
          }
          std::fill(dst + wr.hi, dst + OW, T(0));
        }
      }
    }
  }
}

// The adjoint of im2col: gx[C,H,W] += every col entry at the input pixel it was read from. gx must be
// zeroed by the caller. Sequential, so the additions happen in a fixed order.
template <typename T>
void col2im(const T* col, int64_t ld, const Conv2dGeometry& g, T* gx) {
  const int64_t OW = g.OW;
  for (int64_t c = 0; c < g.C; ++c) {
    for (int64_t kh = 0; kh < g.kH; ++kh) {
      for (int64_t kw = 0; kw < g.kW; ++kw) {
        const T* row = col + ((c * g.kH + kh) * g.kW + kw) * ld;
        int64_t offw = kw * g.dW - g.pW;
        Range wr = valid_range(offw, g.sW, g.W, OW);
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t ih = oh * g.sH - g.pH + kh * g.dH;
          if (ih < 0 || ih >= g.H) continue;
          const T* src = row + oh * OW;
          T* dst = gx + (c * g.H + ih) * g.W;
          for (int64_t ow = wr.lo; ow < wr.hi; ++ow) dst[ow * g.sW + offw] += src[ow];
        }
      }
    }
  }
}

// Samples per block: enough columns for an efficient GEMM (measured: ~512 columns reach OpenBLAS's
// full speed for these shapes), while the col buffer stays cache-friendly.
int64_t block_samples(const Conv2dGeometry& g, int64_t samples) {
  constexpr int64_t kTargetColumns = 512;
  int64_t nb = std::max<int64_t>(1, kTargetColumns / std::max<int64_t>(1, g.P()));
  return std::min(nb, std::max<int64_t>(1, samples));
}

// Splits the batch into one contiguous sample range per thread, or runs everything serially (with
// multi-threaded GEMMs) when the batch is too small to give each thread work. f(chunk, n0, n1).
template <typename F>
int64_t for_sample_chunks(int64_t N, F&& f) {
  int64_t chunks = std::min<int64_t>(num_threads(), N);
  if (chunks <= 1) {
    f(int64_t{0}, int64_t{0}, N);
    return 1;
  }
  parallel_for(0, chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) f(c, N * c / chunks, N * (c + 1) / chunks);
  });
  return chunks;
}

// ---------------------------------------------------------------------------------------------
// im2col + GEMM path
// ---------------------------------------------------------------------------------------------

template <typename T>
void gemm_forward(const T* X, const T* Wt, const T* B, const Conv2dGeometry& g, T* Y) {
  const int64_t P = g.P(), K = g.K(), Og = g.Og(), CHW = g.C * g.H * g.W, OP = g.O * P;
  const int64_t KK = g.kH * g.kW;
  for_sample_chunks(g.N, [&](int64_t, int64_t n0, int64_t n1) {
    int64_t nb = block_samples(g, n1 - n0);
    bool direct = g.pointwise() && nb == 1;  // the input plane is the col matrix
    std::unique_ptr<T[]> col(direct ? nullptr : new T[static_cast<size_t>(g.C * KK * nb * P)]);
    std::unique_ptr<T[]> tmp(nb > 1 ? new T[static_cast<size_t>(g.O * nb * P)] : nullptr);
    for (int64_t n = n0; n < n1; n += nb) {
      int64_t cnt = std::min(nb, n1 - n), ld = cnt * P;
      if (!direct)
        for (int64_t b = 0; b < cnt; ++b) im2col(X + (n + b) * CHW, g, col.get() + b * P, ld);
      const T* src = direct ? X + n * CHW : col.get();
      T* dst = cnt == 1 ? Y + n * OP : tmp.get();  // [O, cnt·P]
      for (int64_t gr = 0; gr < g.groups; ++gr)
        gemm(false, false, Og, ld, K, T(1), Wt + gr * Og * K, K, src + gr * K * ld, ld, T(0), dst + gr * Og * ld, ld);
      // Scatter the block's [O, cnt·P] result to [cnt, O, P] and add the bias.
      for (int64_t b = 0; b < cnt; ++b)
        for (int64_t o = 0; o < g.O; ++o) {
          T* y = Y + (n + b) * OP + o * P;
          const T* s = dst + o * ld + b * P;
          T bias = B ? B[o] : T(0);
          if (cnt == 1) {
            if (B)
              for (int64_t p = 0; p < P; ++p) y[p] += bias;
          } else {
            for (int64_t p = 0; p < P; ++p) y[p] = s[p] + bias;
          }
        }
    }
  });
}

template <typename T>
void gemm_backward(const T* G, const T* X, const T* Wt, const Conv2dGeometry& g, T* GX, T* GW) {
  const int64_t P = g.P(), K = g.K(), Og = g.Og(), CHW = g.C * g.H * g.W, OP = g.O * P;
  const int64_t KK = g.kH * g.kW, wsize = g.O * K;
  int64_t chunks = std::min<int64_t>(num_threads(), g.N);
  // One weight-gradient partial per chunk (the first is GW itself), summed in chunk order below.
  std::vector<std::unique_ptr<T[]>> partials(static_cast<size_t>(std::max<int64_t>(chunks, 1)));
  for_sample_chunks(g.N, [&](int64_t chunk, int64_t n0, int64_t n1) {
    int64_t nb = block_samples(g, n1 - n0);
    bool direct = g.pointwise() && nb == 1;
    T* gw = nullptr;
    if (GW) {
      if (chunk == 0) {
        gw = GW;
      } else {
        partials[chunk].reset(new T[static_cast<size_t>(wsize)]);
        gw = partials[chunk].get();
      }
      std::fill(gw, gw + wsize, T(0));
    }
    std::unique_ptr<T[]> col(direct ? nullptr : new T[static_cast<size_t>(g.C * KK * nb * P)]);
    std::unique_ptr<T[]> gpack(nb > 1 ? new T[static_cast<size_t>(g.O * nb * P)] : nullptr);
    for (int64_t n = n0; n < n1; n += nb) {
      int64_t cnt = std::min(nb, n1 - n), ld = cnt * P;
      // grad_out of the block as one [O, cnt·P] matrix.
      const T* gm = G + n * OP;
      if (cnt > 1) {
        for (int64_t b = 0; b < cnt; ++b)
          for (int64_t o = 0; o < g.O; ++o)
            std::memcpy(gpack.get() + o * ld + b * P, G + (n + b) * OP + o * P, static_cast<size_t>(P) * sizeof(T));
        gm = gpack.get();
      }
      if (gw) {
        const T* src = X + n * CHW;
        if (!direct) {
          for (int64_t b = 0; b < cnt; ++b) im2col(X + (n + b) * CHW, g, col.get() + b * P, ld);
          src = col.get();
        }
        for (int64_t gr = 0; gr < g.groups; ++gr)
          gemm(false, true, Og, K, ld, T(1), gm + gr * Og * ld, ld, src + gr * K * ld, ld, T(1), gw + gr * Og * K, K);
      }
      if (GX) {
        T* dst = direct ? GX + n * CHW : col.get();
        for (int64_t gr = 0; gr < g.groups; ++gr)
          gemm(true, false, K, ld, Og, T(1), Wt + gr * Og * K, K, gm + gr * Og * ld, ld, T(0), dst + gr * K * ld, ld);
        if (!direct)
          for (int64_t b = 0; b < cnt; ++b) {
            T* gx = GX + (n + b) * CHW;
            std::fill(gx, gx + CHW, T(0));
            col2im(col.get() + b * P, ld, g, gx);
          }
      }
    }
  });
  if (GW)
    for (int64_t c = 1; c < chunks; ++c) {
      const T* p = partials[c].get();
      for (int64_t i = 0; i < wsize; ++i) GW[i] += p[i];
    }
}

// ---------------------------------------------------------------------------------------------
// Depthwise path (Cg = 1): output channel o reads only input channel o / Og. A direct loop over the
// kernel taps, each tap a vectorisable row update, avoids building a col matrix that would be kH·kW
// times the input for one tiny GEMM per channel.
// ---------------------------------------------------------------------------------------------

template <typename T>
void depthwise_forward(const T* X, const T* Wt, const T* B, const Conv2dGeometry& g, T* Y) {
  const int64_t OH = g.OH, OW = g.OW, HW = g.H * g.W, Og = g.Og(), KK = g.kH * g.kW;
  parallel_for(0, g.N * g.O, 1, [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      int64_t n = plane / g.O, o = plane % g.O;
      const T* x = X + (n * g.C + o / Og) * HW;
      T* y = Y + plane * OH * OW;
      std::fill(y, y + OH * OW, B ? B[o] : T(0));
      for (int64_t kh = 0; kh < g.kH; ++kh)
        for (int64_t kw = 0; kw < g.kW; ++kw) {
          T wv = Wt[o * KK + kh * g.kW + kw];
          int64_t offw = kw * g.dW - g.pW;
          Range wr = valid_range(offw, g.sW, g.W, OW);
          Range hr = valid_range(kh * g.dH - g.pH, g.sH, g.H, OH);
          for (int64_t oh = hr.lo; oh < hr.hi; ++oh) {
            const T* xr = x + (oh * g.sH - g.pH + kh * g.dH) * g.W;
            T* yr = y + oh * OW;
            for (int64_t ow = wr.lo; ow < wr.hi; ++ow) yr[ow] += wv * xr[ow * g.sW + offw];
          }
        }
    }
  });
}

template <typename T>
void depthwise_backward(const T* G, const T* X, const T* Wt, const Conv2dGeometry& g, T* GX, T* GW) {
  const int64_t OH = g.OH, OW = g.OW, HW = g.H * g.W, Og = g.Og(), KK = g.kH * g.kW;
  if (GX) {
    // One input plane per task: it gathers from its Og output channels, in a fixed order.
    parallel_for(0, g.N * g.C, 1, [&](int64_t b, int64_t e) {
      for (int64_t plane = b; plane < e; ++plane) {
        int64_t n = plane / g.C, c = plane % g.C;
        T* gx = GX + plane * HW;
        std::fill(gx, gx + HW, T(0));
        for (int64_t o = c * Og; o < (c + 1) * Og; ++o) {
          const T* gy = G + (n * g.O + o) * OH * OW;
          for (int64_t kh = 0; kh < g.kH; ++kh)
            for (int64_t kw = 0; kw < g.kW; ++kw) {
              T wv = Wt[o * KK + kh * g.kW + kw];
              int64_t offw = kw * g.dW - g.pW;
              Range wr = valid_range(offw, g.sW, g.W, OW);
              Range hr = valid_range(kh * g.dH - g.pH, g.sH, g.H, OH);
              for (int64_t oh = hr.lo; oh < hr.hi; ++oh) {
                T* xr = gx + (oh * g.sH - g.pH + kh * g.dH) * g.W;
                const T* gr = gy + oh * OW;
                for (int64_t ow = wr.lo; ow < wr.hi; ++ow) xr[ow * g.sW + offw] += wv * gr[ow];
              }
            }
        }
      }
    });
  }
  if (GW) {
    // One output channel per task, summing over the batch in order: independent of the thread count.
    // Each row's dot product runs in T (vectorised); rows are accumulated in double.
    parallel_for(0, g.O, 1, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        for (int64_t kh = 0; kh < g.kH; ++kh)
          for (int64_t kw = 0; kw < g.kW; ++kw) {
            int64_t offw = kw * g.dW - g.pW;
            Range wr = valid_range(offw, g.sW, g.W, OW);
            Range hr = valid_range(kh * g.dH - g.pH, g.sH, g.H, OH);
            double acc = 0;
            for (int64_t n = 0; n < g.N; ++n) {
              const T* x = X + (n * g.C + o / Og) * HW;
              const T* gy = G + (n * g.O + o) * OH * OW;
              for (int64_t oh = hr.lo; oh < hr.hi; ++oh) {
                const T* xr = x + (oh * g.sH - g.pH + kh * g.dH) * g.W;
                const T* gr = gy + oh * OW;
                T s = 0;
                for (int64_t ow = wr.lo; ow < wr.hi; ++ow) s += gr[ow] * xr[ow * g.sW + offw];
                acc += static_cast<double>(s);
              }
            }
            GW[o * KK + kh * g.kW + kw] = static_cast<T>(acc);
          }
      }
    });
  }
}

// grad_bias[o] = Σ_n Σ_p grad_out[n, o, p], per channel in a fixed order.
template <typename T>
void bias_backward(const T* G, const Conv2dGeometry& g, T* GB) {
  const int64_t P = g.P();
  parallel_for(0, g.O, 1, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      double acc = 0;
      for (int64_t n = 0; n < g.N; ++n) {
        const T* gy = G + (n * g.O + o) * P;
        T s = 0;
        for (int64_t p = 0; p < P; ++p) s += gy[p];
        acc += static_cast<double>(s);
      }
      GB[o] = static_cast<T>(acc);
    }
  });
}

void conv2d_kernel(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dGeometry& g, Tensor& out) {
  MM_DISPATCH_FLOAT(x.dtype(), "conv2d", [&] {
    const scalar_t* B = bias ? bias->data<scalar_t>() : nullptr;
    if (g.depthwise())
      depthwise_forward<scalar_t>(x.data<scalar_t>(), w.data<scalar_t>(), B, g, out.data<scalar_t>());
    else
      gemm_forward<scalar_t>(x.data<scalar_t>(), w.data<scalar_t>(), B, g, out.data<scalar_t>());
  });
}

void conv2d_backward_kernel(const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dGeometry& g,
                            Tensor* grad_x, Tensor* grad_w, Tensor* grad_b) {
  MM_DISPATCH_FLOAT(x.dtype(), "conv2d_backward", [&] {
    const scalar_t* G = grad_out.data<scalar_t>();
    scalar_t* GX = grad_x ? grad_x->data<scalar_t>() : nullptr;
    scalar_t* GW = grad_w ? grad_w->data<scalar_t>() : nullptr;
    if (GX || GW) {
      if (g.depthwise())
        depthwise_backward<scalar_t>(G, x.data<scalar_t>(), w.data<scalar_t>(), g, GX, GW);
      else
        gemm_backward<scalar_t>(G, x.data<scalar_t>(), w.data<scalar_t>(), g, GX, GW);
    }
    if (grad_b) bias_backward<scalar_t>(G, g, grad_b->data<scalar_t>());
  });
}

}  // namespace

MM_REGISTER_KERNEL(conv2d, CPU, &conv2d_kernel);
MM_REGISTER_KERNEL(conv2d_backward, CPU, &conv2d_backward_kernel);

}  // namespace mm::cpu
