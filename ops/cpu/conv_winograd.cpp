// Winograd F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016) for
// f32 3×3 stride-1 convolutions: each 2×2 block of output pixels ("tile") comes from a 4×4 input
// patch d as
//     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
// with 16 multiplies per tile and channel pair instead of im2col's 36: summed over the input channels
// the ⊙ becomes, for each of the 16 positions ξ of the 4×4 transformed tile, one matrix product
//     M[ξ] [O, T] = U[ξ] [O, C] × V[ξ] [C, T]       (U = G g Gᵀ, V = Bᵀ d B, T tiles)
// so the GEMM work is 16/36 of im2col's (a little more where OH or OW is odd: the last tile sticks
// out). The transform matrices (F(2,3)):
//     Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]   Aᵀ = [1 1 1 0; 0 1 -1 -1]
// Their entries are 0, ±1 and ±½, so the transforms add little rounding error (tests/ops/
// test_conv_paths.cpp holds f32 results to 1e-5 of the largest value of a naive f64 loop); f64 keeps
// the im2col path.
//
// Backward:
// - grad_input is the forward convolution of grad_out with the kernel flipped in both axes and its
//   in/out channels swapped, padded by 2 − p (stride 1): the same code.
// - grad_weight, by the chain rule through the formula above: dU[ξ] = Σ_tiles (A dY Aᵀ)[ξ] · V[ξ], i.e.
//   for each ξ one GEMM dU[ξ] [O, C] += Ŷ[ξ] [O, T] × V[ξ]ᵀ, then dg = Gᵀ dU G. Tiles that stick out
//   of the output see grad_out 0 there, and padding pixels are 0 in V, so nothing spurious is added.
//
// Work split as in conv.cpp: one contiguous range of samples per thread, blocks of samples (about
// target_tiles() tiles) per GEMM batch, single-threaded GEMMs inside the parallel region (OpenBLAS
// threads them itself when there is only one chunk). The weight-gradient partials dU of the chunks are
// summed in chunk order before the final transform: bitwise reproducible for a given thread count.
// (Splitting the 16 weight-gradient GEMMs over the threads by ξ instead, with one shared dU, saved
// memory but was 20–40% slower with 2 threads on the loaded machine: two barriers per block.) All
// scratch (transformed weights, V, M / Ŷ, dU) is the calling thread's conv_scratch buffer.
#include "ops/cpu/conv_winograd.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/cpu/conv_scratch.h"
#include "runtime/parallel.h"

namespace mm::cpu {
namespace {

constexpr int64_t kTargetTiles = 256;  // tiles per GEMM batch (columns of the 16 GEMMs)

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
           float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), 1.0f, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}

// One convolution as seen by the transforms: input [N, C, H, W] → output [N, O, OH, OW], padding pH, pW.
struct Shape3 {
  int64_t N, C, H, W, O, OH, OW, pH, pW;
  int64_t tH() const { return (OH + 1) / 2; }
  int64_t tW() const { return (OW + 1) / 2; }
  int64_t tiles() const { return tH() * tW(); }  // per sample
  // Tiles per GEMM batch: kTargetTiles, fewer for wide layers (512 channels: 128), whose V and M
  // buffers (16·(C + O)·4 bytes per tile) would otherwise set the scratch size, i.e. peak memory.
  int64_t target_tiles() const {
    return std::clamp<int64_t>(kTargetTiles * 256 / std::max<int64_t>(1, std::max(C, O)), 64, kTargetTiles);
  }
};

// Work split: `chunks` contiguous sample ranges (one per thread), blocks of nb samples within each.
struct Split {
  int64_t chunks, nb;
  int64_t begin(const Shape3& s, int64_t c) const { return s.N * c / chunks; }
};
Split make_split(const Shape3& s) {
  Split p;
  p.chunks = std::clamp<int64_t>(num_threads(), 1, s.N);
  const int64_t per_chunk = (s.N + p.chunks - 1) / p.chunks;
  int64_t nb = std::clamp<int64_t>((s.target_tiles() + s.tiles() - 1) / s.tiles(), 1, per_chunk);
  const int64_t blocks = (per_chunk + nb - 1) / nb;
  p.nb = (per_chunk + blocks - 1) / blocks;  // equal-sized blocks
  return p;
}

