// Every CPU conv2d path (im2col + GEMM with its flat-shift and strided unfolds, the direct 1×1 paths
// for stride 1 and stride > 1, depthwise, sample blocking and the per-thread batch split) against a
// naive reference loop in double: forward, grad_input, grad_weight and grad_bias, on odd shapes
// (stride 2 and 3, padding 0/1/3, groups, dilation, batch 1 and 5, non-square maps), in f64 and f32,
// with one and with two threads. Also: the results are bitwise reproducible for a fixed thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "ops/conv.h"
#include "ops/copy.h"
#include "runtime/parallel.h"

namespace mm {
namespace {

struct Case {
  int64_t N, C, H, W, O, kH, kW;
  int64_t sH, sW, pH, pW, dH, dW, groups;
};

std::string describe(const Case& k, DType dt) {
  std::ostringstream os;  // (not operator+ on strings: g++ 12 -O3 gives a false -Wrestrict there)
  os << "N" << k.N << " C" << k.C << " " << k.H << "x" << k.W << " O" << k.O << " k" << k.kH << "x" << k.kW << " s"
     << k.sH << "," << k.sW << " p" << k.pH << "," << k.pW << " d" << k.dH << "," << k.dW << " g" << k.groups
     << (dt == DType::F32 ? " f32" : " f64") << " threads " << num_threads();
  return os.str();
}

struct Ref {
  int64_t OH, OW;
  std::vector<double> y, gx, gw, gb;
};

// Direct definition: y[n,o,oh,ow] = b[o] + Σ_{c in group, kh, kw} x[n,c,ih,iw]·w[o,c',kh,kw] with
// ih = oh·sH − pH + kh·dH (likewise iw), and its adjoints.
Ref reference(const Case& k, const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
              const std::vector<double>& gy) {
  Ref r;
  r.OH = (k.H + 2 * k.pH - k.dH * (k.kH - 1) - 1) / k.sH + 1;
  r.OW = (k.W + 2 * k.pW - k.dW * (k.kW - 1) - 1) / k.sW + 1;
  const int64_t Cg = k.C / k.groups, Og = k.O / k.groups;
  r.y.assign(static_cast<size_t>(k.N * k.O * r.OH * r.OW), 0.0);
  r.gx.assign(x.size(), 0.0);
  r.gw.assign(w.size(), 0.0);
  r.gb.assign(static_cast<size_t>(k.O), 0.0);
  for (int64_t n = 0; n < k.N; ++n)
    for (int64_t o = 0; o < k.O; ++o)
      for (int64_t oh = 0; oh < r.OH; ++oh)
        for (int64_t ow = 0; ow < r.OW; ++ow) {
          const size_t yi = static_cast<size_t>(((n * k.O + o) * r.OH + oh) * r.OW + ow);
          double acc = b[static_cast<size_t>(o)];
          const double g = gy[yi];
          r.gb[static_cast<size_t>(o)] += g;
          for (int64_t cc = 0; cc < Cg; ++cc) {
            const int64_t c = (o / Og) * Cg + cc;
            for (int64_t kh = 0; kh < k.kH; ++kh)
              for (int64_t kw = 0; kw < k.kW; ++kw) {
                const int64_t ih = oh * k.sH - k.pH + kh * k.dH, iw = ow * k.sW - k.pW + kw * k.dW;
                if (ih < 0 || ih >= k.H || iw < 0 || iw >= k.W) continue;
                const size_t xi = static_cast<size_t>(((n * k.C + c) * k.H + ih) * k.W + iw);
                const size_t wi = static_cast<size_t>(((o * Cg + cc) * k.kH + kh) * k.kW + kw);
                acc += x[xi] * w[wi];
                r.gx[xi] += g * w[wi];
                r.gw[wi] += g * x[xi];
              }
          }
          r.y[yi] = acc;
        }
  return r;
}

std::vector<double> wave(size_t n, double a, double phase) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(a * static_cast<double>(i) + phase);
  return v;
}

// Errors relative to the largest reference value (1 + max |want|): a gradient entry is a sum of many
// terms and may cancel to near zero while its rounding error scales with the terms.
void expect_close(const std::vector<double>& got, const std::vector<double>& want, double tol, const std::string& what,
                  const char* part) {
  ASSERT_EQ(got.size(), want.size()) << what << " " << part;
  double scale = 1.0, worst = 0;
  for (double v : want) scale = std::max(scale, 1.0 + std::abs(v));
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(got[i] - want[i]) / scale;
    if (!(err <= worst)) worst = err, at = i;  // also catches NaN
  }
  EXPECT_LE(worst, tol) << what << " " << part << ": worst relative error at index " << at << " (got " << got[at] << ", want "
                        << want[at] << ")";
}

