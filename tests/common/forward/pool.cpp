// Forward cases of max_pool2d (values and argmax indices), avg_pool2d and adaptive_avg_pool2d
// against direct double-precision references.
#include <cmath>
#include <limits>

#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

struct PoolSpec {
  std::string name;
  Shape x;
  std::array<int64_t, 2> k, s, p, d;
  bool ceil_mode = false;
  bool count_include_pad = true;
};

// PyTorch's output-size rule, written out: floor or ceil of (in + 2p − d(k−1) − 1)/s + 1, and with
// ceil_mode the last window must start inside the input or its left padding.
int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  double q = static_cast<double>(in + 2 * p - d * (k - 1) - 1) / static_cast<double>(s);
  int64_t o = static_cast<int64_t>(ceil_mode ? std::ceil(q) : std::floor(q)) + 1;
  if (ceil_mode && (o - 1) * s >= in + p) --o;
  return o;
}

struct Planes {
  int64_t planes, H, W;
  Shape out_prefix;
};
Planes planes_of(const Shape& x) {
  size_t lead = x.size() - 3;
  Shape prefix(x.begin(), x.end() - 2);
  return {(lead ? x[0] : 1) * x[lead], x[lead + 1], x[lead + 2], prefix};
}

std::vector<Ref> max_ref(PoolSpec sp, const HostTensor& x) {
  if (sp.s[0] == 0 && sp.s[1] == 0) sp.s = sp.k;  // the default stride is the kernel size
  Planes pl = planes_of(x.shape);
  int64_t OH = out_size(pl.H, sp.k[0], sp.s[0], sp.p[0], sp.d[0], sp.ceil_mode);
  int64_t OW = out_size(pl.W, sp.k[1], sp.s[1], sp.p[1], sp.d[1], sp.ceil_mode);
  Shape os = pl.out_prefix;
  os.push_back(OH);
  os.push_back(OW);
  Ref vals{os, {}}, idx{os, {}};
  for (int64_t q = 0; q < pl.planes; ++q)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double best = -std::numeric_limits<double>::infinity();
        int64_t arg = -1;
        for (int64_t i = 0; i < sp.k[0]; ++i)
          for (int64_t j = 0; j < sp.k[1]; ++j) {
            int64_t ih = oh * sp.s[0] - sp.p[0] + i * sp.d[0], iw = ow * sp.s[1] - sp.p[1] + j * sp.d[1];
            if (ih < 0 || ih >= pl.H || iw < 0 || iw >= pl.W) continue;
            double v = x.v[(q * pl.H + ih) * pl.W + iw];
            if (arg < 0 || v > best) best = v, arg = ih * pl.W + iw;
          }
        vals.values.push_back(best);
        idx.values.push_back(static_cast<double>(arg));
      }
  return {vals, idx};
}

std::vector<Ref> avg_ref(const PoolSpec& sp, const HostTensor& x) {
  Planes pl = planes_of(x.shape);
  int64_t OH = out_size(pl.H, sp.k[0], sp.s[0], sp.p[0], 1, sp.ceil_mode);
  int64_t OW = out_size(pl.W, sp.k[1], sp.s[1], sp.p[1], 1, sp.ceil_mode);
  Shape os = pl.out_prefix;
  os.push_back(OH);
  os.push_back(OW);
  Ref r{os, {}};
  for (int64_t q = 0; q < pl.planes; ++q)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double sum = 0;
        int64_t in_padded = 0, real = 0;
        for (int64_t i = 0; i < sp.k[0]; ++i)
          for (int64_t j = 0; j < sp.k[1]; ++j) {
            int64_t ih = oh * sp.s[0] - sp.p[0] + i, iw = ow * sp.s[1] - sp.p[1] + j;
            // Positions past the right/bottom padding (ceil_mode overhang) are not counted at all.
            if (ih >= pl.H + sp.p[0] || iw >= pl.W + sp.p[1]) continue;
            ++in_padded;
            if (ih < 0 || ih >= pl.H || iw < 0 || iw >= pl.W) continue;
            ++real;
            sum += x.v[(q * pl.H + ih) * pl.W + iw];
          }
        r.values.push_back(sum / static_cast<double>(sp.count_include_pad ? in_padded : real));
      }
  return {r};
}