template <typename F>
void run_chunks(const Shape3& s, const Split& p, F&& f) {
  if (p.chunks == 1) return f(int64_t{0}, int64_t{0}, s.N);
  parallel_for(0, p.chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) f(c, p.begin(s, c), p.begin(s, c + 1));
  });
}

// U[ξ][o][c] = (G w[o][c] Gᵀ)[ξ], w [O, C, 3, 3].
void weight_transform(const float* w, int64_t O, int64_t C, float* U) {
  const int64_t plane = O * C;
  for (int64_t o = 0; o < O; ++o)
    for (int64_t c = 0; c < C; ++c) {
      const float* g = w + (o * C + c) * 9;
      float a[4][3];
      for (int k = 0; k < 3; ++k) {
        a[0][k] = g[k];
        a[1][k] = 0.5f * (g[k] + g[3 + k] + g[6 + k]);
        a[2][k] = 0.5f * (g[k] - g[3 + k] + g[6 + k]);
        a[3][k] = g[6 + k];
      }
      float* u = U + o * C + c;
      for (int r = 0; r < 4; ++r) {
        u[(r * 4 + 0) * plane] = a[r][0];
        u[(r * 4 + 1) * plane] = 0.5f * (a[r][0] + a[r][1] + a[r][2]);
        u[(r * 4 + 2) * plane] = 0.5f * (a[r][0] - a[r][1] + a[r][2]);
        u[(r * 4 + 3) * plane] = a[r][2];
      }
    }
}

// The transforms are written so that the compiler vectorises them across the tiles of a row
// (contiguous stores into V / Ŷ; the only strided accesses are stride-2 loads from a row buffer).

// V[ξ][c][b·tiles + t] = (Bᵀ d B)[ξ] for the input patches d of samples x[0..cnt) (x [cnt, C, H, W]);
// ld is the row length of V (cnt·tiles). Horizontal 1-D transform first, once per input row (each
// row belongs to two tile rows), into h[row][s][j]; then the vertical one straight into V.
void input_transform(const float* x, int64_t cnt, const Shape3& s, float* V, int64_t ld, int64_t c0, int64_t c1) {
  const int64_t tH = s.tH(), tW = s.tW(), tiles = s.tiles(), HW = s.H * s.W, plane = s.C * ld;
  const int64_t Wp = 2 * tW + 2;  // padded row: input columns [−pW, −pW + Wp)
  const int64_t Hp = 2 * tH + 2;  // padded rows: input rows [−pH, −pH + Hp)
  const int64_t lo = std::min(s.pW, Wp), hi = std::clamp(s.W + s.pW, lo, Wp);  // real columns [lo, hi)
  const int64_t rlo = std::min(s.pH, Hp), rhi = std::clamp(s.H + s.pH, rlo, Hp);  // real rows [rlo, rhi)
  std::vector<float> buf(static_cast<size_t>(Wp + Hp * 4 * tW), 0.0f);
  float* __restrict row = buf.data();
  float* h = row + Wp;  // [Hp][4][tW]; padding rows stay 0
  for (int64_t b = 0; b < cnt; ++b)
    for (int64_t c = c0; c < c1; ++c) {
      const float* xc = x + (b * s.C + c) * HW;
      for (int64_t r = rlo; r < rhi; ++r) {
        std::memcpy(row + lo, xc + (r - s.pH) * s.W + (lo - s.pW), static_cast<size_t>(hi - lo) * sizeof(float));
        float* __restrict h0 = h + r * 4 * tW;
        float* __restrict h1 = h0 + tW;
        float* __restrict h2 = h1 + tW;
        float* __restrict h3 = h2 + tW;
        for (int64_t j = 0; j < tW; ++j) {
          const float a0 = row[2 * j], a1 = row[2 * j + 1], a2 = row[2 * j + 2], a3 = row[2 * j + 3];
          h0[j] = a0 - a2;
          h1[j] = a1 + a2;
          h2[j] = a2 - a1;
          h3[j] = a1 - a3;
        }
      }
      float* v = V + c * ld + b * tiles;
      for (int64_t i = 0; i < tH; ++i)
        for (int sc = 0; sc < 4; ++sc) {
          const float* __restrict d0 = h + ((2 * i + 0) * 4 + sc) * tW;
          const float* __restrict d1 = h + ((2 * i + 1) * 4 + sc) * tW;
          const float* __restrict d2 = h + ((2 * i + 2) * 4 + sc) * tW;
          const float* __restrict d3 = h + ((2 * i + 3) * 4 + sc) * tW;
          float* __restrict v0 = v + (0 * 4 + sc) * plane + i * tW;
          float* __restrict v1 = v + (1 * 4 + sc) * plane + i * tW;
          float* __restrict v2 = v + (2 * 4 + sc) * plane + i * tW;
          float* __restrict v3 = v + (3 * 4 + sc) * plane + i * tW;
          for (int64_t j = 0; j < tW; ++j) {
            v0[j] = d0[j] - d2[j];
            v1[j] = d1[j] + d2[j];
            v2[j] = d2[j] - d1[j];
            v3[j] = d1[j] - d3[j];
          }
        }
    }
}

