// Forward cases of softmax and log_softmax: a naive double reference over each slice along dim.
#include <cmath>
#include <limits>

#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

const double kInf = std::numeric_limits<double>::infinity();

Ref softmax_ref(const HostTensor& h, int64_t dim, bool log) {
  const int64_t nd = static_cast<int64_t>(h.shape.size());
  if (nd == 0) return Ref{{}, {log ? 0.0 : 1.0}};
  if (dim < 0) dim += nd;
  int64_t outer = 1, n = h.shape[dim], inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= h.shape[d];
  for (int64_t d = dim + 1; d < nd; ++d) inner *= h.shape[d];
  Ref r{h.shape, std::vector<double>(h.v.size())};
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < inner; ++c) {
      auto at = [&](int64_t i) { return (o * n + i) * inner + c; };
      double m = -kInf, s = 0;
      for (int64_t i = 0; i < n; ++i) m = std::max(m, h.v[at(i)]);
      for (int64_t i = 0; i < n; ++i) s += std::exp(h.v[at(i)] - m);
      for (int64_t i = 0; i < n; ++i) {
        double z = h.v[at(i)] - m;
        r.values[at(i)] = log ? z - std::log(s) : std::exp(z) / s;
      }
    }
  return r;
}

Tensor eighths(const Tensor& t) {
  std::vector<double> v = t.to_double_vector();
  for (double& x : v) x = std::round(x * 8) / 8;
  return Tensor::from_vector<double>(v, t.shape());
}

void add(bool log, const std::string& name, std::function<Tensor()> input, int64_t dim) {
  register_forward_case({log ? "log_softmax" : "softmax", name, [input] { return TensorList{input()}; },
                         [=](const TensorList& in) { return TensorList{log ? log_softmax(in[0], dim) : softmax(in[0], dim)}; },
                         [=](const std::vector<HostTensor>& h) { return std::vector<Ref>{softmax_ref(h[0], dim, log)}; }});
}

const bool registered = [] {
  for (bool log : {false, true}) {
    add(log, "[4,7] dim -1", [] { return randn({4, 7}, 801, 2.0); }, -1);
    add(log, "[3,4,5] dim 1", [] { return randn({3, 4, 5}, 802, 2.0); }, 1);
    add(log, "[3,4,5] dim 0", [] { return randn({3, 4, 5}, 803, 2.0); }, 0);
    // Long rows: vector body plus a remainder; 150 columns = 3 column blocks when dim is 0.
    add(log, "[5,301] dim 1", [] { return randn({5, 301}, 804, 3.0); }, 1);
    add(log, "[6,150] dim 0", [] { return randn({6, 150}, 805, 3.0); }, 0);
    // Long slices along dim 0: narrower column blocks (16 + 4 columns).
    add(log, "[1100,20] dim 0", [] { return randn({1100, 20}, 807, 3.0); }, 0);
    // Large logits: subtracting the max keeps exp from overflowing. Multiples of 1/8, so the f32
    // inputs are exact and x − max loses nothing.
    add(log, "large values", [] { return eighths(uniform({3, 6}, 806, 500, 530)); }, -1);
    add(log, "0-d", [] { return Tensor::from_vector<double>({1.5}, {}); }, 0);
  }
  // -inf entries get probability 0 (log_softmax would give -inf there: see tests/ops/test_softmax_semantics.cpp).
  add(false, "some -inf entries", [] { return Tensor::from_vector<double>({-kInf, 1.0, 2.0, 0.5, -kInf, -1.0}, {2, 3}); }, 1);
  return true;
}();

}  // namespace
}  // namespace mm::testing
