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
// results are bitwise reproducible for a given thread count. Measured on ResNet-18's 3×3 layers
// (batch 32, 2 threads) this beats running the blocks one after the other with OpenBLAS-threaded
// GEMMs by ~10%; that is still what a batch of one sample (or one thread) does.
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/conv.h"
#include "ops/cpu/conv_scratch.h"
#include "ops/cpu/conv_winograd.h"
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

// "Same"-size stride-1 convolutions (OW == W: 3x3 padding 1, 5x5 padding 2, ...) have output rows as
// long as input rows, so col row (c, kh, kw) is the input plane shifted by a constant flat offset
//     s = (kh·dH − pH)·W + (kw·dW − pW)
// apart from the padding: whole output rows above/below the input, and the few columns per row that
// wrapped around into the neighbouring input row. One long copy (or add) per row then replaces OH
// short ones: much faster for small maps (14×14, 7×7).
bool flat_shift(const Conv2dGeometry& g) { return g.sH == 1 && g.sW == 1 && g.OW == g.W; }

struct FlatRow {
  int64_t shift;   // flat input offset of col row entry p
  int64_t lo, hi;  // entries [lo, hi) read the input; the rest are padding
  Range wrap;      // output columns [wrap.lo, wrap.hi) read a real input column; others wrapped around
};
FlatRow flat_row(const Conv2dGeometry& g, int64_t kh, int64_t kw) {
  FlatRow f;
  int64_t offh = kh * g.dH - g.pH, offw = kw * g.dW - g.pW;
  Range hr = valid_range(offh, 1, g.H, g.OH);
  f.shift = offh * g.W + offw;
  // Clip to the input plane (entries just outside it are wrapped columns, zero anyway) and to the
  // col row's P entries: on tiny maps (1×1 with a 3×3 kernel) −shift can exceed P.
  const int64_t P = g.P();
  f.lo = std::min(std::max(hr.lo * g.W, -f.shift), P);
  f.hi = std::clamp(std::min(hr.hi * g.W, g.H * g.W - f.shift), f.lo, P);
  f.wrap = valid_range(offw, 1, g.W, g.OW);
  return f;
}

