// Forward cases of the reductions: sum, mean, max/min (values + indices), amax/amin, argmax/argmin,
// logsumexp, var, std, norm. The reference gathers each output's reduced slice (row-major over the
// reduced dims) with plain loops and applies a double-precision formula to it.
#include <cmath>
#include <limits>

#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

using SliceFn = std::function<double(const std::vector<double>&)>;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// Reduces h over dims (empty = all) with f applied to each slice.
Ref reduce_ref(const HostTensor& h, std::vector<int64_t> dims, bool keepdim, const SliceFn& f) {
  const int64_t nd = static_cast<int64_t>(h.shape.size());
  std::vector<bool> reduced(nd, dims.empty());
  for (int64_t d : dims) reduced[d < 0 ? d + nd : d] = true;
  Shape out;
  for (int64_t d = 0; d < nd; ++d)
    if (!reduced[d]) out.push_back(h.shape[d]);
    else if (keepdim) out.push_back(1);
  int64_t nout = 1;
  for (int64_t d = 0; d < nd; ++d)
    if (!reduced[d]) nout *= h.shape[d];
  std::vector<std::vector<double>> slices(nout);
  std::vector<int64_t> idx(nd, 0);
  for (int64_t k = 0; k < h.numel(); ++k) {
    int64_t o = 0;
    for (int64_t d = 0; d < nd; ++d)
      if (!reduced[d]) o = o * h.shape[d] + idx[d];
    slices[o].push_back(h.v[k]);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[d] < h.shape[d]) break;
      idx[d] = 0;
    }
  }
  Ref r{out, {}};
  for (const auto& s : slices) r.values.push_back(f(s));
  return r;
}

double ref_sum(const std::vector<double>& s) {
  double a = 0;
  for (double v : s) a += v;
  return a;
}
double ref_mean(const std::vector<double>& s) { return ref_sum(s) / static_cast<double>(s.size()); }
// Position of the first extreme; a NaN beats everything.
int64_t ref_arg(const std::vector<double>& s, bool is_max) {
  int64_t best = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (std::isnan(s[best])) break;
    if (std::isnan(s[i]) || (is_max ? s[i] > s[best] : s[i] < s[best])) best = static_cast<int64_t>(i);
  }
  return best;
}
double ref_var(const std::vector<double>& s, int64_t correction) {
  double m = ref_mean(s), a = 0;
  for (double v : s) a += (v - m) * (v - m);
  return a / std::max<double>(static_cast<double>(s.size()) - static_cast<double>(correction), 0.0);
}
double ref_lse(const std::vector<double>& s) {
  double m = -kInf;
  for (double v : s) m = std::max(m, v);
  double a = 0;
  for (double v : s) a += std::exp(v - m);
  return m + std::log(a);
}
double ref_norm(const std::vector<double>& s, double p) {
  double a = 0;
  if (std::isinf(p)) {
    a = p > 0 ? 0 : kInf;
    for (double v : s) a = p > 0 ? std::max(a, std::fabs(v)) : std::min(a, std::fabs(v));
    return a;
  }
  if (p == 0) {
    for (double v : s) a += v != 0;
    return a;
  }
  for (double v : s) a += std::pow(std::fabs(v), p);
  return std::pow(a, 1 / p);
}

// Values in {-2, -1.5, ..., 2}: plenty of ties, exactly representable in every dtype.
Tensor ties(const Shape& shape, uint64_t seed) {
  std::vector<double> v = uniform(shape, seed, -2, 2).to_double_vector();
  for (double& x : v) x = std::round(x * 2) / 2;
  return Tensor::from_vector<double>(v, shape);
}

// `ties` with a few NaNs planted.
Tensor with_nans(const Shape& shape, uint64_t seed, const std::vector<int64_t>& at) {
  std::vector<double> v = ties(shape, seed).to_double_vector();
  for (int64_t i : at) v[i] = kNaN;
  return Tensor::from_vector<double>(v, shape);
}

void add_simple(const std::string& op, const std::string& name, std::function<Tensor()> input,
                std::function<Tensor(const Tensor&)> run, std::vector<int64_t> dims, bool keepdim, SliceFn f) {
  register_forward_case({op, name, [input] { return TensorList{input()}; },
                         [run](const TensorList& in) { return TensorList{run(in[0])}; },
                         [dims, keepdim, f](const std::vector<HostTensor>& h) {
                           return std::vector<Ref>{reduce_ref(h[0], dims, keepdim, f)};
                         }});
}

