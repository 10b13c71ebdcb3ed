// CPU layer_norm and batch_norm, forward and backward (formulas: ops/norm_math.h).
//
// layer_norm runs rows in parallel; each row is short (it stays in L1), so mean and variance take
// two passes over it — the centred second pass is accurate where Σx² − n·μ² would cancel. The
// forward statistics accumulate in double (acc_t<float>) with `omp simd` reductions, which vectorise
// with a fixed order. The backward sums run in float over blocks of ≤ 256 terms (full-width SIMD,
// float error bounded by the block length) whose results are added in double. The weight/bias
// gradients sum over rows: rows are cut into a fixed number of chunks (it depends on the size only,
// not on the thread count), each chunk sums into its own partial row, and the partials are added in
// chunk order — bitwise reproducible for any thread count.
//
// batch_norm runs channels in parallel; a channel is N runs of S contiguous elements.
#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/cpu/loops.h"
#include "ops/math/reduce_functors.h"
#include "ops/norm.h"
#include "ops/norm_math.h"

namespace mm::cpu {
namespace {

// ---- layer_norm ----

template <typename T>
void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor& y, Tensor& mean,
                        Tensor& rstd) {
  using Acc = acc_t<T>;
  const int64_t rows = x.size(0), D = x.size(1);
  const T* X = x.data<T>();
  // A missing weight/bias becomes a row of ones/zeros, so the hot loops have no branches.
  std::vector<T> ones(weight.defined() ? 0 : D, T(1)), zeros(bias.defined() ? 0 : D, T(0));
  const T* W = weight.defined() ? weight.data<T>() : ones.data();
  const T* B = bias.defined() ? bias.data<T>() : zeros.data();
  T* Y = y.data<T>();
  T* MEAN = mean.data<T>();
  T* RSTD = rstd.data<T>();
  parallel_for(0, rows, std::max<int64_t>(1, kGrain / D), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = X + r * D;
      T* yr = Y + r * D;
      Acc s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t j = 0; j < D; ++j) s += Acc(xr[j]);
      const Acc mu = s / Acc(D);
      Acc v = 0;
#pragma omp simd reduction(+ : v)
      for (int64_t j = 0; j < D; ++j) {
        const Acc d = Acc(xr[j]) - mu;
        v += d * d;
      }
      const Acc rs = norm::rstd<Acc>(v / Acc(D), Acc(eps));
      MEAN[r] = T(mu);
      RSTD[r] = T(rs);
      // The element-wise pass runs in T (vectorises at full width); the statistics were the part
      // that needed the wide accumulator.
      const T m = T(mu), q = T(rs);
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) yr[j] = norm::affine<T>(xr[j], m, q, W[j], B[j]);
    }
  });
}

// Backward sums run in T in SIMD registers (a SIMD vector of lanes, each lane summing every
// kSimdLanes-th element) over at most kBlock elements or rows, and the block results are added in Acc:
// float accuracy over short runs, double across them. The vector type is GCC/Clang's generic vector
// extension — it compiles to whatever SIMD width -march provides (one zmm, two ymm, ...) — used
// because the compilers' auto-vectorisation of these fused multi-sum loops proved fragile.
inline constexpr int64_t kBlock = 256;

// The vector width is the widest the target has (-march=native): 64 bytes with AVX-512, 32 bytes
// otherwise. A 64-byte vector type on a machine without AVX-512 would be emulated and changes the
// calling convention of these helpers (g++ -Wpsabi).
#if defined(__AVX512F__)
inline constexpr int kSimdBytes = 64;
#else
inline constexpr int kSimdBytes = 32;
#endif
template <typename T>
struct SimdOf {
  typedef T type __attribute__((vector_size(kSimdBytes)));
};
template <typename T>
using Simd = typename SimdOf<T>::type;
template <typename T>
inline constexpr int64_t kSimdLanes = kSimdBytes / sizeof(T);
template <typename T>
inline Simd<T> simd_load(const T* p) {
  Simd<T> v;
  std::memcpy(&v, p, sizeof v);  // unaligned load
  return v;
}
template <typename T>
inline void simd_store(T* p, Simd<T> v) {
  std::memcpy(p, &v, sizeof v);
}

// One pass over a row of layer_norm's backward: returns Σg and Σg·x̂ (g = dy·w) and, with kParams,
// adds dy·x̂ and dy into the chunk's running sums tw, tb.
template <bool kParams, typename T>
void layer_norm_row_sums(const T* dy, const T* x, const T* w, T mu, T rs, int64_t D, T* tw, T* tb, acc_t<T>& sg,
                         acc_t<T>& sgx) {
  using Acc = acc_t<T>;
  constexpr int64_t L = kSimdLanes<T>;
  sg = 0;
  sgx = 0;
  int64_t j = 0;
  while (j + L <= D) {
    Simd<T> vg = {}, vgx = {};
    for (const int64_t jend = std::min(j + kBlock, D - (D - j) % L); j < jend; j += L) {
      const Simd<T> d = simd_load(dy + j), xhat = (simd_load(x + j) - mu) * rs, g = d * simd_load(w + j);
      vg += g;
      vgx += g * xhat;
      if constexpr (kParams) {
        simd_store(tw + j, simd_load(tw + j) + d * xhat);
        simd_store(tb + j, simd_load(tb + j) + d);
      }
    }
    for (int64_t k = 0; k < L; ++k) {
      sg += Acc(vg[k]);
      sgx += Acc(vgx[k]);
    }
  }
  for (; j < D; ++j) {
    const T xhat = (x[j] - mu) * rs, g = dy[j] * w[j];
    sg += Acc(g);
    sgx += Acc(g * xhat);
    if constexpr (kParams) {
      tw[j] += dy[j] * xhat;
      tb[j] += dy[j];
    }
  }
}