// Runs one case in `dt` and compares all four results with the reference.
void check(const Case& k, DType dt, double tol) {
  const Shape xs{k.N, k.C, k.H, k.W}, ws{k.O, k.C / k.groups, k.kH, k.kW};
  const std::vector<double> xv = wave(static_cast<size_t>(shape_numel(xs)), 0.37, 0.1);
  const std::vector<double> wv = wave(static_cast<size_t>(shape_numel(ws)), 0.91, 0.7);
  const std::vector<double> bv = wave(static_cast<size_t>(k.O), 1.3, 0.2);
  const int64_t OH = (k.H + 2 * k.pH - k.dH * (k.kH - 1) - 1) / k.sH + 1;
  const int64_t OW = (k.W + 2 * k.pW - k.dW * (k.kW - 1) - 1) / k.sW + 1;
  const Shape ys{k.N, k.O, OH, OW};
  const std::vector<double> gyv = wave(static_cast<size_t>(shape_numel(ys)), 0.53, 0.4);
  const Ref r = reference(k, xv, wv, bv, gyv);

  Tensor x = ops::to_dtype(Tensor::from_vector(xv, xs), dt), w = ops::to_dtype(Tensor::from_vector(wv, ws), dt);
  Tensor b = ops::to_dtype(Tensor::from_vector(bv, {k.O}), dt), gy = ops::to_dtype(Tensor::from_vector(gyv, ys), dt);
  const Conv2dParams p{{k.sH, k.sW}, {k.pH, k.pW}, {k.dH, k.dW}, k.groups};
  const std::string what = describe(k, dt);
  Tensor y = ops::conv2d(x, w, b, p);
  ASSERT_EQ(y.shape(), ys) << what;
  expect_close(y.to_double_vector(), r.y, tol, what, "forward");
  ops::Conv2dGrads gr = ops::conv2d_backward(gy, x, w, p, {true, true, true});
  expect_close(gr.input.to_double_vector(), r.gx, tol, what, "grad_input");
  expect_close(gr.weight.to_double_vector(), r.gw, tol, what, "grad_weight");
  expect_close(gr.bias.to_double_vector(), r.gb, tol, what, "grad_bias");
  // Only one of the two gradients: the same values as with both.
  ops::Conv2dGrads only_x = ops::conv2d_backward(gy, x, w, p, {true, false, false});
  ops::Conv2dGrads only_w = ops::conv2d_backward(gy, x, w, p, {false, true, false});
  EXPECT_EQ(only_x.input.to_double_vector(), gr.input.to_double_vector()) << what;
  EXPECT_EQ(only_w.weight.to_double_vector(), gr.weight.to_double_vector()) << what;
  // Bitwise reproducible.
  Tensor y2 = ops::conv2d(x, w, b, p);
  ops::Conv2dGrads gr2 = ops::conv2d_backward(gy, x, w, p, {true, true, true});
  EXPECT_EQ(y2.to_double_vector(), y.to_double_vector()) << what;
  EXPECT_EQ(gr2.input.to_double_vector(), gr.input.to_double_vector()) << what;
  EXPECT_EQ(gr2.weight.to_double_vector(), gr.weight.to_double_vector()) << what;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      //  N  C   H   W   O kH kW sH sW pH pW dH dW g
      {5, 3, 9, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},     // 3×3 "same" (flat-shift unfold), non-square
      {1, 3, 9, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},     // batch 1
      {5, 4, 11, 8, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1},    // 3×3 stride 2
      {5, 4, 10, 9, 6, 3, 3, 2, 2, 0, 0, 1, 1, 1},    // stride 2, no padding
      {5, 3, 13, 11, 5, 7, 7, 2, 2, 3, 3, 1, 1, 1},   // ResNet stem-like 7×7 stride 2 padding 3
      {5, 6, 9, 10, 8, 1, 1, 1, 1, 0, 0, 1, 1, 1},    // 1×1 stride 1 (direct)
      {1, 6, 9, 10, 8, 1, 1, 1, 1, 0, 0, 1, 1, 1},    // 1×1 stride 1, batch 1
      {5, 6, 9, 10, 8, 1, 1, 2, 2, 0, 0, 1, 1, 1},    // 1×1 stride 2 (downsample shortcut)
      {1, 6, 8, 7, 8, 1, 1, 2, 2, 0, 0, 1, 1, 1},     // 1×1 stride 2, batch 1, odd width
      {5, 6, 9, 10, 8, 1, 1, 3, 2, 0, 0, 1, 1, 1},    // 1×1 anisotropic stride
      {5, 4, 7, 7, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1},     // 1×1 with padding (not pointwise)
      {5, 4, 9, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2},     // groups 2
      {5, 6, 9, 8, 6, 3, 3, 2, 1, 1, 1, 1, 1, 3},     // groups 3, mixed stride
      {5, 4, 9, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 4},     // depthwise, channel multiplier 2
      {5, 4, 10, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, 4},    // depthwise stride 2
      {5, 3, 11, 10, 4, 3, 3, 1, 1, 2, 2, 2, 2, 1},   // dilation 2 ("same" again)
      {5, 3, 11, 10, 4, 3, 2, 1, 2, 0, 1, 2, 1, 1},   // dilation, rectangular kernel, mixed
      {5, 3, 5, 5, 4, 3, 3, 1, 1, 3, 3, 1, 1, 1},     // padding 3 > kernel reach
      {5, 2, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},     // 1×1 map, 3×3 kernel
      {32, 8, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // 7×7 maps: several samples per block
      {9, 8, 4, 4, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},     // 4×4 maps: uneven sample blocks
      {7, 16, 14, 14, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1}, // 3×3 stride 2, blocked
      {7, 16, 7, 7, 24, 1, 1, 2, 2, 0, 0, 1, 1, 1},   // 1×1 stride 2 on a small map, blocked
      // f32 Winograd F(2×2, 3×3) (3×3 stride 1, ≥ 16 channels; f64 stays im2col): odd/even and
      // non-square maps, padding 0/1/2 (and mixed), batch 1, many samples per block, C ≠ O.
      {5, 16, 9, 7, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1},
      {1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},
      {5, 24, 10, 9, 16, 3, 3, 1, 1, 0, 0, 1, 1, 1},
      {3, 16, 6, 7, 16, 3, 3, 1, 1, 2, 2, 1, 1, 1},
      {3, 16, 7, 6, 20, 3, 3, 1, 1, 0, 2, 1, 1, 1},
      {33, 16, 7, 7, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},
      {4, 16, 1, 1, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},
      {3, 16, 13, 5, 16, 3, 3, 1, 1, 3, 1, 1, 1, 1},  // padding 3: not Winograd (im2col)
  };
  return all;
}

class ConvPaths : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { saved_ = num_threads(); set_num_threads(GetParam()); }
  void TearDown() override { set_num_threads(saved_); }
  int saved_ = 1;
};

TEST_P(ConvPaths, F64MatchesNaiveReference) {
  for (const Case& k : cases()) check(k, DType::F64, 1e-12);
}

TEST_P(ConvPaths, F32MatchesNaiveReference) {
  for (const Case& k : cases()) check(k, DType::F32, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Threads, ConvPaths, ::testing::Values(1, 2));

}  // namespace
}  // namespace mm
