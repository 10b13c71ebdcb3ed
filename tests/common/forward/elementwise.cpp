// Forward cases of the unary, binary, comparison, where/masked_fill and copy ops.
#include <cmath>

#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

using Fn1 = std::function<double(double)>;
using Fn2 = std::function<double(double, double)>;

// Element-wise reference with NumPy broadcasting over two host tensors.
Ref broadcast_ref(const HostTensor& a, const HostTensor& b, const Fn2& f) {
  size_t n = std::max(a.shape.size(), b.shape.size());
  Shape out(n);
  auto dim = [&](const HostTensor& t, size_t i) { return i < n - t.shape.size() ? 1 : t.shape[i - (n - t.shape.size())]; };
  for (size_t i = 0; i < n; ++i) out[i] = std::max(dim(a, i), dim(b, i));
  Ref r{out, {}};
  int64_t total = shape_numel(out);
  std::vector<int64_t> idx(n, 0);
  for (int64_t k = 0; k < total; ++k) {
    auto at = [&](const HostTensor& t) {
      int64_t off = 0;
      for (size_t i = n - t.shape.size(); i < n; ++i) off = off * dim(t, i) + (dim(t, i) == 1 ? 0 : idx[i]);
      return t.v[off];
    };
    r.values.push_back(f(at(a), at(b)));
    for (int64_t d = static_cast<int64_t>(n) - 1; d >= 0; --d) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
  return r;
}

void unary(const std::string& op, std::function<Tensor(const Tensor&)> run, Fn1 ref, double lo, double hi) {
  register_forward_case({op, "uniform", [=] { return TensorList{uniform({3, 7}, 101, lo, hi)}; },
                         [run](const TensorList& in) { return TensorList{run(in[0])}; },
                         [ref](const std::vector<HostTensor>& h) {
                           Ref r{h[0].shape, {}};
                           for (double x : h[0].v) r.values.push_back(ref(x));
                           return std::vector<Ref>{r};
                         }});
}

void binary(const std::string& op, std::function<Tensor(const Tensor&, const Tensor&)> run, Fn2 ref, double lo,
            double hi) {
  for (auto shapes : std::vector<std::pair<Shape, Shape>>{{{3, 4}, {3, 4}}, {{2, 1, 4}, {3, 1}}, {{5}, {}}}) {
    register_forward_case({op, "broadcast " + shape_str(shapes.first) + " " + shape_str(shapes.second),
                           [=] { return TensorList{uniform(shapes.first, 201, lo, hi), uniform(shapes.second, 202, lo, hi)}; },
                           [run](const TensorList& in) { return TensorList{run(in[0], in[1])}; },
                           [ref](const std::vector<HostTensor>& h) { return std::vector<Ref>{broadcast_ref(h[0], h[1], ref)}; }});
  }
}

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }

