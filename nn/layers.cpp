#include "nn/layers.h"

#include <cmath>
#include <sstream>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "nn/init.h"
#include "ops/copy.h"
#include "runtime/error.h"

namespace mm::nn {

namespace {

// Strings built with a stream: g++ 12 warns (-Wrestrict, a false positive) on some `"lit" + string` chains.
template <typename... A>
std::string cat(const A&... a) {
  std::ostringstream s;
  (s << ... << a);
  return s.str();
}

std::string pair_str(std::array<int64_t, 2> p) { return cat("(", p[0], ", ", p[1], ")"); }

// PyTorch's default for Linear/Conv weights and biases: U(−1/√fan_in, 1/√fan_in).
void default_init(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::fan_in_and_fan_out(weight).first));
    init::uniform_(bias, -bound, bound);
  }
}

}  // namespace

// ---- Linear ---------------------------------------------------------------------------------------

Linear::Linear(int64_t in, int64_t out, bool with_bias) : Module("Linear"), in_features(in), out_features(out) {
  MM_CHECK(in > 0 && out > 0, Value, "Linear", "in_features and out_features must be positive, got ", in, ", ", out);
  weight = Tensor::empty({out, in});
  if (with_bias) bias = Tensor::empty({out});
  default_init(weight, bias);
  register_parameter("weight", &weight);
  if (with_bias) register_parameter("bias", &bias);
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  return cat("in_features=", in_features, ", out_features=", out_features, ", bias=",
             bias.defined() ? "True" : "False");
}

// ---- Conv2d ---------------------------------------------------------------------------------------

Conv2d::Conv2d(int64_t in, int64_t out, std::array<int64_t, 2> k, Conv2dOptions o)
    : Module("Conv2d"), in_channels(in), out_channels(out), kernel_size(k), options(o) {
  MM_CHECK(in > 0 && out > 0 && o.groups > 0 && in % o.groups == 0 && out % o.groups == 0, Value, "Conv2d",
           "in_channels (", in, ") and out_channels (", out, ") must be positive multiples of groups (", o.groups, ")");
  MM_CHECK(k[0] > 0 && k[1] > 0, Value, "Conv2d", "kernel_size must be positive, got ", pair_str(k));
  weight = Tensor::empty({out, in / o.groups, k[0], k[1]});
  if (o.bias) bias = Tensor::empty({out});
  default_init(weight, bias);
  register_parameter("weight", &weight);
  if (o.bias) register_parameter("bias", &bias);
}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, weight, bias, options.stride, options.padding, options.dilation, options.groups);
}

std::string Conv2d::extra_repr() const {
  std::string s = cat(in_channels, ", ", out_channels, ", kernel_size=", pair_str(kernel_size),
                      ", stride=", pair_str(options.stride));
  if (options.padding != std::array<int64_t, 2>{0, 0}) s += cat(", padding=", pair_str(options.padding));
  if (options.dilation != std::array<int64_t, 2>{1, 1}) s += cat(", dilation=", pair_str(options.dilation));
  if (options.groups != 1) s += cat(", groups=", options.groups);
  if (!options.bias) s += ", bias=False";
  return s;
}

// ---- BatchNorm --------------------------------------------------------------------------------------

BatchNorm::BatchNorm(const char* type_name, int64_t n, double eps_, double momentum_, bool affine_, bool track)
    : Module(type_name), num_features(n), eps(eps_), momentum(momentum_), affine(affine_), track_running_stats(track) {
  MM_CHECK(n > 0, Value, type_name, "num_features must be positive, got ", n);
  if (affine) {
    weight = ops::ones({n});
    bias = ops::zeros({n});
    register_parameter("weight", &weight);
    register_parameter("bias", &bias);
  }
  if (track) {
    running_mean = ops::zeros({n});
    running_var = ops::ones({n});
    num_batches_tracked = ops::zeros({}, DType::I64);
    register_buffer("running_mean", &running_mean);
    register_buffer("running_var", &running_var);
    register_buffer("num_batches_tracked", &num_batches_tracked);
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  const bool is2d = type_name() == "BatchNorm2d";
  MM_CHECK(is2d ? x.dim() == 4 : (x.dim() == 2 || x.dim() == 3), Shape, type_name().c_str(), "expected ",
           is2d ? "[N, C, H, W]" : "[N, C] or [N, C, L]", " input, got ", shape_str(x.shape()));
  const bool use_batch_stats = training_ || !track_running_stats;
  if (training_ && track_running_stats) {
    NoGradGuard no_grad;
    ops::fill_(num_batches_tracked, num_batches_tracked.item() + 1);
  }
  // In training the op updates running_mean/var in place; without tracking there is nothing to update.
  return batch_norm(x, track_running_stats ? running_mean : Tensor(), track_running_stats ? running_var : Tensor(),
                    weight, bias, use_batch_stats, momentum, eps);
}

std::string BatchNorm::extra_repr() const {
  std::ostringstream s;
  s << num_features << ", eps=" << eps << ", momentum=" << momentum << ", affine=" << (affine ? "True" : "False")
    << ", track_running_stats=" << (track_running_stats ? "True" : "False");
  return s.str();
}

// ---- LayerNorm, Embedding, Dropout, Flatten ------------------------------------------------------------

LayerNorm::LayerNorm(Shape shape, double eps_, bool affine) : Module("LayerNorm"), normalized_shape(shape), eps(eps_) {
  MM_CHECK(!shape.empty(), Value, "LayerNorm", "normalized_shape must not be empty");
  if (affine) {
    weight = ops::ones(shape);
    bias = ops::zeros(shape);
    register_parameter("weight", &weight);
    register_parameter("bias", &bias);
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, normalized_shape, weight, bias, eps); }

std::string LayerNorm::extra_repr() const {
  std::ostringstream s;
  s << "(" << shape_str(normalized_shape) << "), eps=" << eps
    << ", elementwise_affine=" << (weight.defined() ? "True" : "False");
  return s.str();
}

Embedding::Embedding(int64_t num, int64_t dim, int64_t pad)
    : Module("Embedding"), num_embeddings(num), embedding_dim(dim), padding_idx(pad) {
  MM_CHECK(num > 0 && dim > 0, Value, "Embedding", "sizes must be positive, got ", num, ", ", dim);
  if (pad < 0 && pad != -1) padding_idx = num + pad;  // PyTorch accepts negative padding_idx
  MM_CHECK(padding_idx >= -1 && padding_idx < num, Value, "Embedding", "padding_idx ", pad, " outside [", -num, ", ",
           num, ")");
  weight = Tensor::empty({num, dim});
  init::normal_(weight);
  if (padding_idx >= 0) {
    NoGradGuard no_grad;
    ops::fill_(select(weight, 0, padding_idx), 0.0);
  }
  register_parameter("weight", &weight);
}

Tensor Embedding::forward(const Tensor& ids) { return embedding(weight, ids, padding_idx); }

std::string Embedding::extra_repr() const {
  return padding_idx >= 0 ? cat(num_embeddings, ", ", embedding_dim, ", padding_idx=", padding_idx)
                          : cat(num_embeddings, ", ", embedding_dim);
}

Dropout::Dropout(double p_) : Module("Dropout"), p(p_) {
  MM_CHECK(p >= 0.0 && p <= 1.0, Value, "Dropout", "p must be in [0, 1], got ", p);
}
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, training_); }
std::string Dropout::extra_repr() const {
  std::ostringstream s;
  s << "p=" << p;
  return s.str();
}