void add_max_min(bool is_max, const std::string& name, std::function<Tensor()> input, int64_t dim, bool keepdim) {
  const std::string op = is_max ? "max" : "min";
  register_forward_case({op, name, [input] { return TensorList{input()}; },
                         [=](const TensorList& in) {
                           auto [v, i] = is_max ? max(in[0], dim, keepdim) : min(in[0], dim, keepdim);
                           return TensorList{v, i};
                         },
                         [=](const std::vector<HostTensor>& h) {
                           Ref vals = reduce_ref(h[0], {dim}, keepdim, [=](const std::vector<double>& s) {
                             return s[ref_arg(s, is_max)];
                           });
                           Ref idx = reduce_ref(h[0], {dim}, keepdim, [=](const std::vector<double>& s) {
                             return static_cast<double>(ref_arg(s, is_max));
                           });
                           return std::vector<Ref>{vals, idx};
                         }});
}

const bool registered = [] {
  // ---- sum / mean ----
  for (auto [dims, keepdim] : std::vector<std::pair<std::vector<int64_t>, bool>>{
           {{1}, false}, {{0, 2}, true}, {{}, false}, {{-1}, false}, {{-3, -2}, false}})
    add_simple("sum", "[3,4,5] dims " + shape_str(dims) + (keepdim ? " keepdim" : ""),
               [] { return randn({3, 4, 5}, 401); }, [=](const Tensor& x) { return sum(x, dims, keepdim); }, dims,
               keepdim, ref_sum);
  // Outer dims of a wide contiguous tensor (the column-accumulating path; 300 columns = 2 blocks).
  add_simple("sum", "outer dim of [37,300]", [] { return randn({37, 300}, 402); },
             [](const Tensor& x) { return sum(x, {0}); }, {0}, false, ref_sum);
  add_simple("sum", "outer dims of [6,5,40] keepdim", [] { return randn({6, 5, 40}, 403); },
             [](const Tensor& x) { return sum(x, {0, 1}, true); }, {0, 1}, true, ref_sum);
  add_simple("sum", "middle dim of [3,50,20]", [] { return randn({3, 50, 20}, 404); },
             [](const Tensor& x) { return sum(x, {1}); }, {1}, false, ref_sum);
  // Tall and thin: few column blocks, so the rows are cut into chunks too.
  add_simple("sum", "outer dim of [3000,24]", [] { return randn({3000, 24}, 405); },
             [](const Tensor& x) { return sum(x, {0}); }, {0}, false, ref_sum);
  // Long full reduction (the chunked path).
  add_simple("sum", "all of [70001]", [] { return randn({70001}, 406); }, [](const Tensor& x) { return sum(x); }, {},
             false, ref_sum);
  add_simple("sum", "0-d", [] { return Tensor::from_vector<double>({2.5}, {}); },
             [](const Tensor& x) { return sum(x, {0}); }, {}, false, ref_sum);
  add_simple("mean", "[4,6] dim 1", [] { return randn({4, 6}, 407); }, [](const Tensor& x) { return mean(x, {1}); },
             {1}, false, ref_mean);
  add_simple("mean", "[4,6,3] dims (0,2) keepdim", [] { return randn({4, 6, 3}, 408); },
             [](const Tensor& x) { return mean(x, {0, 2}, true); }, {0, 2}, true, ref_mean);

  // ---- max / min with indices: ties resolve to the first occurrence ----
  for (bool is_max : {true, false}) {
    add_max_min(is_max, "[4,7] dim 1 with ties", [] { return ties({4, 7}, 410); }, 1, false);
    add_max_min(is_max, "[4,7] dim 0 keepdim", [] { return ties({4, 7}, 411); }, 0, true);
    add_max_min(is_max, "[3,4,5] dim -2", [] { return randn({3, 4, 5}, 412); }, -2, false);
    add_max_min(is_max, "outer dim of [30,40] with ties", [] { return ties({30, 40}, 413); }, 0, false);
    add_max_min(is_max, "long rows [3,100] with ties", [] { return ties({3, 100}, 414); }, 1, false);
    add_max_min(is_max, "NaN propagates", [] { return with_nans({3, 6}, 415, {2, 4, 13}); }, 1, false);
    add_max_min(is_max, "NaN propagates along dim 0", [] { return with_nans({5, 20}, 416, {21, 63, 3}); }, 0, false);
    // Full reductions: values only.
    add_simple(is_max ? "max" : "min", "all elements", [] { return randn({5, 7}, 417); },
               [=](const Tensor& x) { return is_max ? max(x) : min(x); }, {}, false,
               [=](const std::vector<double>& s) { return s[ref_arg(s, is_max)]; });
  }
  for (bool is_max : {true, false}) {
    const std::string op = is_max ? "amax" : "amin";
    auto f = [=](const std::vector<double>& s) { return s[ref_arg(s, is_max)]; };
    add_simple(op, "[3,4,5] dims (0,2) keepdim", [] { return ties({3, 4, 5}, 420); },
               [=](const Tensor& x) { return is_max ? amax(x, {0, 2}, true) : amin(x, {0, 2}, true); }, {0, 2}, true, f);
    add_simple(op, "[3,4,5] dim -1", [] { return randn({3, 4, 5}, 421); },
               [=](const Tensor& x) { return is_max ? amax(x, {-1}) : amin(x, {-1}); }, {-1}, false, f);
    add_simple(op, "all elements of [70001]", [] { return randn({70001}, 422); },
               [=](const Tensor& x) { return is_max ? amax(x) : amin(x); }, {}, false, f);
    add_simple(op, "outer dims of [4,3,50]", [] { return randn({4, 3, 50}, 423); },
               [=](const Tensor& x) { return is_max ? amax(x, {0, 1}) : amin(x, {0, 1}); }, {0, 1}, false, f);
    add_simple(op, "NaN propagates", [] { return with_nans({4, 5}, 424, {7}); },
               [=](const Tensor& x) { return is_max ? amax(x, {1}) : amin(x, {1}); }, {1}, false, f);

    const std::string aop = is_max ? "argmax" : "argmin";
    auto fa = [=](const std::vector<double>& s) { return static_cast<double>(ref_arg(s, is_max)); };
    add_simple(aop, "[4,7] dim 1 with ties", [] { return ties({4, 7}, 425); },
               [=](const Tensor& x) { return is_max ? argmax(x, 1) : argmin(x, 1); }, {1}, false, fa);
    add_simple(aop, "[3,4,5] dim 0 keepdim", [] { return ties({3, 4, 5}, 426); },
               [=](const Tensor& x) { return is_max ? argmax(x, 0, true) : argmin(x, 0, true); }, {0}, true, fa);
    add_simple(aop, "flattened [3,4,5]", [] { return randn({3, 4, 5}, 427); },
               [=](const Tensor& x) { return is_max ? argmax(x) : argmin(x); }, {}, false, fa);
  }

  // ---- logsumexp ----
  add_simple("logsumexp", "[3,5] dim 1", [] { return randn({3, 5}, 430); },
             [](const Tensor& x) { return logsumexp(x, {1}); }, {1}, false, ref_lse);
  add_simple("logsumexp", "[3,4,5] dims (0,2) keepdim", [] { return randn({3, 4, 5}, 431, 3.0); },
             [](const Tensor& x) { return logsumexp(x, {0, 2}, true); }, {0, 2}, true, ref_lse);
  add_simple("logsumexp", "large values do not overflow", [] { return uniform({4, 6}, 432, 500, 520); },
             [](const Tensor& x) { return logsumexp(x, {-1}); }, {-1}, false, ref_lse);
  add_simple("logsumexp", "some -inf entries",
             [] { return Tensor::from_vector<double>({-kInf, 1.0, 2.0, -kInf, -kInf, 0.5}, {2, 3}); },
             [](const Tensor& x) { return logsumexp(x, {1}); }, {1}, false, ref_lse);

  // ---- var / std ----
  for (bool is_std : {false, true}) {
    const std::string op = is_std ? "std" : "var";
    auto f = [is_std](int64_t corr) {
      return [=](const std::vector<double>& s) {
        double v = ref_var(s, corr);
        return is_std ? std::sqrt(v) : v;
      };
    };
    auto run = [is_std](std::vector<int64_t> dims, int64_t corr, bool keepdim) {
      return [=](const Tensor& x) { return is_std ? std(x, dims, corr, keepdim) : var(x, dims, corr, keepdim); };
    };
    add_simple(op, "[4,6] dim 1 unbiased", [] { return randn({4, 6}, 440); }, run({1}, 1, false), {1}, false, f(1));
    add_simple(op, "[4,6,3] dims (0,2) population keepdim", [] { return randn({4, 6, 3}, 441, 2.0); },
               run({0, 2}, 0, true), {0, 2}, true, f(0));
    add_simple(op, "all elements, offset mean", [] { return uniform({5, 8}, 442, 10, 11); }, run({}, 1, false), {},
               false, f(1));
  }

  // ---- norm ----
  for (double p : {2.0, 1.0, kInf, -kInf, 3.0, 0.5})
    add_simple("norm", "p=" + std::to_string(p) + " [4,5] dim 1", [] { return randn({4, 5}, 450); },
               [p](const Tensor& x) { return norm(x, p, {1}); }, {1}, false,
               [p](const std::vector<double>& s) { return ref_norm(s, p); });
  add_simple("norm", "p=2 all elements", [] { return randn({3, 4, 5}, 451); },
             [](const Tensor& x) { return norm(x); }, {}, false,
             [](const std::vector<double>& s) { return ref_norm(s, 2); });
  add_simple("norm", "p=0 counts non-zeros, dims (0,2) keepdim", [] { return ties({3, 4, 5}, 452); },
             [](const Tensor& x) { return norm(x, 0, {0, 2}, true); }, {0, 2}, true,
             [](const std::vector<double>& s) { return ref_norm(s, 0); });
  return true;
}();

}  // namespace
}  // namespace mm::testing
