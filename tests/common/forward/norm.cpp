// Forward cases of layer_norm and batch_norm against plain double loops (two-pass mean/variance).
#include <cmath>

#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

// layer_norm reference: rows of D = numel(normalized_shape) elements; w/b may be null.
Ref layer_norm_ref(const HostTensor& x, int64_t D, const HostTensor* w, const HostTensor* b, double eps) {
  Ref r{x.shape, std::vector<double>(x.v.size())};
  const int64_t rows = x.numel() / D;
  for (int64_t i = 0; i < rows; ++i) {
    double mu = 0, var = 0;
    for (int64_t j = 0; j < D; ++j) mu += x.v[i * D + j];
    mu /= D;
    for (int64_t j = 0; j < D; ++j) var += (x.v[i * D + j] - mu) * (x.v[i * D + j] - mu);
    var /= D;
    for (int64_t j = 0; j < D; ++j) {
      double y = (x.v[i * D + j] - mu) / std::sqrt(var + eps);
      r.values[i * D + j] = y * (w ? w->v[j] : 1.0) + (b ? b->v[j] : 0.0);
    }
  }
  return r;
}

struct BatchNormRef {
  Ref y, running_mean, running_var;
};
// batch_norm reference over x [N, C, S...]; in training the running stats are updated with the
// unbiased variance, in eval they are used.
BatchNormRef batch_norm_ref(const HostTensor& x, const HostTensor* rm, const HostTensor* rv, const HostTensor* w,
                            const HostTensor* b, bool training, double momentum, double eps) {
  const int64_t N = x.shape[0], C = x.shape[1], S = x.numel() / (N * C);
  BatchNormRef r{{x.shape, std::vector<double>(x.v.size())}, {{C}, {}}, {{C}, {}}};
  for (int64_t c = 0; c < C; ++c) {
    double mu = 0, var = 0;
    if (training) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) mu += x.v[(n * C + c) * S + s];
      mu /= N * S;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) var += std::pow(x.v[(n * C + c) * S + s] - mu, 2);
      var /= N * S;
      if (rm) {
        r.running_mean.values.push_back((1 - momentum) * rm->v[c] + momentum * mu);
        r.running_var.values.push_back((1 - momentum) * rv->v[c] + momentum * var * (N * S) / (N * S - 1));
      }
    } else {
      mu = rm->v[c];
      var = rv->v[c];
    }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        int64_t i = (n * C + c) * S + s;
        r.y.values[i] = (x.v[i] - mu) / std::sqrt(var + eps) * (w ? w->v[c] : 1.0) + (b ? b->v[c] : 0.0);
      }
  }
  return r;
}

const bool registered = [] {
  ForwardCase ln{"layer_norm", "[4,6] over [6], weight and bias",
                 [] { return TensorList{randn({4, 6}, 901, 2.0), uniform({6}, 902, 0.5, 1.5), randn({6}, 903)}; },
                 [](const TensorList& in) { return TensorList{layer_norm(in[0], {6}, in[1], in[2])}; },
                 [](const std::vector<HostTensor>& h) {
                   return std::vector<Ref>{layer_norm_ref(h[0], 6, &h[1], &h[2], 1e-5)};
                 }};
  ln.atol_f32 = 1e-5;
  register_forward_case(ln);
  ln.name = "[2,3,4] over [3,4], eps 0.1";
  ln.make_inputs = [] { return TensorList{randn({2, 3, 4}, 904), randn({3, 4}, 905), randn({3, 4}, 906)}; };
  ln.run = [](const TensorList& in) { return TensorList{layer_norm(in[0], {3, 4}, in[1], in[2], 0.1)}; };
  ln.reference = [](const std::vector<HostTensor>& h) {
    return std::vector<Ref>{layer_norm_ref(h[0], 12, &h[1], &h[2], 0.1)};
  };
  register_forward_case(ln);
  ln.name = "[3,100] shifted by 1000, no weight or bias (two-pass variance)";
  ln.make_inputs = [] { return TensorList{uniform({3, 100}, 907, 999.0, 1001.0)}; };
  ln.run = [](const TensorList& in) { return TensorList{layer_norm(in[0], {100})}; };
  ln.reference = [](const std::vector<HostTensor>& h) {
    return std::vector<Ref>{layer_norm_ref(h[0], 100, nullptr, nullptr, 1e-5)};
  };
  ln.rtol_f32 = 1e-4;
  ln.atol_f32 = 1e-3;  // the f32 inputs themselves are rounded at 6e-5 near 1000 (unit values after scaling by ~1.7)
  register_forward_case(ln);

  // batch_norm in training: y and the updated running statistics (updated in a clone, so the
  // harness's inputs stay untouched between runs).
  ForwardCase bn{"batch_norm", "training [4,3,5], affine, running stats updated (unbiased var)",
                 [] {
                   return TensorList{randn({4, 3, 5}, 911, 1.5), randn({3}, 912), uniform({3}, 913, 0.5, 2.0),
                                     uniform({3}, 914, 0.5, 1.5), randn({3}, 915)};
                 },
                 [](const TensorList& in) {
                   Tensor rm = clone(in[1]), rv = clone(in[2]);
                   Tensor y = batch_norm(in[0], rm, rv, in[3], in[4], true, 0.2, 1e-5);
                   return TensorList{y, rm, rv};
                 },
                 [](const std::vector<HostTensor>& h) {
                   BatchNormRef r = batch_norm_ref(h[0], &h[1], &h[2], &h[3], &h[4], true, 0.2, 1e-5);
                   return std::vector<Ref>{r.y, r.running_mean, r.running_var};
                 }};
  bn.atol_f32 = 1e-5;
  register_forward_case(bn);
  bn.name = "eval [3,2,2,2] 4-D, affine";
  bn.make_inputs = [] {
    return TensorList{randn({3, 2, 2, 2}, 921), randn({2}, 922), uniform({2}, 923, 0.5, 2.0), randn({2}, 924),
                      randn({2}, 925)};
  };
  bn.run = [](const TensorList& in) { return TensorList{batch_norm(in[0], in[1], in[2], in[3], in[4], false)}; };
  bn.reference = [](const std::vector<HostTensor>& h) {
    return std::vector<Ref>{batch_norm_ref(h[0], &h[1], &h[2], &h[3], &h[4], false, 0.1, 1e-5).y};
  };
  register_forward_case(bn);
  bn.name = "training [6,4] 2-D, no affine, no running stats";
  bn.make_inputs = [] { return TensorList{randn({6, 4}, 931)}; };
  bn.run = [](const TensorList& in) { return TensorList{batch_norm(in[0], Tensor(), Tensor())}; };
  bn.reference = [](const std::vector<HostTensor>& h) {
    return std::vector<Ref>{batch_norm_ref(h[0], nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5).y};
  };
  register_forward_case(bn);
  return true;
}();

}  // namespace
}  // namespace mm::testing
