// Forward cases of the optimizer updates: adamw_step against torch.optim.AdamW's (and, without
// decoupled weight decay, torch.optim.Adam's) update written out in double, sgd_step against
// torch.optim.SGD's. The ops update their arguments in place, so run() works on fresh copies and
// returns the updated tensors (param and the state).
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
    double pi = h[0].v[i], g = h[1].v[i];
    if (hp.decoupled_weight_decay)
      pi *= 1 - hp.lr * hp.weight_decay;
    else
      g += hp.weight_decay * pi;  // Adam: L2 in the gradient
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

std::vector<Ref> sgd_ref(const std::vector<HostTensor>& h, const SgdHyper& hp) {
  Ref p{h[0].shape, {}}, b{h[0].shape, {}};
  for (int64_t i = 0; i < h[0].numel(); ++i) {
    double pi = h[0].v[i], d = h[1].v[i] + hp.weight_decay * pi;
    if (hp.momentum != 0) {
      double bi = hp.step == 1 ? d : hp.momentum * h[2].v[i] + d;
      d = hp.nesterov ? d + hp.momentum * bi : bi;
      b.values.push_back(bi);
    }
    p.values.push_back(pi - hp.lr * d);
  }
  if (hp.momentum == 0) return {p};
  return {p, b};
}

// Inputs: param, grad, momentum buffer. With momentum 0 the op gets an undefined buffer (as
// train::SGD passes it) and only the parameter is compared.
void sgd_case(const std::string& name, const Shape& shape, SgdHyper hp, uint64_t seed) {
  ForwardCase c{"sgd_step", name,
                [=] {
                  return TensorList{randn(shape, seed), randn(shape, seed + 1, 0.1), randn(shape, seed + 2, 0.05)};
                },
                [=](const TensorList& in) {
                  Tensor p = fresh_copy(in[0]), b = hp.momentum != 0 ? fresh_copy(in[2]) : Tensor();
                  ops::sgd_step(p, in[1], b, hp);
                  return hp.momentum != 0 ? TensorList{p, b} : TensorList{p};
                },
                [=](const std::vector<HostTensor>& h) { return sgd_ref(h, hp); }};
  c.strided = false;  // contiguous only, as adamw_step
  register_forward_case(std::move(c));
}

SgdHyper sgd(double lr, double momentum, double weight_decay, bool nesterov, int64_t step) {
  SgdHyper h;
  h.lr = lr;
  h.momentum = momentum;
  h.weight_decay = weight_decay;
  h.nesterov = nesterov;
  h.step = step;
  return h;
}

const bool registered = [] {
  adamw_case("first step, defaults", {7, 5}, AdamWHyper{}, 9101);
  adamw_case("step 10, lr 1e-2, weight decay 0.1, betas (0.8, 0.95)", {3000},
             AdamWHyper{1e-2, 0.8, 0.95, 1e-6, 0.1, 10}, 9102);
  adamw_case("no weight decay, step 1000", {4, 4, 4}, AdamWHyper{3e-4, 0.9, 0.98, 1e-8, 0.0, 1000}, 9103);
  adamw_case("Adam (L2 in the gradient), step 3, weight decay 0.5", {257},
             AdamWHyper{1e-2, 0.9, 0.99, 1e-8, 0.5, 3, /*decoupled_weight_decay=*/false}, 9104);
  sgd_case("plain, weight decay 0.1", {7, 5}, sgd(0.1, 0.0, 0.1, false, 1), 9111);
  sgd_case("momentum 0.9, first step (buffer set to d)", {3000}, sgd(0.05, 0.9, 0.01, false, 1), 9112);
  sgd_case("momentum 0.9, step 4", {3000}, sgd(0.05, 0.9, 0.01, false, 4), 9113);
  sgd_case("nesterov, step 2, no weight decay", {4, 4, 4}, sgd(0.2, 0.8, 0.0, true, 2), 9114);
  return true;
}();

}  // namespace
}  // namespace mm::testing