const bool registered = [] {
  unary("neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, -3, 3);
  unary("abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::fabs(x); }, -3, 3);
  unary("exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -3, 3);
  unary("log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, 0.1, 5);
  unary("log1p", [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); }, -0.5, 5);
  unary("sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0, 5);
  unary("rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, 0.1, 5);
  unary("reciprocal", [](const Tensor& x) { return reciprocal(x); }, [](double x) { return 1 / x; }, 0.1, 5);
  unary("square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, -3, 3);
  unary("pow_scalar", [](const Tensor& x) { return pow_scalar(x, 1.7); }, [](double x) { return std::pow(x, 1.7); }, 0, 3);
  unary("sin", [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); }, -4, 4);
  unary("cos", [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); }, -4, 4);
  unary("tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -4, 4);
  unary("sigmoid", [](const Tensor& x) { return sigmoid(x); }, sigmoid_ref, -30, 30);
  unary("relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; }, -3, 3);
  unary("relu6", [](const Tensor& x) { return relu6(x); }, [](double x) { return std::min(std::max(x, 0.0), 6.0); }, -3, 9);
  unary("gelu", [](const Tensor& x) { return gelu(x); }, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, -4, 4);
  unary("gelu_tanh", [](const Tensor& x) { return gelu_tanh(x); },
        [](double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }, -4, 4);
  unary("silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x * sigmoid_ref(x); }, -6, 6);
  unary("softplus", [](const Tensor& x) { return softplus(x); }, [](double x) { return x > 20 ? x : std::log1p(std::exp(x)); }, -30, 30);
  unary("logsigmoid", [](const Tensor& x) { return logsigmoid(x); }, [](double x) { return -std::log1p(std::exp(-x)); }, -20, 20);
  unary("erf", [](const Tensor& x) { return erf(x); }, [](double x) { return std::erf(x); }, -3, 3);
  unary("clamp", [](const Tensor& x) { return clamp(x, -1, 0.5); }, [](double x) { return std::min(std::max(x, -1.0), 0.5); }, -3, 3);

  binary("add", [](const Tensor& a, const Tensor& b) { return add(a, b); }, [](double a, double b) { return a + b; }, -2, 2);
  binary("sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }, [](double a, double b) { return a - b; }, -2, 2);
  binary("mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, [](double a, double b) { return a * b; }, -2, 2);
  binary("div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, [](double a, double b) { return a / b; }, 0.5, 2);
  binary("pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, [](double a, double b) { return std::pow(a, b); }, 0.1, 2);
  binary("maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, [](double a, double b) { return std::max(a, b); }, -2, 2);
  binary("minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, [](double a, double b) { return std::min(a, b); }, -2, 2);
  // Comparisons on values with deliberate ties (rounded to halves).
  auto ties = [](const Tensor& t) { return ops::unary(OpId::neg, ops::unary(OpId::neg, t)); };
  (void)ties;
  binary("eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); }, [](double a, double b) { return double(a == b); }, -2, 2);
  binary("ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); }, [](double a, double b) { return double(a != b); }, -2, 2);
  binary("lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); }, [](double a, double b) { return double(a < b); }, -2, 2);
  binary("le", [](const Tensor& a, const Tensor& b) { return le(a, b); }, [](double a, double b) { return double(a <= b); }, -2, 2);
  binary("gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); }, [](double a, double b) { return double(a > b); }, -2, 2);
  binary("ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); }, [](double a, double b) { return double(a >= b); }, -2, 2);
  binary("logical_and", [](const Tensor& a, const Tensor& b) { return logical_and(gt(a, 0.0), gt(b, 0.0)); },
         [](double a, double b) { return double(a > 0 && b > 0); }, -2, 2);
  binary("logical_or", [](const Tensor& a, const Tensor& b) { return logical_or(gt(a, 0.0), gt(b, 0.0)); },
         [](double a, double b) { return double(a > 0 || b > 0); }, -2, 2);
  binary("logical_xor", [](const Tensor& a, const Tensor& b) { return logical_xor(gt(a, 0.0), gt(b, 0.0)); },
         [](double a, double b) { return double((a > 0) != (b > 0)); }, -2, 2);
  unary("logical_not", [](const Tensor& x) { return logical_not(gt(x, 0.0)); }, [](double x) { return double(!(x > 0)); }, -2, 2);
  // Exact ties: equal inputs compare equal.
  register_forward_case({"eq", "identical inputs", [] { return TensorList{uniform({4}, 7, -1, 1)}; },
                         [](const TensorList& in) { return TensorList{eq(in[0], in[0])}; },
                         [](const std::vector<HostTensor>&) { return std::vector<Ref>{{{4}, {1, 1, 1, 1}}}; }});

  register_forward_case({"where", "broadcast condition",
                         [] { return TensorList{bool_tensor({true, false, true}, {3, 1}), randn({3, 4}, 301), randn({4}, 302)}; },
                         [](const TensorList& in) { return TensorList{where(in[0], in[1], in[2])}; },
                         [](const std::vector<HostTensor>& h) {
                           Ref r{{3, 4}, {}};
                           for (int i = 0; i < 3; ++i)
                             for (int j = 0; j < 4; ++j) r.values.push_back(h[0].v[i] ? h[1].v[i * 4 + j] : h[2].v[j]);
                           return std::vector<Ref>{r};
                         }});
  register_forward_case({"masked_fill", "broadcast mask",
                         [] { return TensorList{randn({2, 3}, 303), bool_tensor({false, true, true}, {3})}; },
                         [](const TensorList& in) { return TensorList{masked_fill(in[0], in[1], -7.5)}; },
                         [](const std::vector<HostTensor>& h) {
                           Ref r{{2, 3}, {}};
                           for (int i = 0; i < 6; ++i) r.values.push_back(h[1].v[i % 3] ? -7.5 : h[0].v[i]);
                           return std::vector<Ref>{r};
                         }});
  register_forward_case({"copy", "transposed contiguous()", [] { return TensorList{randn({3, 5}, 304)}; },
                         [](const TensorList& in) { return TensorList{contiguous(transpose(in[0], 0, 1))}; },
                         [](const std::vector<HostTensor>& h) {
                           Ref r{{5, 3}, {}};
                           for (int j = 0; j < 5; ++j)
                             for (int i = 0; i < 3; ++i) r.values.push_back(h[0].v[i * 5 + j]);
                           return std::vector<Ref>{r};
                         }});
  register_forward_case({"copy", "to f16 and back rounds to 11 bits",
                         [] { return TensorList{Tensor::from_vector<double>({1.0, 1.0 + 1.0 / 4096, 65504.0, 1e-8, -2.5}, {5})}; },
                         [](const TensorList& in) { return TensorList{to(to(in[0], DType::F16), in[0].dtype())}; },
                         [](const std::vector<HostTensor>&) {
                           // 1+2^-12 rounds to 1 (ties to even); 1e-8 underflows to 0 (below the smallest subnormal/2)
                           return std::vector<Ref>{{{5}, {1.0, 1.0, 65504.0, 0.0, -2.5}}};
                         }});
  return true;
}();

}  // namespace
}  // namespace mm::testing