// y[b][o] = (Aᵀ M A) tile by tile (+ bias), from M[ξ][o][b·tiles + t]; y [cnt, O, OH, OW].
void output_transform(const float* M, int64_t ld, int64_t cnt, const Shape3& s, const float* bias, float* y) {
  const int64_t tH = s.tH(), tW = s.tW(), tiles = s.tiles(), plane = s.O * ld;
  std::vector<float> buf(static_cast<size_t>(12 * tW), 0.0f);
  float* __restrict r0 = buf.data();  // [4][tW]: (Aᵀ M) row 0, per column s of the tile
  float* __restrict r1 = r0 + 4 * tW;  // row 1
  float* __restrict out = r1 + 4 * tW;  // [2][2·tW]: two output rows of the tile row
  for (int64_t b = 0; b < cnt; ++b)
    for (int64_t o = 0; o < s.O; ++o) {
      const float* m = M + o * ld + b * tiles;
      float* yo = y + (b * s.O + o) * s.OH * s.OW;
      const float bv = bias ? bias[o] : 0.0f;
      for (int64_t i = 0; i < tH; ++i) {
        const float* mt = m + i * tW;
        for (int sc = 0; sc < 4; ++sc) {
          const float* __restrict q0 = mt + (0 * 4 + sc) * plane;
          const float* __restrict q1 = mt + (1 * 4 + sc) * plane;
          const float* __restrict q2 = mt + (2 * 4 + sc) * plane;
          const float* __restrict q3 = mt + (3 * 4 + sc) * plane;
          float* __restrict a = r0 + sc * tW;
          float* __restrict c = r1 + sc * tW;
          for (int64_t j = 0; j < tW; ++j) {
            a[j] = q0[j] + q1[j] + q2[j];
            c[j] = q1[j] - q2[j] - q3[j];
          }
        }
        const float* rr[2] = {r0, r1};
        for (int a = 0; a < 2; ++a) {
          const int64_t oh = 2 * i + a;
          if (oh >= s.OH) break;
          const float* __restrict p0 = rr[a];
          const float* __restrict p1 = rr[a] + tW;
          const float* __restrict p2 = rr[a] + 2 * tW;
          const float* __restrict p3 = rr[a] + 3 * tW;
          float* __restrict row = out;
          for (int64_t j = 0; j < tW; ++j) {
            row[2 * j] = p0[j] + p1[j] + p2[j] + bv;
            row[2 * j + 1] = p1[j] - p2[j] - p3[j] + bv;
          }
          std::memcpy(yo + oh * s.OW, row, static_cast<size_t>(s.OW) * sizeof(float));
        }
      }
    }
}

