// Forward cases of conv2d against a direct six-loop double-precision reference.
#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

struct ConvSpec {
  std::string name;
  Shape x, w;
  bool bias;
  std::array<int64_t, 2> stride, padding, dilation;
  int64_t groups;
};

// out[n,o,oh,ow] = b[o] + Σ_{c in group(o), kh, kw} x[n, c, oh·s − p + kh·d, ow·s − p + kw·d] · w[o, c − c0, kh, kw]
Ref conv_reference(const ConvSpec& s, const std::vector<HostTensor>& h) {
  const HostTensor& x = h[0];
  const HostTensor& w = h[1];
  bool batched = x.shape.size() == 4;
  int64_t N = batched ? x.shape[0] : 1, C = x.shape[batched], H = x.shape[batched + 1], W = x.shape[batched + 2];
  int64_t O = w.shape[0], Cg = w.shape[1], kH = w.shape[2], kW = w.shape[3];
  int64_t OH = (H + 2 * s.padding[0] - s.dilation[0] * (kH - 1) - 1) / s.stride[0] + 1;
  int64_t OW = (W + 2 * s.padding[1] - s.dilation[1] * (kW - 1) - 1) / s.stride[1] + 1;
  int64_t Og = O / s.groups;
  Ref r{batched ? Shape{N, O, OH, OW} : Shape{O, OH, OW}, {}};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = s.bias ? h[2].v[o] : 0.0;
          int64_t c0 = (o / Og) * Cg;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < kH; ++kh)
              for (int64_t kw = 0; kw < kW; ++kw) {
                int64_t ih = oh * s.stride[0] - s.padding[0] + kh * s.dilation[0];
                int64_t iw = ow * s.stride[1] - s.padding[1] + kw * s.dilation[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += x.v[((n * C + c0 + c) * H + ih) * W + iw] * w.v[((o * Cg + c) * kH + kh) * kW + kw];
              }
          r.values.push_back(acc);
        }
  (void)C;
  return r;
}

void conv_case(const ConvSpec& s, uint64_t seed) {
  ForwardCase c{"conv2d", s.name,
                [s, seed] {
                  TensorList in{randn(s.x, seed), randn(s.w, seed + 1, 0.5)};
                  if (s.bias) in.push_back(randn({s.w[0]}, seed + 2));
                  return in;
                },
                [s](const TensorList& in) {
                  return TensorList{conv2d(in[0], in[1], s.bias ? in[2] : Tensor(), s.stride, s.padding, s.dilation, s.groups)};
                },
                [s](const std::vector<HostTensor>& h) { return std::vector<Ref>{conv_reference(s, h)}; }};
  // f32 sums of up to a few hundred products of f32-rounded inputs vs an exact double reference.
  c.rtol_f32 = 1e-4;
  c.atol_f32 = 1e-5;
  register_forward_case(c);
}

const bool registered = [] {
  conv_case({"3x3 padding 1, bias", {2, 3, 6, 7}, {5, 3, 3, 3}, true, {1, 1}, {1, 1}, {1, 1}, 1}, 1001);
  conv_case({"stride 2, padding (2,1), dilation (1,2), no bias", {3, 4, 9, 8}, {6, 4, 3, 3}, false, {2, 2}, {2, 1}, {1, 2}, 1},
            1011);
  conv_case({"groups=2, stride (1,2)", {2, 4, 7, 6}, {6, 2, 3, 2}, true, {1, 2}, {1, 0}, {1, 1}, 2}, 1021);
  conv_case({"depthwise, stride 2", {2, 5, 9, 9}, {5, 1, 3, 3}, true, {2, 2}, {1, 1}, {1, 1}, 5}, 1031);
  conv_case({"depthwise, multiplier 3, dilation 2", {2, 2, 8, 9}, {6, 1, 3, 3}, false, {1, 1}, {2, 2}, {2, 2}, 2}, 1041);
  conv_case({"1x1 stride 1", {3, 6, 5, 4}, {7, 6, 1, 1}, true, {1, 1}, {0, 0}, {1, 1}, 1}, 1051);
  conv_case({"1x1 stride 2 (ResNet downsample)", {2, 4, 7, 7}, {8, 4, 1, 1}, false, {2, 2}, {0, 0}, {1, 1}, 1}, 1061);
  conv_case({"same size: 3x5 kernel, dilation (2,2), padding (2,4)", {2, 3, 7, 9}, {4, 3, 3, 5}, false, {1, 1}, {2, 4},
             {2, 2}, 1},
            1111);
  conv_case({"same size 3x3 on a 7x7 map, batch 9 (ResNet layer 4 shape)", {9, 8, 7, 7}, {6, 8, 3, 3}, true, {1, 1}, {1, 1},
             {1, 1}, 1},
            1121);
  conv_case({"unbatched [C,H,W]", {3, 7, 6}, {4, 3, 3, 3}, true, {1, 1}, {1, 1}, {1, 1}, 1}, 1071);
  conv_case({"7x7 stride 2 padding 3 (ResNet stem)", {2, 3, 20, 18}, {8, 3, 7, 7}, false, {2, 2}, {3, 3}, {1, 1}, 1}, 1081);
  conv_case({"large map, batch 5 (one sample per GEMM, odd thread split)", {5, 3, 30, 30}, {4, 3, 3, 3}, true, {1, 1}, {1, 1},
             {1, 1}, 1},
            1091);
  conv_case({"kernel covers the padded input exactly", {1, 2, 2, 3}, {3, 2, 4, 5}, true, {1, 1}, {1, 1}, {1, 1}, 1}, 1101);
  // Tiny maps in the "same size" fast path: the kernel's shift exceeds the whole plane (a ResNet's
  // last stage on a 32-pixel image is 1×1).
  conv_case({"same size 3x3 on a 1x1 map", {3, 4, 1, 1}, {5, 4, 3, 3}, true, {1, 1}, {1, 1}, {1, 1}, 1}, 1131);
  conv_case({"same size 5x5 on a 2x2 map", {2, 3, 2, 2}, {2, 3, 5, 5}, false, {1, 1}, {2, 2}, {1, 1}, 1}, 1141);
  conv_case({"same size 3x3 on a 1x3 map", {2, 2, 1, 3}, {3, 2, 3, 3}, true, {1, 1}, {1, 1}, {1, 1}, 1}, 1151);
  return true;
}();

}  // namespace
}  // namespace mm::testing
