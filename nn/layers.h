// The basic layers, with PyTorch's parameter names, shapes, defaults and default initialisation
// (torch.nn.Linear, Conv2d, BatchNorm2d, LayerNorm, Embedding, Dropout, the activations, pools,
// Flatten, Identity). Each forward is one or two functional ops (autograd/functions.h), so the
// gradients are the ops' own.
#pragma once

#include <array>
#include <string>

#include "nn/module.h"

namespace mm::nn {

// y = x·Wᵀ + b. weight [out, in] and bias [out] ~ U(−1/√in, 1/√in) (kaiming_uniform(a=√5), as PyTorch).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double flops(const Tensor&, const Tensor& out) const override { return 2.0 * in_features * out.numel(); }
  int64_t in_features, out_features;
  Tensor weight, bias;
};

struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
  bool bias = true;
};

// weight [out, in/groups, kh, kw], bias [out]; default init as Linear with fan_in = in/groups·kh·kw.
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel_size, Conv2dOptions o = {});
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Conv2dOptions o = {})
      : Conv2d(in_channels, out_channels, {kernel_size, kernel_size}, o) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double flops(const Tensor&, const Tensor& out) const override {
    return 2.0 * (in_channels / options.groups) * kernel_size[0] * kernel_size[1] * out.numel();
  }
  int64_t in_channels, out_channels;
  std::array<int64_t, 2> kernel_size;
  Conv2dOptions options;
  Tensor weight, bias;
};

// Batch statistics in training (and a running-average update with `momentum`; num_batches_tracked
// counts the updates), running statistics in evaluation. weight = 1, bias = 0, running_mean = 0,
// running_var = 1. Works on [N, C, H, W] (BatchNorm2d) and [N, C] / [N, C, L] (BatchNorm1d).
class BatchNorm : public Module {
 public:
  BatchNorm(const char* type_name, int64_t num_features, double eps, double momentum, bool affine,
            bool track_running_stats);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  int64_t num_features;
  double eps, momentum;
  bool affine, track_running_stats;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true)
      : BatchNorm("BatchNorm2d", num_features, eps, momentum, affine, track_running_stats) {}
};
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true)
      : BatchNorm("BatchNorm1d", num_features, eps, momentum, affine, track_running_stats) {}
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool elementwise_affine = true)
      : LayerNorm(Shape{dim}, eps, elementwise_affine) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Shape normalized_shape;
  double eps;
  Tensor weight, bias;
};

// weight [num, dim] ~ N(0, 1); the padding_idx row starts at zero and gets no gradient.
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, int64_t padding_idx = -1);
  Tensor forward(const Tensor& ids) override;
  std::string extra_repr() const override;
  int64_t num_embeddings, embedding_dim, padding_idx;
  Tensor weight;
};

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;  // identity in evaluation
  std::string extra_repr() const override;
  double p;
};

class Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& x) override { return x; }
};

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : Module("Flatten"), start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  int64_t start_dim, end_dim;
};

// Parameter-free element-wise activations.
enum class Activation { ReLU, ReLU6, GELU, GELUTanh, Tanh, Sigmoid, SiLU };
Tensor activate(Activation a, const Tensor& x);
Activation activation_from_name(const std::string& name);  // "relu", "gelu", "gelu_tanh", ...

class ActivationModule : public Module {
 public:
  explicit ActivationModule(Activation a);
  Tensor forward(const Tensor& x) override { return activate(kind, x); }
  Activation kind;
};
inline std::shared_ptr<ActivationModule> ReLU() { return std::make_shared<ActivationModule>(Activation::ReLU); }
inline std::shared_ptr<ActivationModule> ReLU6() { return std::make_shared<ActivationModule>(Activation::ReLU6); }
inline std::shared_ptr<ActivationModule> GELU() { return std::make_shared<ActivationModule>(Activation::GELU); }
inline std::shared_ptr<ActivationModule> Tanh() { return std::make_shared<ActivationModule>(Activation::Tanh); }

struct Pool2dOptions {
  std::array<int64_t, 2> stride{0, 0};  // 0: the kernel size, as PyTorch's default
  std::array<int64_t, 2> padding{0, 0};
  bool ceil_mode = false;
};

class MaxPool2d : public Module {
 public:
  MaxPool2d(std::array<int64_t, 2> kernel_size, Pool2dOptions o = {});
  explicit MaxPool2d(int64_t k, Pool2dOptions o = {}) : MaxPool2d({k, k}, o) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::array<int64_t, 2> kernel_size;
  Pool2dOptions options;
};

class AvgPool2d : public Module {
 public:
  AvgPool2d(std::array<int64_t, 2> kernel_size, Pool2dOptions o = {});
  explicit AvgPool2d(int64_t k, Pool2dOptions o = {}) : AvgPool2d({k, k}, o) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::array<int64_t, 2> kernel_size;
  Pool2dOptions options;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(std::array<int64_t, 2> output_size);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::array<int64_t, 2> output_size;
};

}  // namespace mm::nn
