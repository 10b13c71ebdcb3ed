// Gradient-check cases of the unary, binary and where/masked_fill ops.
#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"

namespace mm {
namespace {

// A unary op checked on inputs drawn from its domain, nudged off its kinks.
void unary_case(const std::string& op, std::function<Tensor(const Tensor&)> f, double lo, double hi,
                std::vector<double> kinks = {}) {
  register_gradcheck_case({op, "uniform [" + std::to_string(lo) + ", " + std::to_string(hi) + ")",
                           [=] { return TensorList{leaf(nudge_off(case_uniform({3, 5}, 11, lo, hi), kinks))}; },
                           [f](const TensorList& in) { return TensorList{f(in[0])}; }});
  // The same op on a non-contiguous (transposed) view of the input.
  register_gradcheck_case({op, "strided input",
                           [=] { return TensorList{leaf(nudge_off(case_uniform({4, 3}, 12, lo, hi), kinks))}; },
                           [f](const TensorList& in) { return TensorList{f(transpose(in[0], 0, 1))}; }});
}

void binary_case(const std::string& op, std::function<Tensor(const Tensor&, const Tensor&)> f, double lo, double hi) {
  register_gradcheck_case({op, "same shape",
                           [=] { return TensorList{leaf(case_uniform({2, 3}, 21, lo, hi)), leaf(case_uniform({2, 3}, 22, lo, hi))}; },
                           [f](const TensorList& in) { return TensorList{f(in[0], in[1])}; }});
  register_gradcheck_case({op, "broadcast [2,1,3] with [4,1]",
                           [=] { return TensorList{leaf(case_uniform({2, 1, 3}, 23, lo, hi)), leaf(case_uniform({4, 1}, 24, lo, hi))}; },
                           [f](const TensorList& in) { return TensorList{f(in[0], in[1])}; }});
}

const bool registered = [] {
  unary_case("neg", [](const Tensor& x) { return neg(x); }, -2, 2);
  unary_case("abs", [](const Tensor& x) { return abs(x); }, -2, 2, {0});
  unary_case("exp", [](const Tensor& x) { return exp(x); }, -2, 2);
  unary_case("log", [](const Tensor& x) { return log(x); }, 0.2, 3);
  unary_case("log1p", [](const Tensor& x) { return log1p(x); }, -0.5, 3);
  unary_case("sqrt", [](const Tensor& x) { return sqrt(x); }, 0.2, 3);
  unary_case("rsqrt", [](const Tensor& x) { return rsqrt(x); }, 0.2, 3);
  unary_case("reciprocal", [](const Tensor& x) { return reciprocal(x); }, 0.3, 3);
  unary_case("square", [](const Tensor& x) { return square(x); }, -2, 2);
  unary_case("pow_scalar", [](const Tensor& x) { return pow_scalar(x, 2.5); }, 0.2, 3);
  unary_case("sin", [](const Tensor& x) { return sin(x); }, -3, 3);
  unary_case("cos", [](const Tensor& x) { return cos(x); }, -3, 3);
  unary_case("tanh", [](const Tensor& x) { return tanh(x); }, -3, 3);
  unary_case("sigmoid", [](const Tensor& x) { return sigmoid(x); }, -5, 5);
  unary_case("relu", [](const Tensor& x) { return relu(x); }, -2, 2, {0});
  unary_case("relu6", [](const Tensor& x) { return relu6(x); }, -2, 8, {0, 6});
  unary_case("gelu", [](const Tensor& x) { return gelu(x); }, -3, 3);
  unary_case("gelu_tanh", [](const Tensor& x) { return gelu_tanh(x); }, -3, 3);
  unary_case("silu", [](const Tensor& x) { return silu(x); }, -4, 4);
  unary_case("softplus", [](const Tensor& x) { return softplus(x, 2.0, 5.0); }, -4, 4, {2.5});
  unary_case("logsigmoid", [](const Tensor& x) { return logsigmoid(x); }, -6, 6);
  unary_case("erf", [](const Tensor& x) { return erf(x); }, -2, 2);
  unary_case("clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.7); }, -2, 2, {-0.5, 0.7});

  binary_case("add", [](const Tensor& a, const Tensor& b) { return add(a, b); }, -2, 2);
  binary_case("sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }, -2, 2);
  binary_case("mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, -2, 2);
  binary_case("div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, 0.5, 2);
  binary_case("pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, 0.5, 2);
  binary_case("maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, -2, 2);
  binary_case("minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, -2, 2);

  register_gradcheck_case({"where", "broadcast condition",
                           [] { return TensorList{leaf(case_randn({3, 4}, 31)), leaf(case_randn({4}, 32))}; },
                           [](const TensorList& in) {
                             Tensor cond = gt(case_randn({3, 1}, 33), 0.0);
                             return TensorList{where(cond, in[0], in[1])};
                           }});
  register_gradcheck_case({"masked_fill", "broadcast mask",
                           [] { return TensorList{leaf(case_randn({3, 4}, 34))}; },
                           [](const TensorList& in) { return TensorList{masked_fill(in[0], gt(case_randn({4}, 35), 0.0), 2.5)}; }});
  register_gradcheck_case({"copy", "to(f32) and back is not checked in f64; contiguous() of a transposed view",
                           [] { return TensorList{leaf(case_randn({3, 4}, 36))}; },
                           [](const TensorList& in) { return TensorList{contiguous(transpose(in[0], 0, 1))}; }});
  return true;
}();

}  // namespace
}  // namespace mm