template <typename T>
void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  using Acc = acc_t<T>;
  const int64_t rows = x.size(0), D = x.size(1);
  const T* DY = dy.data<T>();
  const T* X = x.data<T>();
  const T* MEAN = mean.data<T>();
  const T* RSTD = rstd.data<T>();
  std::vector<T> ones(weight.defined() ? 0 : D, T(1));
  const T* W = weight.defined() ? weight.data<T>() : ones.data();
  T* DX = opt_mut<T>(dx);
  T* DW = opt_mut<T>(dweight);
  T* DB = opt_mut<T>(dbias);
  const bool params = DW || DB;
  // Fixed chunking of the rows (it depends on the size only; see the file comment). Each chunk sums
  // dy·x̂ and dy over its rows in T, kBlock rows at a time, then into its Acc partial row.
  const int64_t chunks = std::min(rows, reduction_chunks(rows * D, kGrain));
  std::vector<Acc> part_w(params ? chunks * D : 0), part_b(params ? chunks * D : 0);  // zeroed
  parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    std::vector<T> tw(params ? D : 0), tb(params ? D : 0);
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t r0 = rows * c / chunks, r1 = rows * (c + 1) / chunks;
      for (int64_t r = r0; r < r1; ++r) {
        const T* dyr = DY + r * D;
        const T* xr = X + r * D;
        const T mu = MEAN[r], rs = RSTD[r];
        Acc sg, sgx;
        if (params) {
          if ((r - r0) % kBlock == 0) {
            std::fill(tw.begin(), tw.end(), T(0));
            std::fill(tb.begin(), tb.end(), T(0));
          }
          layer_norm_row_sums<true>(dyr, xr, W, mu, rs, D, tw.data(), tb.data(), sg, sgx);
          if ((r - r0) % kBlock == kBlock - 1 || r == r1 - 1) {
            Acc* pw = part_w.data() + c * D;
            Acc* pb = part_b.data() + c * D;
            for (int64_t j = 0; j < D; ++j) {
              pw[j] += Acc(tw[j]);
              pb[j] += Acc(tb[j]);
            }
          }
        } else {
          layer_norm_row_sums<false>(dyr, xr, W, mu, rs, D, static_cast<T*>(nullptr), static_cast<T*>(nullptr), sg,
                                     sgx);
        }
        if (!DX) continue;
        const T mg = T(sg / Acc(D)), mgx = T(sgx / Acc(D));
        T* dxr = DX + r * D;
#pragma omp simd
        for (int64_t j = 0; j < D; ++j) dxr[j] = norm::dx<T>(dyr[j] * W[j], (xr[j] - mu) * rs, rs, mg, mgx);
      }
    }
  });
  if (!params) return;
  // Partials summed in chunk order, columns in parallel.
  parallel_for(0, D, std::max<int64_t>(1, kGrain / chunks), [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      Acc sw = 0, sb = 0;
      for (int64_t c = 0; c < chunks; ++c) {
        sw += part_w[c * D + j];
        sb += part_b[c * D + j];
      }
      if (DW) DW[j] = T(sw);
      if (DB) DB[j] = T(sb);
    }
  });
}

// ---- batch_norm ----

template <typename T>
void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                        const Tensor& running_var, bool training, double momentum, double eps, Tensor& y,
                        Tensor& mean, Tensor& rstd) {
  using Acc = acc_t<T>;
  const int64_t N = x.size(0), C = x.size(1), S = x.size(2);
  const int64_t M = N * S;  // elements per channel
  const T* X = x.data<T>();
  const T* W = opt_data<T>(weight);
  const T* B = opt_data<T>(bias);
  T* RM = opt_mut<T>(running_mean);
  T* RV = opt_mut<T>(running_var);
  T* Y = y.data<T>();
  T* MEAN = mean.data<T>();
  T* RSTD = rstd.data<T>();
  parallel_for(0, C, std::max<int64_t>(1, kGrain / std::max<int64_t>(M, 1)), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      Acc mu, rs;
      if (training) {
        Acc s = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* p = X + (n * C + c) * S;
#pragma omp simd reduction(+ : s)
          for (int64_t i = 0; i < S; ++i) s += Acc(p[i]);
        }
        mu = s / Acc(M);
        Acc v = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* p = X + (n * C + c) * S;
#pragma omp simd reduction(+ : v)
          for (int64_t i = 0; i < S; ++i) {
            const Acc d = Acc(p[i]) - mu;
            v += d * d;
          }
        }
        const Acc var = v / Acc(M);  // biased: used to normalise
        rs = norm::rstd<Acc>(var, Acc(eps));
        if (RM) {
          RM[c] = T(norm::running_update<Acc>(Acc(RM[c]), mu, Acc(momentum)));
          RV[c] = T(norm::running_update<Acc>(Acc(RV[c]), var * Acc(M) / Acc(M - 1), Acc(momentum)));
        }
      } else {
        mu = Acc(RM[c]);
        rs = norm::rstd<Acc>(Acc(RV[c]), Acc(eps));
      }
      MEAN[c] = T(mu);
      RSTD[c] = T(rs);
      const T m = T(mu), q = T(rs), w = W ? W[c] : T(1), b = B ? B[c] : T(0);
      for (int64_t n = 0; n < N; ++n) {
        const T* p = X + (n * C + c) * S;
        T* o = Y + (n * C + c) * S;
#pragma omp simd
        for (int64_t i = 0; i < S; ++i) o[i] = norm::affine<T>(p[i], m, q, w, b);
      }
    }
  });
}