Tensor Flatten::forward(const Tensor& x) { return flatten(x, start_dim, end_dim); }
std::string Flatten::extra_repr() const {
  return cat("start_dim=", start_dim, ", end_dim=", end_dim);
}

// ---- activations --------------------------------------------------------------------------------------

Tensor activate(Activation a, const Tensor& x) {
  switch (a) {
    case Activation::ReLU: return relu(x);
    case Activation::ReLU6: return relu6(x);
    case Activation::GELU: return gelu(x);
    case Activation::GELUTanh: return gelu_tanh(x);
    case Activation::Tanh: return tanh(x);
    case Activation::Sigmoid: return sigmoid(x);
    case Activation::SiLU: return silu(x);
  }
  fail(ErrorKind::Value, "activation", "unknown activation");
}

namespace {
constexpr std::pair<Activation, const char*> kActivationNames[] = {
    {Activation::ReLU, "relu"}, {Activation::ReLU6, "relu6"},     {Activation::GELU, "gelu"},
    {Activation::GELUTanh, "gelu_tanh"}, {Activation::Tanh, "tanh"}, {Activation::Sigmoid, "sigmoid"},
    {Activation::SiLU, "silu"}};
constexpr const char* kActivationTypes[] = {"ReLU", "ReLU6", "GELU", "GELU", "Tanh", "Sigmoid", "SiLU"};
}  // namespace

Activation activation_from_name(const std::string& name) {
  for (auto [a, n] : kActivationNames)
    if (name == n) return a;
  fail(ErrorKind::Value, "activation", "unknown activation '", name,
       "' (relu, relu6, gelu, gelu_tanh, tanh, sigmoid, silu)");
}

ActivationModule::ActivationModule(Activation a) : Module(kActivationTypes[static_cast<int>(a)]), kind(a) {}

// ---- pools ----------------------------------------------------------------------------------------------

MaxPool2d::MaxPool2d(std::array<int64_t, 2> k, Pool2dOptions o) : Module("MaxPool2d"), kernel_size(k), options(o) {}
Tensor MaxPool2d::forward(const Tensor& x) {
  return max_pool2d(x, kernel_size, options.stride, options.padding, {1, 1}, options.ceil_mode);
}
std::string MaxPool2d::extra_repr() const {
  auto stride = options.stride[0] == 0 ? kernel_size : options.stride;
  return cat("kernel_size=", pair_str(kernel_size), ", stride=", pair_str(stride), ", padding=",
             pair_str(options.padding));
}

AvgPool2d::AvgPool2d(std::array<int64_t, 2> k, Pool2dOptions o) : Module("AvgPool2d"), kernel_size(k), options(o) {}
Tensor AvgPool2d::forward(const Tensor& x) {
  return avg_pool2d(x, kernel_size, options.stride, options.padding, options.ceil_mode);
}
std::string AvgPool2d::extra_repr() const {
  auto stride = options.stride[0] == 0 ? kernel_size : options.stride;
  return cat("kernel_size=", pair_str(kernel_size), ", stride=", pair_str(stride), ", padding=",
             pair_str(options.padding));
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(std::array<int64_t, 2> out) : Module("AdaptiveAvgPool2d"), output_size(out) {}
Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_size); }
std::string AdaptiveAvgPool2d::extra_repr() const { return cat("output_size=", pair_str(output_size)); }

}  // namespace mm::nn
