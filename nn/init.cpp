#include "nn/init.h"

#include <cmath>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "runtime/error.h"

namespace mm::nn::init {

namespace {

// Draws on the CPU in f64 and copies into t (any floating dtype, any device), outside autograd.
void assign(const Tensor& t, const Tensor& values) {
  NoGradGuard no_grad;
  ops::copy_(t, ops::to_dtype(values, t.dtype()));
}

void check_floating(const Tensor& t, const char* fn) {
  MM_CHECK(t.defined(), Value, fn, "undefined tensor");
  MM_CHECK(is_floating(t.dtype()), DType, fn, "needs a floating tensor, got ", dtype_name(t.dtype()));
}

int64_t fan(const Tensor& t, const std::string& mode, const char* fn) {
  auto [in, out] = fan_in_and_fan_out(t);
  MM_CHECK(mode == "fan_in" || mode == "fan_out", Value, fn, "mode must be fan_in or fan_out, got ", mode);
  return mode == "fan_in" ? in : out;
}

}  // namespace

std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& w) {
  MM_CHECK(w.dim() >= 2, Shape, "init", "fan in and fan out need at least 2 dims, got ", shape_str(w.shape()));
  int64_t receptive = 1;
  for (int64_t d = 2; d < w.dim(); ++d) receptive *= w.shape()[d];
  return {w.shape()[1] * receptive, w.shape()[0] * receptive};
}

double calculate_gain(const std::string& nl, double param) {
  if (nl == "linear" || nl == "conv1d" || nl == "conv2d" || nl == "conv3d" || nl == "sigmoid" || nl == "identity")
    return 1.0;
  if (nl == "tanh") return 5.0 / 3.0;
  if (nl == "relu") return std::sqrt(2.0);
  if (nl == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
  if (nl == "selu") return 3.0 / 4.0;
  fail(ErrorKind::Value, "calculate_gain", "unknown nonlinearity '", nl, "'");
}

void uniform_(const Tensor& t, double low, double high, Generator* gen) {
  check_floating(t, "uniform_");
  assign(t, add(mul(ops::rand(t.shape(), DType::F64, kCPU, gen), high - low), low));
}

void normal_(const Tensor& t, double mean, double std, Generator* gen) {
  check_floating(t, "normal_");
  assign(t, add(mul(ops::randn(t.shape(), DType::F64, kCPU, gen), std), mean));
}

void trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator* gen) {
  check_floating(t, "trunc_normal_");
  MM_CHECK(a < b && std > 0, Value, "trunc_normal_", "needs a < b and std > 0");
  // Inverse-CDF sampling: u ~ U(Φ(α), Φ(β)), x = mean + std·√2·erfinv(2u − 1). erfinv by Newton on erf.
  auto cdf = [](double x) { return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))); };
  const double lo = cdf((a - mean) / std), hi = cdf((b - mean) / std);
  Tensor u = ops::rand(t.shape(), DType::F64, kCPU, gen);
  std::vector<double> v = u.to_double_vector();
  for (double& x : v) {
    const double p = 2.0 * (lo + (hi - lo) * x) - 1.0;  // in (−1, 1)
    double z = 0.0;  // erfinv(p)
    for (int it = 0; it < 60; ++it) {
      const double err = std::erf(z) - p;
      z -= err / (2.0 / std::sqrt(M_PI) * std::exp(-z * z));
      if (std::fabs(err) < 1e-15) break;
    }
    x = std::clamp(mean + std * std::sqrt(2.0) * z, a, b);
  }
  assign(t, Tensor::from_vector(v, t.shape()));
}

void constant_(const Tensor& t, double value) {
  check_floating(t, "constant_");
  NoGradGuard no_grad;
  ops::fill_(t, value);
}
void zeros_(const Tensor& t) { constant_(t, 0.0); }
void ones_(const Tensor& t) { constant_(t, 1.0); }

void xavier_uniform_(const Tensor& t, double gain, Generator* gen) {
  auto [in, out] = fan_in_and_fan_out(t);
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(in + out));
  uniform_(t, -bound, bound, gen);
}

void xavier_normal_(const Tensor& t, double gain, Generator* gen) {
  auto [in, out] = fan_in_and_fan_out(t);
  normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(in + out)), gen);
}

void kaiming_uniform_(const Tensor& t, double a, const std::string& mode, const std::string& nonlinearity,
                      Generator* gen) {
  const double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan(t, mode, "kaiming_uniform_")));
  const double bound = std::sqrt(3.0) * std;
  uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(const Tensor& t, double a, const std::string& mode, const std::string& nonlinearity,
                     Generator* gen) {
  normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan(t, mode, "kaiming_normal_"))),
          gen);
}

}  // namespace mm::nn::init