std::vector<Ref> adaptive_ref(std::array<int64_t, 2> out, const HostTensor& x) {
  Planes pl = planes_of(x.shape);
  Shape os = pl.out_prefix;
  os.push_back(out[0]);
  os.push_back(out[1]);
  Ref r{os, {}};
  auto bin = [](int64_t o, int64_t in, int64_t n) {
    return std::pair<int64_t, int64_t>{static_cast<int64_t>(std::floor(double(o) * in / n)),
                                       static_cast<int64_t>(std::ceil(double(o + 1) * in / n))};
  };
  for (int64_t q = 0; q < pl.planes; ++q)
    for (int64_t oh = 0; oh < out[0]; ++oh)
      for (int64_t ow = 0; ow < out[1]; ++ow) {
        auto [h0, h1] = bin(oh, pl.H, out[0]);
        auto [w0, w1] = bin(ow, pl.W, out[1]);
        double sum = 0;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) sum += x.v[(q * pl.H + ih) * pl.W + iw];
        r.values.push_back(sum / static_cast<double>((h1 - h0) * (w1 - w0)));
      }
  return {r};
}

void max_case(const PoolSpec& sp, uint64_t seed) {
  register_forward_case({"max_pool2d", sp.name, [sp, seed] { return TensorList{randn(sp.x, seed)}; },
                         [sp](const TensorList& in) {
                           auto [v, i] = max_pool2d_with_indices(in[0], sp.k, sp.s, sp.p, sp.d, sp.ceil_mode);
                           return TensorList{v, i};
                         },
                         [sp](const std::vector<HostTensor>& h) { return max_ref(sp, h[0]); }});
}

void avg_case(const PoolSpec& sp, uint64_t seed) {
  register_forward_case({"avg_pool2d", sp.name, [sp, seed] { return TensorList{randn(sp.x, seed)}; },
                         [sp](const TensorList& in) {
                           return TensorList{avg_pool2d(in[0], sp.k, sp.s, sp.p, sp.ceil_mode, sp.count_include_pad)};
                         },
                         [sp](const std::vector<HostTensor>& h) { return avg_ref(sp, h[0]); }});
}

void adaptive_case(const std::string& name, const Shape& x, std::array<int64_t, 2> out, uint64_t seed) {
  register_forward_case({"adaptive_avg_pool2d", name, [x, seed] { return TensorList{randn(x, seed)}; },
                         [out](const TensorList& in) { return TensorList{adaptive_avg_pool2d(in[0], out)}; },
                         [out](const std::vector<HostTensor>& h) { return adaptive_ref(out, h[0]); }});
}

const bool registered = [] {
  max_case({"2x2 stride 2", {2, 3, 6, 8}, {2, 2}, {2, 2}, {0, 0}, {1, 1}}, 2001);
  max_case({"3x3 stride 2 padding 1 (ResNet stem)", {2, 2, 9, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1}}, 2002);
  max_case({"dilation (2,1), ceil_mode", {1, 3, 8, 7}, {3, 2}, {2, 2}, {1, 0}, {2, 1}, true}, 2003);
  max_case({"unbatched, default stride", {3, 6, 6}, {3, 3}, {0, 0}, {0, 0}, {1, 1}}, 2004);

  avg_case({"2x2 stride 2", {2, 3, 6, 8}, {2, 2}, {2, 2}, {0, 0}, {1, 1}}, 2011);
  avg_case({"3x3 stride 2 padding 1, count_include_pad", {2, 2, 7, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1}}, 2012);
  avg_case({"3x3 stride 2 padding 1, exclude padding", {2, 2, 7, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, false}, 2013);
  avg_case({"ceil_mode overhang, count_include_pad", {1, 2, 6, 5}, {3, 2}, {2, 2}, {1, 1}, {1, 1}, true, true}, 2014);
  avg_case({"unbatched, ceil_mode, exclude padding", {2, 5, 7}, {2, 3}, {2, 2}, {1, 1}, {1, 1}, true, false}, 2015);

  adaptive_case("global (1,1)", {2, 3, 5, 4}, {1, 1}, 2021);
  adaptive_case("7x9 -> (3,4): overlapping bins", {2, 2, 7, 9}, {3, 4}, 2022);
  adaptive_case("unbatched 3x3 -> (5,2)", {2, 3, 3}, {5, 2}, 2023);
  adaptive_case("identity size", {1, 2, 4, 4}, {4, 4}, 2024);
  return true;
}();

}  // namespace
}  // namespace mm::testing
