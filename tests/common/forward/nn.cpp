// Forward cases of dropout, scaled_dot_product_attention and lstm. The attention and LSTM references
// are straightforward loops in double over row-major host values.
#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/grad/nn.h"
#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// ---- dropout ----
// The mask is random, so the random case checks a property that holds for any mask: each element is
// either dropped (0) or x / (1 − p) exactly (both sides computed as x · fl(1/(1−p)) in the dtype).
void dropout_cases() {
  register_forward_case({"dropout", "eval mode is the identity", [] { return TensorList{randn({3, 4}, 601)}; },
                         [](const TensorList& in) { return TensorList{dropout(in[0], 0.5, false)}; },
                         [](const std::vector<HostTensor>& h) { return std::vector<Ref>{{h[0].shape, h[0].v}}; }});
  register_forward_case({"dropout", "p = 0 is the identity", [] { return TensorList{randn({3, 4}, 602)}; },
                         [](const TensorList& in) { return TensorList{dropout(in[0], 0.0, true)}; },
                         [](const std::vector<HostTensor>& h) { return std::vector<Ref>{{h[0].shape, h[0].v}}; }});
  register_forward_case({"dropout", "p = 1 gives zeros", [] { return TensorList{randn({3, 4}, 603)}; },
                         [](const TensorList& in) { return TensorList{dropout(in[0], 1.0, true)}; },
                         [](const std::vector<HostTensor>& h) {
                           return std::vector<Ref>{{h[0].shape, std::vector<double>(h[0].v.size(), 0.0)}};
                         }});
  register_forward_case({"dropout", "p = 0.3: every element is 0 or x/(1-p)", [] { return TensorList{randn({6, 7}, 604)}; },
                         [](const TensorList& in) {
                           manual_seed(11);
                           Tensor y = dropout(in[0], 0.3, true);
                           return TensorList{logical_or(eq(y, 0.0), eq(y, mul(in[0], 1.0 / 0.7)))};
                         },
                         [](const std::vector<HostTensor>& h) {
                           return std::vector<Ref>{{h[0].shape, std::vector<double>(h[0].v.size(), 1.0)}};
                         }});
}

// ---- attention ----
// q [Bq.., L, E] etc. given as flat batches: every input has the same batch count nb (or the mask
// broadcasts: mask index given by mask_at).
struct AttnSpec {
  int64_t nb, L, S, E, Ev;
  bool causal = false;
  double scale = -1;  // < 0: 1/sqrt(E)
  int mask = 0;       // 0 none, 1 bool [L,S] (broadcast over the batch), 2 float [nb,L,S]
};

Ref attention_ref(const AttnSpec& a, const std::vector<HostTensor>& h) {
  const double scale = a.scale < 0 ? 1.0 / std::sqrt(static_cast<double>(a.E)) : a.scale;
  Ref r{{a.nb, a.L, a.Ev}, {}};
  for (int64_t b = 0; b < a.nb; ++b)
    for (int64_t i = 0; i < a.L; ++i) {
      std::vector<double> s(a.S);
      std::vector<bool> ok(a.S, true);
      for (int64_t j = 0; j < a.S; ++j) {
        double dot = 0;
        for (int64_t e = 0; e < a.E; ++e) dot += h[0].v[(b * a.L + i) * a.E + e] * h[1].v[(b * a.S + j) * a.E + e];
        s[j] = dot * scale;
        if (a.mask == 1) ok[j] = h[3].v[i * a.S + j] != 0;
        if (a.mask == 2) s[j] += h[3].v[(b * a.L + i) * a.S + j];
        if (a.causal && j > i) ok[j] = false;
      }
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < a.S; ++j)
        if (ok[j]) m = std::max(m, s[j]);
      std::vector<double> w(a.S, 0.0);
      double z = 0;
      for (int64_t j = 0; j < a.S; ++j)
        if (ok[j]) z += (w[j] = std::exp(s[j] - m));
      for (int64_t c = 0; c < a.Ev; ++c) {
        double o = 0;  // a row with no key left stays 0
        for (int64_t j = 0; j < a.S; ++j)
          if (ok[j]) o += w[j] / z * h[2].v[(b * a.S + j) * a.Ev + c];
        r.values.push_back(o);
      }
    }
  return r;
}

void attention_case(const std::string& name, AttnSpec a, std::vector<bool> bool_mask = {}) {
  register_forward_case({"scaled_dot_product_attention", name,
                         [=] {
                           TensorList in{randn({a.nb, a.L, a.E}, 611), randn({a.nb, a.S, a.E}, 612), randn({a.nb, a.S, a.Ev}, 613)};
                           if (a.mask == 1) in.push_back(bool_tensor(bool_mask, {a.L, a.S}));
                           if (a.mask == 2) in.push_back(randn({a.nb, a.L, a.S}, 614));
                           return in;
                         },
                         [=](const TensorList& in) {
                           Tensor mask = in.size() > 3 ? in[3] : Tensor();
                           std::optional<double> scale;
                           if (a.scale >= 0) scale = a.scale;
                           return TensorList{scaled_dot_product_attention(in[0], in[1], in[2], mask, 0.0, a.causal, scale)};
                         },
                         [=](const std::vector<HostTensor>& h) { return std::vector<Ref>{attention_ref(a, h)}; }});
}