template <typename T>
void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, bool training, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  using Acc = acc_t<T>;
  const int64_t N = x.size(0), C = x.size(1), S = x.size(2);
  const int64_t M = N * S;
  const T* DY = dy.data<T>();
  const T* X = x.data<T>();
  const T* MEAN = mean.data<T>();
  const T* RSTD = rstd.data<T>();
  const T* W = opt_data<T>(weight);
  T* DX = opt_mut<T>(dx);
  T* DW = opt_mut<T>(dweight);
  T* DB = opt_mut<T>(dbias);
  parallel_for(0, C, std::max<int64_t>(1, kGrain / std::max<int64_t>(M, 1)), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const T mu = MEAN[c], rs = RSTD[c], w = W ? W[c] : T(1);
      // Σdy and Σdy·x̂ over the channel: db, dw, and (training) the two means of dx's formula.
      Acc sdy = 0, sdyx = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* g = DY + (n * C + c) * S;
        const T* p = X + (n * C + c) * S;
#pragma omp simd reduction(+ : sdy, sdyx)
        for (int64_t i = 0; i < S; ++i) {
          sdy += Acc(g[i]);
          sdyx += Acc(g[i]) * ((Acc(p[i]) - Acc(mu)) * Acc(rs));
        }
      }
      if (DW) DW[c] = T(sdyx);
      if (DB) DB[c] = T(sdy);
      if (!DX) continue;
      // With g = dy·w constant-scaled per channel: mean(g) = w·Σdy/M, mean(g·x̂) = w·Σdy·x̂/M. In eval
      // mode the statistics are constants and both terms vanish.
      const T mg = training ? T(Acc(w) * sdy / Acc(M)) : T(0);
      const T mgx = training ? T(Acc(w) * sdyx / Acc(M)) : T(0);
      for (int64_t n = 0; n < N; ++n) {
        const T* g = DY + (n * C + c) * S;
        const T* p = X + (n * C + c) * S;
        T* o = DX + (n * C + c) * S;
#pragma omp simd
        for (int64_t i = 0; i < S; ++i) o[i] = norm::dx<T>(g[i] * w, (p[i] - mu) * rs, rs, mg, mgx);
      }
    }
  });
}

void layer_norm_kernel(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor& y, Tensor& mean,
                       Tensor& rstd) {
  MM_DISPATCH_FLOAT(x.dtype(), "layer_norm",
                    [&] { layer_norm_forward<scalar_t>(x, weight, bias, eps, y, mean, rstd); });
}

void layer_norm_backward_kernel(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                const Tensor& weight, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  MM_DISPATCH_FLOAT(x.dtype(), "layer_norm_backward",
                    [&] { layer_norm_backward<scalar_t>(dy, x, mean, rstd, weight, dx, dweight, dbias); });
}

void batch_norm_kernel(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                       const Tensor& running_var, bool training, double momentum, double eps, Tensor& y, Tensor& mean,
                       Tensor& rstd) {
  MM_DISPATCH_FLOAT(x.dtype(), "batch_norm", [&] {
    batch_norm_forward<scalar_t>(x, weight, bias, running_mean, running_var, training, momentum, eps, y, mean, rstd);
  });
}

void batch_norm_backward_kernel(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                const Tensor& weight, bool training, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  MM_DISPATCH_FLOAT(x.dtype(), "batch_norm_backward",
                    [&] { batch_norm_backward<scalar_t>(dy, x, mean, rstd, weight, training, dx, dweight, dbias); });
}

}  // namespace

MM_REGISTER_KERNEL(layer_norm, CPU, &layer_norm_kernel);
MM_REGISTER_KERNEL(layer_norm_backward, CPU, &layer_norm_backward_kernel);
MM_REGISTER_KERNEL(batch_norm, CPU, &batch_norm_kernel);
MM_REGISTER_KERNEL(batch_norm_backward, CPU, &batch_norm_backward_kernel);

}  // namespace mm::cpu
