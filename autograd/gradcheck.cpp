#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/functions.h"
#include "runtime/philox.h"

namespace mm {

namespace {

constexpr double kRelErrorFloor = 1e-6;

// Deterministic cotangent / direction values in [-1, 1).
Tensor random_like(const Tensor& t, uint64_t seed) {
  Tensor r = Tensor::empty(t.shape(), DType::F64, kCPU);
  double* p = r.data<double>();
  for (int64_t i = 0; i < r.numel(); ++i) p[i] = 2.0 * philox_uniform(seed, static_cast<uint64_t>(i)) - 1.0;
  return r;
}

// L(x) = Σ_k <v_k, out_k> in double, without recording a graph.
double contracted(const GradcheckFn& fn, const TensorList& inputs, const TensorList& cotangents) {
  NoGradGuard ng;
  TensorList outs = fn(inputs);
  double total = 0;
  for (size_t k = 0; k < outs.size(); ++k) {
    if (!outs[k].defined() || !is_floating(outs[k].dtype())) continue;
    auto o = outs[k].to_double_vector();
    auto v = cotangents[k].to_double_vector();
    for (size_t i = 0; i < o.size(); ++i) total += o[i] * v[i];
  }
  return total;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& fn, const TensorList& inputs, const GradcheckOptions& opt) {
  GradcheckResult result;
  for (const Tensor& in : inputs) {
    if (!in.defined() || !in.requires_grad()) continue;
    MM_CHECK(in.dtype() == DType::F64 && in.device().is_cpu() && in.is_contiguous(), Value, "gradcheck",
             "inputs that require grad must be contiguous f64 CPU tensors, got ", in.str());
  }
  // Analytic: one backward pass of L.
  TensorList outs = fn(inputs);
  TensorList cot, roots, root_grads;
  for (size_t k = 0; k < outs.size(); ++k) {
    Tensor v = outs[k].defined() && is_floating(outs[k].dtype()) ? random_like(outs[k], opt.seed + 7919 * k) : Tensor();
    cot.push_back(v);
    if (v.defined() && outs[k].requires_grad()) {
      roots.push_back(outs[k]);
      root_grads.push_back(ops::to_dtype(v, outs[k].dtype()));
    }
  }
  TensorList diff_inputs;
  std::vector<size_t> diff_index;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].requires_grad()) {
      diff_inputs.push_back(inputs[i]);
      diff_index.push_back(i);
    }
  MM_CHECK(!diff_inputs.empty(), Value, "gradcheck", "no input requires grad");
  TensorList analytic(diff_inputs.size());
  if (!roots.empty()) analytic = grad(roots, diff_inputs, root_grads);

  std::ostringstream msg;
  for (size_t j = 0; j < diff_inputs.size(); ++j) {
    const Tensor& x = diff_inputs[j];
    GradcheckInputReport rep;
    rep.index = diff_index[j];
    rep.numel = x.numel();
    std::vector<double> ga = analytic[j].defined() ? analytic[j].to_double_vector() : std::vector<double>(x.numel(), 0.0);
    double* xp = x.data<double>();
    auto check = [&](double a, double n, const std::string& where) {
      double abs_err = std::fabs(a - n);
      rep.max_abs_error = std::max(rep.max_abs_error, abs_err);
      // Relative error is reported where it means something: away from zero gradients, where
      // finite-difference noise (truncation ~eps^2, round-off ~1e-16/eps) would dominate the ratio.
      if (std::fabs(n) >= kRelErrorFloor) rep.max_rel_error = std::max(rep.max_rel_error, abs_err / std::fabs(n));
      bool ok = abs_err <= opt.atol + opt.rtol * std::fabs(n) && !std::isnan(a) && !std::isnan(n);
      if (!ok && rep.passed) {
        rep.passed = false;
        if (result.passed)
          msg << "input " << rep.index << " " << where << ": analytic " << a << " vs numeric " << n
              << " (abs error " << abs_err << ")";
        result.passed = false;
      }
    };
    if (x.numel() <= opt.fast_threshold) {
      for (int64_t i = 0; i < x.numel(); ++i) {
        double orig = xp[i];
        xp[i] = orig + opt.eps;
        double lp = contracted(fn, inputs, cot);
        xp[i] = orig - opt.eps;
        double lm = contracted(fn, inputs, cot);
        xp[i] = orig;
        check(ga[i], (lp - lm) / (2 * opt.eps), "element " + std::to_string(i));
      }
    } else {
      rep.fast = true;
      for (int d = 0; d < opt.fast_directions; ++d) {
        auto u = random_like(x, opt.seed * 31 + 1000003ull * (d + 1)).to_double_vector();
        double norm = 0, a = 0;
        for (size_t i = 0; i < u.size(); ++i) norm += u[i] * u[i];
        norm = std::sqrt(norm);
        for (size_t i = 0; i < u.size(); ++i) {
          u[i] /= norm;
          a += ga[i] * u[i];
        }
        std::vector<double> orig(xp, xp + x.numel());
        for (size_t i = 0; i < u.size(); ++i) xp[i] = orig[i] + opt.eps * u[i];
        double lp = contracted(fn, inputs, cot);
        for (size_t i = 0; i < u.size(); ++i) xp[i] = orig[i] - opt.eps * u[i];
        double lm = contracted(fn, inputs, cot);
        std::copy(orig.begin(), orig.end(), xp);
        check(a, (lp - lm) / (2 * opt.eps), "direction " + std::to_string(d));
      }
    }
    result.inputs.push_back(rep);
  }
  result.message = result.passed ? "ok" : msg.str();
  return result;
}

}  // namespace mm