// ---- LSTM ----
struct LstmSpec {
  int64_t T, B, I, H;
  bool bias = true;
  bool reverse = false;
  std::vector<int64_t> lengths;  // empty: all T
};

std::vector<Ref> lstm_ref(const LstmSpec& s, const std::vector<HostTensor>& h) {
  const HostTensor &x = h[0], &h0 = h[1], &c0 = h[2], &wih = h[3], &whh = h[4];
  std::vector<double> hs(h0.v), cs(c0.v);
  Ref out{{s.T, s.B, s.H}, std::vector<double>(s.T * s.B * s.H, 0.0)};
  for (int64_t step = 0; step < s.T; ++step) {
    int64_t t = s.reverse ? s.T - 1 - step : step;
    for (int64_t b = 0; b < s.B; ++b) {
      if (!s.lengths.empty() && t >= s.lengths[b]) continue;  // finished: state kept, output 0
      std::vector<double> gate(4 * s.H);
      for (int64_t r = 0; r < 4 * s.H; ++r) {
        double v = s.bias ? h[5].v[r] + h[6].v[r] : 0.0;
        for (int64_t k = 0; k < s.I; ++k) v += wih.v[r * s.I + k] * x.v[(t * s.B + b) * s.I + k];
        for (int64_t k = 0; k < s.H; ++k) v += whh.v[r * s.H + k] * hs[b * s.H + k];
        gate[r] = v;
      }
      for (int64_t u = 0; u < s.H; ++u) {
        double i = sigmoid_ref(gate[u]), f = sigmoid_ref(gate[s.H + u]);
        double g = std::tanh(gate[2 * s.H + u]), o = sigmoid_ref(gate[3 * s.H + u]);
        double c = f * cs[b * s.H + u] + i * g;
        cs[b * s.H + u] = c;
        out.values[(t * s.B + b) * s.H + u] = o * std::tanh(c);
      }
      for (int64_t u = 0; u < s.H; ++u) hs[b * s.H + u] = out.values[(t * s.B + b) * s.H + u];
    }
  }
  return {out, {{s.B, s.H}, hs}, {{s.B, s.H}, cs}};
}

void lstm_case(const std::string& name, LstmSpec s) {
  ForwardCase c{"lstm", name,
                [=] {
                  TensorList in{randn({s.T, s.B, s.I}, 621), randn({s.B, s.H}, 622, 0.5), randn({s.B, s.H}, 623, 0.5),
                                randn({4 * s.H, s.I}, 624, 0.5), randn({4 * s.H, s.H}, 625, 0.5)};
                  if (s.bias) {
                    in.push_back(randn({4 * s.H}, 626, 0.3));
                    in.push_back(randn({4 * s.H}, 627, 0.3));
                  }
                  if (!s.lengths.empty()) in.push_back(int_tensor(s.lengths, {s.B}));
                  return in;
                },
                [=](const TensorList& in) {
                  Tensor bi = s.bias ? in[5] : Tensor(), bh = s.bias ? in[6] : Tensor();
                  Tensor len = s.lengths.empty() ? Tensor() : in.back();
                  auto [out, hn, cn] = lstm(in[0], in[1], in[2], in[3], in[4], bi, bh, len, s.reverse);
                  return TensorList{out, hn, cn};
                },
                [=](const std::vector<HostTensor>& h) { return lstm_ref(s, h); }};
  c.rtol_f32 = 1e-4;  // a recurrence of T steps compounds f32 rounding
  c.atol_f32 = 1e-5;
  register_forward_case(c);
}

const bool registered = [] {
  dropout_cases();

  attention_case("no mask [2,3,4] [2,5,4] [2,5,3]", {2, 3, 5, 4, 3});
  attention_case("scale 0.7", {1, 3, 4, 2, 2, false, 0.7});
  attention_case("bool mask [3,5] broadcast, one fully masked row (gives 0)", {2, 3, 5, 4, 3, false, -1, 1},
                 {true, false, true, true, false, false, false, false, false, false, true, true, true, true, true});
  attention_case("float additive mask [2,3,5]", {2, 3, 5, 4, 2, false, -1, 2});
  attention_case("causal L = S = 4", {2, 4, 4, 3, 2, true});
  attention_case("causal L=3 < S=5 (top-left aligned)", {1, 3, 5, 2, 2, true});
  attention_case("causal + bool mask [4,4]", {1, 4, 4, 3, 2, true, -1, 1},
                 {true, true, true, true, false, true, true, true, true, false, true, true, true, true, false, true});

  lstm_case("T=3 B=2 I=3 H=4 with biases", {3, 2, 3, 4, true, false, {}});
  lstm_case("no biases, reverse", {3, 2, 2, 3, false, true, {}});
  lstm_case("lengths {4,2,0}", {4, 3, 2, 3, true, false, {4, 2, 0}});
  lstm_case("lengths {1,3,4} reverse", {4, 3, 2, 3, true, true, {1, 3, 4}});
  return true;
}();

}  // namespace
}  // namespace mm::testing