// col rows (c, kh, kw) for channels [0, C) of one sample x[C,H,W]; row r starts at col + r·ld.
// Taps outermost: each tap's geometry is worked out once for all channels.
template <typename T>
void im2col(const T* x, const Conv2dGeometry& g, T* col, int64_t ld) {
  const int64_t OW = g.OW, P = g.P(), HW = g.H * g.W, KK = g.kH * g.kW;
  for (int64_t kh = 0; kh < g.kH; ++kh) {
    for (int64_t kw = 0; kw < g.kW; ++kw) {
      T* row0 = col + (kh * g.kW + kw) * ld;  // channel c's row is row0 + c·KK·ld
      if (flat_shift(g)) {
        FlatRow f = flat_row(g, kh, kw);
        for (int64_t c = 0; c < g.C; ++c) {
          T* row = row0 + c * KK * ld;
          std::fill(row, row + f.lo, T(0));
          if (f.hi > f.lo)
            std::memcpy(row + f.lo, x + c * HW + f.lo + f.shift, static_cast<size_t>(f.hi - f.lo) * sizeof(T));
          std::fill(row + f.hi, row + P, T(0));
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            std::fill(row + oh * OW, row + oh * OW + f.wrap.lo, T(0));
            std::fill(row + oh * OW + f.wrap.hi, row + (oh + 1) * OW, T(0));
          }
        }
        continue;
      }
      int64_t offw = kw * g.dW - g.pW;
      Range wr = valid_range(offw, g.sW, g.W, OW);
      for (int64_t c = 0; c < g.C; ++c) {
        T* row = row0 + c * KK * ld;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t ih = oh * g.sH - g.pH + kh * g.dH;
          T* dst = row + oh * OW;
          if (ih < 0 || ih >= g.H) {
            std::fill(dst, dst + OW, T(0));
            continue;
          }
          const T* src = x + c * HW + ih * g.W;
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

// dst[i] += src[i]: restrict lets the compiler vectorise.
template <typename T>
void add_into(T* __restrict dst, const T* __restrict src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

// The adjoint of im2col: gx[C,H,W] += every col entry at the input pixel it was read from. gx must be
// zeroed by the caller; col is scratch and may be modified. Sequential: every pixel receives its
// taps' contributions in the fixed (kh, kw) order.
template <typename T>
void col2im(T* col, int64_t ld, const Conv2dGeometry& g, T* gx) {
  const int64_t OW = g.OW, HW = g.H * g.W, KK = g.kH * g.kW;
  for (int64_t kh = 0; kh < g.kH; ++kh) {
    for (int64_t kw = 0; kw < g.kW; ++kw) {
      T* row0 = col + (kh * g.kW + kw) * ld;
      if (flat_shift(g)) {
        // Zero the wrapped-around entries, then one flat add: they land on real pixels of the
        // neighbouring row but add nothing.
        FlatRow f = flat_row(g, kh, kw);
        for (int64_t c = 0; c < g.C; ++c) {
          T* row = row0 + c * KK * ld;
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            std::fill(row + oh * OW, row + oh * OW + f.wrap.lo, T(0));
            std::fill(row + oh * OW + f.wrap.hi, row + (oh + 1) * OW, T(0));
          }
          if (f.hi > f.lo) add_into(gx + c * HW + f.lo + f.shift, row + f.lo, f.hi - f.lo);
        }
        continue;
      }
      int64_t offw = kw * g.dW - g.pW;
      Range wr = valid_range(offw, g.sW, g.W, OW);
      for (int64_t c = 0; c < g.C; ++c) {
        const T* row = row0 + c * KK * ld;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t ih = oh * g.sH - g.pH + kh * g.dH;
          if (ih < 0 || ih >= g.H) continue;
          const T* src = row + oh * OW;
          T* dst = gx + c * HW + ih * g.W;
          if (g.sW == 1) add_into(dst + wr.lo + offw, src + wr.lo, wr.hi - wr.lo);
          else
            for (int64_t ow = wr.lo; ow < wr.hi; ++ow) dst[ow * g.sW + offw] += src[ow];
        }
      }
    }
  }
}

// Samples per block: enough columns for an efficient GEMM while the col buffer stays small (measured
// on ResNet-18's 14×14 and 7×7 layers: ~256 columns beat 128, 512 and more), and blocks of equal
// size (16 samples of 7×7 as 4+4+4+4 rather than 5+5+5+1: a 49-column GEMM is slow).
int64_t block_samples(const Conv2dGeometry& g, int64_t samples) {
  constexpr int64_t kTargetColumns = 256;
  samples = std::max<int64_t>(1, samples);
  int64_t nb = std::clamp<int64_t>(kTargetColumns / std::max<int64_t>(1, g.P()), 1, samples);
  int64_t blocks = (samples + nb - 1) / nb;
  return (samples + blocks - 1) / blocks;
}

// How the batch is cut: one contiguous range of samples per thread (`chunks` of them), processed in
// blocks of `nb` samples. With a single chunk (one thread, or batch 1) everything runs on this
// thread and OpenBLAS parallelises the GEMMs instead. Every chunk gets its own slice of the calling
// thread's scratch buffer (conv_scratch.h: reused across calls, so no page faults from fresh
// allocations and no pile of cached blocks of every layer's size).
struct ChunkPlan {
  int64_t chunks = 1, nb = 1;
  bool direct = false;  // 1x1 stride-1 and one sample per block: the input plane is the col matrix
  int64_t col_elems = 0, pack_elems = 0, gw_elems = 0, per_chunk = 0;
  void* scratch = nullptr;  // conv_scratch(): this thread's buffer, reused across calls

  template <typename T>
  T* col(int64_t c) const { return static_cast<T*>(scratch) + c * per_chunk; }
  template <typename T>
  T* pack(int64_t c) const { return col<T>(c) + col_elems; }  // [O, nb·P] block of out / grad_out
  template <typename T>
  T* gw(int64_t c) const { return pack<T>(c) + pack_elems; }  // this chunk's weight-gradient partial

  int64_t begin(const Conv2dGeometry& g, int64_t c) const { return g.N * c / chunks; }

  // f(chunk, n0, n1) for each chunk, one per thread.
  template <typename F>
  void run(const Conv2dGeometry& g, F&& f) const {
    if (chunks == 1) return f(int64_t{0}, int64_t{0}, g.N);
    parallel_for(0, chunks, 1, [&](int64_t cb, int64_t ce) {
      for (int64_t c = cb; c < ce; ++c) f(c, begin(g, c), begin(g, c + 1));
    });
  }
};

int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }  // keeps every scratch slice 64-byte aligned

template <typename T>
ChunkPlan plan_chunks(const Conv2dGeometry& g, bool weight_partials) {
  ChunkPlan p;
  p.chunks = std::clamp<int64_t>(num_threads(), 1, g.N);
  p.nb = block_samples(g, (g.N + p.chunks - 1) / p.chunks);
  p.direct = g.pointwise() && p.nb == 1;
  p.col_elems = p.direct ? 0 : round16(g.C * g.kH * g.kW * p.nb * g.P());
  p.pack_elems = p.nb > 1 ? round16(g.O * p.nb * g.P()) : 0;
  p.gw_elems = weight_partials ? round16(g.O * g.K()) : 0;
  p.per_chunk = p.col_elems + p.pack_elems + p.gw_elems;
  p.scratch = conv_scratch<T>(p.chunks * p.per_chunk);
  return p;
}

// ---------------------------------------------------------------------------------------------
// im2col + GEMM path
// ---------------------------------------------------------------------------------------------

template <typename T>
void gemm_forward(const T* X, const T* Wt, const T* B, const Conv2dGeometry& g, T* Y) {
  const int64_t P = g.P(), K = g.K(), Og = g.Og(), CHW = g.C * g.H * g.W, OP = g.O * P;
  ChunkPlan plan = plan_chunks<T>(g, false);
  plan.run(g, [&](int64_t chunk, int64_t n0, int64_t n1) {
    T* col = plan.col<T>(chunk);
    for (int64_t n = n0; n < n1; n += plan.nb) {
      int64_t cnt = std::min(plan.nb, n1 - n), ld = cnt * P;
      if (!plan.direct)
        for (int64_t b = 0; b < cnt; ++b) im2col(X + (n + b) * CHW, g, col + b * P, ld);
      const T* src = plan.direct ? X + n * CHW : col;
      T* dst = cnt == 1 ? Y + n * OP : plan.pack<T>(chunk);  // [O, cnt·P]
      for (int64_t gr = 0; gr < g.groups; ++gr)
        gemm(false, false, Og, ld, K, T(1), Wt + gr * Og * K, K, src + gr * K * ld, ld, T(0), dst + gr * Og * ld, ld);
      // Scatter the block's [O, cnt·P] result to [cnt, O, P] and add the bias.
      for (int64_t b = 0; b < cnt; ++b)
        for (int64_t o = 0; o < g.O; ++o) {
          T* y = Y + (n + b) * OP + o * P;
          const T* s = dst + o * ld + b * P;
          T bias = B ? B[o] : T(0);
          if (cnt > 1) {
            for (int64_t p = 0; p < P; ++p) y[p] = s[p] + bias;
          } else if (B) {
            for (int64_t p = 0; p < P; ++p) y[p] += bias;
          }
        }
    }
  });
}

template <typename T>
void gemm_backward(const T* G, const T* X, const T* Wt, const Conv2dGeometry& g, T* GX, T* GW) {
  const int64_t P = g.P(), K = g.K(), Og = g.Og(), CHW = g.C * g.H * g.W, OP = g.O * P, wsize = g.O * K;
  // Weight-gradient partials: chunk 0 accumulates into GW itself, the others into scratch; they are
  // summed in chunk order at the end.
  ChunkPlan plan = plan_chunks<T>(g, GW != nullptr);
  plan.run(g, [&](int64_t chunk, int64_t n0, int64_t n1) {
    T* col = plan.col<T>(chunk);
    T* gw = GW ? (chunk == 0 ? GW : plan.gw<T>(chunk)) : nullptr;
    if (gw) std::fill(gw, gw + wsize, T(0));
    for (int64_t n = n0; n < n1; n += plan.nb) {
      int64_t cnt = std::min(plan.nb, n1 - n), ld = cnt * P;
      // grad_out of the block as one [O, cnt·P] matrix.
      const T* gm = G + n * OP;
      if (cnt > 1) {
        T* pack = plan.pack<T>(chunk);
        for (int64_t b = 0; b < cnt; ++b)
          for (int64_t o = 0; o < g.O; ++o)
            std::memcpy(pack + o * ld + b * P, G + (n + b) * OP + o * P, static_cast<size_t>(P) * sizeof(T));
        gm = pack;
      }
      if (gw) {
        const T* src = X + n * CHW;
        if (!plan.direct) {
          for (int64_t b = 0; b < cnt; ++b) im2col(X + (n + b) * CHW, g, col + b * P, ld);
          src = col;
        }
        for (int64_t gr = 0; gr < g.groups; ++gr)
          gemm(false, true, Og, K, ld, T(1), gm + gr * Og * ld, ld, src + gr * K * ld, ld, T(1), gw + gr * Og * K, K);
      }
      if (GX) {
        T* dst = plan.direct ? GX + n * CHW : col;
        for (int64_t gr = 0; gr < g.groups; ++gr)
          gemm(true, false, K, ld, Og, T(1), Wt + gr * Og * K, K, gm + gr * Og * ld, ld, T(0), dst + gr * K * ld, ld);
        if (!plan.direct)
          for (int64_t b = 0; b < cnt; ++b) {
            T* gx = GX + (n + b) * CHW;
            std::fill(gx, gx + CHW, T(0));
            col2im(col + b * P, ld, g, gx);
          }
      }
    }
  });
  if (GW)
    for (int64_t c = 1; c < plan.chunks; ++c) {
      const T* part = plan.gw<T>(c);
      for (int64_t i = 0; i < wsize; ++i) GW[i] += part[i];
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

// f32 3×3 stride-1 convolutions go to Winograd F(2×2, 3×3) (conv_winograd.cpp); these return false
// (nothing done) for every other case.
bool winograd(const float* B, const Tensor& x, const Tensor& w, const Conv2dGeometry& g, Tensor& out) {
  if (!winograd_applicable(g)) return false;
  winograd_forward(x.data<float>(), w.data<float>(), B, g, out.data<float>());
  return true;
}
bool winograd(const double*, const Tensor&, const Tensor&, const Conv2dGeometry&, Tensor&) { return false; }
bool winograd_grad(const float* G, const Tensor& x, const Tensor& w, const Conv2dGeometry& g, float* GX, float* GW) {
  if (!winograd_applicable(g)) return false;
  winograd_backward(G, x.data<float>(), w.data<float>(), g, GX, GW);
  return true;
}
bool winograd_grad(const double*, const Tensor&, const Tensor&, const Conv2dGeometry&, double*, double*) {
  return false;
}

void conv2d_kernel(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dGeometry& g, Tensor& out) {
  MM_DISPATCH_FLOAT(x.dtype(), "conv2d", [&] {
    const scalar_t* B = bias ? bias->data<scalar_t>() : nullptr;
    if (g.depthwise())
      depthwise_forward<scalar_t>(x.data<scalar_t>(), w.data<scalar_t>(), B, g, out.data<scalar_t>());
    else if (!winograd(B, x, w, g, out))
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
      else if (!winograd_grad(G, x, w, g, GX, GW))
        gemm_backward<scalar_t>(G, x.data<scalar_t>(), w.data<scalar_t>(), g, GX, GW);
    }
    if (grad_b) bias_backward<scalar_t>(G, g, grad_b->data<scalar_t>());
  });
}

}  // namespace

MM_REGISTER_KERNEL(conv2d, CPU, &conv2d_kernel);
MM_REGISTER_KERNEL(conv2d_backward, CPU, &conv2d_backward_kernel);

}  // namespace mm::cpu
