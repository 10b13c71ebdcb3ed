#include "train/toy_fit.h"

#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"

namespace mm {

namespace {
// A dense layer, y = x·Wᵀ + b (mm::linear: one GEMM through OpenBLAS, cuBLAS on CUDA).
Tensor dense(const Tensor& x, const Tensor& w, const Tensor& b) { return linear(x, w, b); }

Tensor param(const Shape& shape, uint64_t seed, double scale) {
  return ops::to_dtype(case_randn(shape, seed, scale), DType::F32).set_requires_grad(true);
}
}  // namespace

ToyFitResult toy_fit(const ToyFitOptions& opt, const std::function<void(int, double)>& on_step) {
  // Data: N points on [-1, 1].
  std::vector<float> xs(opt.points), ys(opt.points);
  for (int i = 0; i < opt.points; ++i) {
    double x = -1.0 + 2.0 * i / (opt.points - 1);
    xs[i] = static_cast<float>(x);
    ys[i] = static_cast<float>(std::sin(3 * x) + 0.5 * x);
  }
  Tensor x = Tensor::from_vector<float>(xs, {opt.points, 1});
  Tensor y = Tensor::from_vector<float>(ys, {opt.points, 1});

  // Parameters with 1/sqrt(fan_in) scaled normal initialisation.
  const int h = 32;
  std::vector<Tensor> params = {param({h, 1}, opt.seed + 1, 1.0), param({h}, opt.seed + 2, 0.1),
                                param({h, h}, opt.seed + 3, 1.0 / std::sqrt(h)), param({h}, opt.seed + 4, 0.1),
                                param({1, h}, opt.seed + 5, 1.0 / std::sqrt(h)), param({1}, opt.seed + 6, 0.1)};
  // Adam state.
  std::vector<Tensor> m, v;
  for (const Tensor& p : params) {
    m.push_back(ops::zeros_like(p));
    v.push_back(ops::zeros_like(p));
  }
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;

  ToyFitResult result;
  for (int step = 1; step <= opt.steps; ++step) {
    Tensor hid = tanh(dense(x, params[0], params[1]));
    hid = tanh(dense(hid, params[2], params[3]));
    Tensor pred = dense(hid, params[4], params[5]);
    Tensor loss = mean(square(sub(pred, y)));

    for (const Tensor& p : params) p.zero_grad();
    loss.backward();

    {
      NoGradGuard no_grad;  // the update itself is not part of any graph
      double c1 = 1 - std::pow(b1, step), c2 = 1 - std::pow(b2, step);
      for (size_t i = 0; i < params.size(); ++i) {
        Tensor g = params[i].grad();
        m[i] = add(mul(m[i], b1), mul(g, 1 - b1));
        v[i] = add(mul(v[i], b2), mul(square(g), 1 - b2));
        Tensor update = div(mul(m[i], opt.lr / c1), add(sqrt(div(v[i], c2)), eps));
        Tensor next = sub(params[i], update);
        ops::copy_(params[i], next);  // in-place parameter update
      }
    }
    double l = loss.item();
    if (step == 1) result.initial_loss = l;
    result.final_loss = l;
    if (on_step) on_step(step, l);
  }
  return result;
}

}  // namespace mm