// Ŷ[ξ][o][b·tiles + t] = (A dY Aᵀ)[ξ] for the 2×2 output-gradient tiles dY of gy [cnt, O, OH, OW] (0 past
// the edge).
void grad_output_transform(const float* gy, int64_t cnt, const Shape3& s, float* Yh, int64_t ld, int64_t o0,
                           int64_t o1) {
  const int64_t tH = s.tH(), tW = s.tW(), tiles = s.tiles(), plane = s.O * ld, Wp = 2 * tW;
  std::vector<float> buf(static_cast<size_t>(6 * Wp), 0.0f);
  float* e[2] = {buf.data(), buf.data() + Wp};  // the tile row's two grad_out rows, zero-padded
  float* __restrict q1 = buf.data() + 2 * Wp;  // A dY: rows e0, e0 + e1, e0 − e1, −e1
  float* __restrict q2 = q1 + Wp;
  float* __restrict q3 = q2 + Wp;
  for (int64_t b = 0; b < cnt; ++b)
    for (int64_t o = o0; o < o1; ++o) {
      const float* g = gy + (b * s.O + o) * s.OH * s.OW;
      float* yh = Yh + o * ld + b * tiles;
      for (int64_t i = 0; i < tH; ++i) {
        for (int a = 0; a < 2; ++a) {
          const int64_t oh = 2 * i + a;
          if (oh < s.OH) {
            std::memcpy(e[a], g + oh * s.OW, static_cast<size_t>(s.OW) * sizeof(float));
            std::fill(e[a] + s.OW, e[a] + Wp, 0.0f);
          } else {
            std::fill(e[a], e[a] + Wp, 0.0f);
          }
        }
        const float* __restrict e0 = e[0];
        const float* __restrict e1 = e[1];
        for (int64_t k = 0; k < Wp; ++k) {
          q1[k] = e0[k] + e1[k];
          q2[k] = e0[k] - e1[k];
          q3[k] = -e1[k];
        }
        const float* qr[4] = {e0, q1, q2, q3};
        for (int r = 0; r < 4; ++r) {
          const float* __restrict q = qr[r];
          float* __restrict y0 = yh + (r * 4 + 0) * plane + i * tW;
          float* __restrict y1 = yh + (r * 4 + 1) * plane + i * tW;
          float* __restrict y2 = yh + (r * 4 + 2) * plane + i * tW;
          float* __restrict y3 = yh + (r * 4 + 3) * plane + i * tW;
          for (int64_t j = 0; j < tW; ++j) {
            const float a0 = q[2 * j], a1 = q[2 * j + 1];
            y0[j] = a0;
            y1[j] = a0 + a1;
            y2[j] = a0 - a1;
            y3[j] = -a1;
          }
        }
      }
    }
}

// gw[o][c] = Gᵀ dU[·][o][c] G (4×4 → 3×3).
void weight_grad_transform(const float* dU, int64_t O, int64_t C, int64_t o0, int64_t o1, float* gw) {
  const int64_t plane = O * C;
  for (int64_t o = o0; o < o1; ++o)
    for (int64_t c = 0; c < C; ++c) {
      const float* u = dU + o * C + c;
      float q[4][4];
      for (int x = 0; x < 16; ++x) q[x / 4][x % 4] = u[x * plane];
      float a[3][4];
      for (int k = 0; k < 4; ++k) {
        a[0][k] = q[0][k] + 0.5f * (q[1][k] + q[2][k]);
        a[1][k] = 0.5f * (q[1][k] - q[2][k]);
        a[2][k] = 0.5f * (q[1][k] + q[2][k]) + q[3][k];
      }
      float* g = gw + (o * C + c) * 9;
      for (int r = 0; r < 3; ++r) {
        g[r * 3 + 0] = a[r][0] + 0.5f * (a[r][1] + a[r][2]);
        g[r * 3 + 1] = 0.5f * (a[r][1] - a[r][2]);
        g[r * 3 + 2] = 0.5f * (a[r][1] + a[r][2]) + a[r][3];
      }
    }
}

int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }

// The convolution of x with weights w [O, C, 3, 3] (+ bias) into y. Scratch: the transformed
// weights U [16, O, C], then per chunk V [16, C, T] and M [16, O, T].
void forward_core(const float* x, const float* w, const float* bias, const Shape3& s, float* y) {
  const Split p = make_split(s);
  const int64_t ldmax = p.nb * s.tiles();
  const int64_t v_elems = round16(16 * s.C * ldmax), m_elems = round16(16 * s.O * ldmax);
  const int64_t u_elems = round16(16 * s.O * s.C);
  float* U = conv_scratch<float>(u_elems + p.chunks * (v_elems + m_elems));
  float* scratch = U + u_elems;
  weight_transform(w, s.O, s.C, U);
  const int64_t CHW = s.C * s.H * s.W, OP = s.O * s.OH * s.OW;
  run_chunks(s, p, [&](int64_t chunk, int64_t n0, int64_t n1) {
    float* V = scratch + chunk * (v_elems + m_elems);
    float* M = V + v_elems;
    for (int64_t n = n0; n < n1; n += p.nb) {
      const int64_t cnt = std::min(p.nb, n1 - n), ld = cnt * s.tiles();
      input_transform(x + n * CHW, cnt, s, V, ld, 0, s.C);
      for (int64_t xi = 0; xi < 16; ++xi)
        sgemm(false, false, s.O, ld, s.C, U + xi * s.O * s.C, s.C, V + xi * s.C * ld, ld, 0.0f, M + xi * s.O * ld, ld);
      output_transform(M, ld, cnt, s, bias, y + n * OP);
    }
  });
}

