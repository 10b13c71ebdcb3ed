// Forward cases of the optimizer updates: adamw_step against torch.optim.AdamW's update written out
// in double. The op updates its arguments in place, so run() works on fresh copies and returns the
// three updated tensors (param, exp_avg, exp_avg_sq).
#include <cmath>

#include "ops/copy.h"
#include "ops/optim.h"
#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

Tensor fresh_copy(const Tensor& t) {
  Tensor c = Tensor::empty(t.shape(), t.dtype(), t.device());
  ops::copy_(c, t);
  return c;
}

std::vector<Ref> adamw_ref(const std::vector<HostTensor>& h, const AdamWHyper& hp) {
  Ref p{h[0].shape, {}}, m{h[0].shape, {}}, v{h[0].shape, {}};
  double t = static_cast<double>(hp.step);
  for (int64_t i = 0; i < h[0].numel(); ++i) {
    double pi = h[0].v[i] * (1 - hp.lr * hp.weight_decay), g = h[1].v[i];
    double mi = hp.beta1 * h[2].v[i] + (1 - hp.beta1) * g;
    double vi = hp.beta2 * h[3].v[i] + (1 - hp.beta2) * g * g;
    double denom = std::sqrt(vi) / std::sqrt(1 - std::pow(hp.beta2, t)) + hp.eps;
    pi -= hp.lr / (1 - std::pow(hp.beta1, t)) * mi / denom;
    p.values.push_back(pi);
    m.values.push_back(mi);
    v.values.push_back(vi);
  }
  return {p, m, v};
}

void adamw_case(const std::string& name, const Shape& shape, AdamWHyper hp, uint64_t seed) {
  ForwardCase c{"adamw_step", name,
                [=] {
                  return TensorList{randn(shape, seed), randn(shape, seed + 1, 0.1), randn(shape, seed + 2, 0.05),
                                    uniform(shape, seed + 3, 0.0, 0.02)};
                },
                [=](const TensorList& in) {
                  Tensor p = fresh_copy(in[0]), m = fresh_copy(in[2]), v = fresh_copy(in[3]);
                  ops::adamw_step(p, in[1], m, v, hp);
                  return TensorList{p, m, v};
                },
                [=](const std::vector<HostTensor>& h) { return adamw_ref(h, hp); }};
  // The op requires contiguous tensors (optimizer state is allocated contiguous; strided arguments
  // are rejected with an error, tested in tests/ops/test_optim.cpp), so no strided variant.
  c.strided = false;
  register_forward_case(std::move(c));
}

const bool registered = [] {
  adamw_case("first step, defaults", {7, 5}, AdamWHyper{}, 9101);
  adamw_case("step 10, lr 1e-2, weight decay 0.1, betas (0.8, 0.95)", {3000},
             AdamWHyper{1e-2, 0.8, 0.95, 1e-6, 0.1, 10}, 9102);
  adamw_case("no weight decay, step 1000", {4, 4, 4}, AdamWHyper{3e-4, 0.9, 0.98, 1e-8, 0.0, 1000}, 9103);
  return true;
}();

}  // namespace
}  // namespace mm::testing