Shape3 shape_of(const Conv2dGeometry& g) { return {g.N, g.C, g.H, g.W, g.O, g.OH, g.OW, g.pH, g.pW}; }

}  // namespace

bool winograd_applicable(const Conv2dGeometry& g) {
  return g.kH == 3 && g.kW == 3 && g.sH == 1 && g.sW == 1 && g.dH == 1 && g.dW == 1 && g.groups == 1 &&
         g.pH <= 2 && g.pW <= 2 && g.N >= 1 && g.C >= 16 && g.O >= 16 && g.OH >= 1 && g.OW >= 1;
}

void winograd_forward(const float* X, const float* W, const float* B, const Conv2dGeometry& g, float* Y) {
  forward_core(X, W, B, shape_of(g), Y);
}

void winograd_backward(const float* G, const float* X, const float* W, const Conv2dGeometry& g, float* GX,
                       float* GW) {
  if (GX) {
    // grad_x = conv(grad_out, w flipped and transposed to [C, O, 3, 3], padding 2 − p).
    std::vector<float> wt(static_cast<size_t>(g.O * g.C * 9));
    for (int64_t o = 0; o < g.O; ++o)
      for (int64_t c = 0; c < g.C; ++c)
        for (int k = 0; k < 9; ++k) wt[static_cast<size_t>((c * g.O + o) * 9 + (8 - k))] = W[(o * g.C + c) * 9 + k];
    const Shape3 t{g.N, g.O, g.OH, g.OW, g.C, g.H, g.W, 2 - g.pH, 2 - g.pW};
    forward_core(G, wt.data(), nullptr, t, GX);
  }
  if (GW) {
    // Per chunk: dU[ξ] += Ŷ[ξ] V[ξ]ᵀ over its blocks; the chunks' dU are then summed in chunk order.
    const Shape3 s = shape_of(g);
    const Split p = make_split(s);
    const int64_t ldmax = p.nb * s.tiles();
    const int64_t v_elems = round16(16 * s.C * ldmax), y_elems = round16(16 * s.O * ldmax);
    const int64_t du_elems = round16(16 * s.O * s.C), per_chunk = v_elems + y_elems + du_elems;
    float* base = conv_scratch<float>(p.chunks * per_chunk);
    const int64_t CHW = s.C * s.H * s.W, OP = s.O * s.OH * s.OW;
    run_chunks(s, p, [&](int64_t chunk, int64_t n0, int64_t n1) {
      float* V = base + chunk * per_chunk;
      float* Yh = V + v_elems;
      float* dU = Yh + y_elems;
      for (int64_t n = n0; n < n1; n += p.nb) {
        const int64_t cnt = std::min(p.nb, n1 - n), ld = cnt * s.tiles();
        input_transform(X + n * CHW, cnt, s, V, ld, 0, s.C);
        grad_output_transform(G + n * OP, cnt, s, Yh, ld, 0, s.O);
        const float beta = n == n0 ? 0.0f : 1.0f;
        for (int64_t xi = 0; xi < 16; ++xi)
          sgemm(false, true, s.O, s.C, ld, Yh + xi * s.O * ld, ld, V + xi * s.C * ld, ld, beta, dU + xi * s.O * s.C,
                s.C);
      }
    });
    float* dU0 = base + v_elems + y_elems;
    for (int64_t c = 1; c < p.chunks; ++c) {
      const float* part = base + c * per_chunk + v_elems + y_elems;
      for (int64_t i = 0; i < 16 * s.O * s.C; ++i) dU0[i] += part[i];
    }
    weight_grad_transform(dU0, s.O, s.C, 0, s.O, GW);
  }
}

}  // namespace mm::cpu
