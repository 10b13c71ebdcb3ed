#include "models/mobilenet.h"

#include <algorithm>
#include <cmath>

#include "autograd/functions.h"
#include "nn/init.h"
#include "nn/sync_batch_norm.h"
#include "runtime/error.h"

namespace mm::models {

namespace {

// (output channels, stride) of the 13 depthwise-separable blocks, from the paper's Table 1.
constexpr std::pair<int64_t, int64_t> kBlocks[] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},
                                                   {512, 2}, {512, 1}, {512, 1}, {512, 1}, {512, 1},
                                                   {512, 1}, {1024, 2}, {1024, 1}};

// conv → BN → activation, as named children of one block.
class ConvBnAct : public nn::Module {
 public:
  ConvBnAct(const char* type, nn::Activation act, bool sync_bn) : Module(type), act(act), sync_bn(sync_bn) {}
  void add(const std::string& conv_name, const std::string& bn_name, std::shared_ptr<nn::Conv2d> c) {
    convs.push_back(register_module(conv_name, c));
    bns.push_back(register_module(bn_name, nn::make_batch_norm2d(c->out_channels, sync_bn)));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = x;
    for (size_t i = 0; i < convs.size(); ++i) h = nn::activate(act, (*bns[i])((*convs[i])(h)));
    return h;
  }
  nn::Activation act;
  bool sync_bn;
  std::vector<std::shared_ptr<nn::Conv2d>> convs;
  std::vector<std::shared_ptr<nn::BatchNorm>> bns;
};

}  // namespace

int64_t MobileNetV1Config::channels(int64_t base) const {
  const double c = static_cast<double>(base) * width_multiplier;
  return std::max<int64_t>(8, static_cast<int64_t>(std::llround(c / 8.0)) * 8);
}

MobileNetV1::MobileNetV1(MobileNetV1Config c) : ImageTower("MobileNetV1"), config_(c) {
  MM_CHECK(c.width_multiplier > 0, Value, "MobileNetV1", "width_multiplier must be positive, got ", c.width_multiplier);
  const nn::Activation act = c.relu6 ? nn::Activation::ReLU6 : nn::Activation::ReLU;
  layers = register_module("features", std::make_shared<nn::Sequential>());
  auto stem = std::make_shared<ConvBnAct>("ConvBnAct", act, config_.sync_batch_norm);
  int64_t in = c.channels(32);
  stem->add("conv", "bn",
            std::make_shared<nn::Conv2d>(c.in_channels, in, 3,
                                         nn::Conv2dOptions{.stride = {2, 2}, .padding = {1, 1}, .bias = false}));
  layers->push_back(stem);
  for (auto [base, stride] : kBlocks) {
    const int64_t out = c.channels(base);
    auto block = std::make_shared<ConvBnAct>("DepthwiseSeparable", act, config_.sync_batch_norm);
    block->add("dw_conv", "dw_bn",
               std::make_shared<nn::Conv2d>(
                   in, in, 3, nn::Conv2dOptions{.stride = {stride, stride}, .padding = {1, 1}, .groups = in, .bias = false}));
    block->add("pw_conv", "pw_bn", std::make_shared<nn::Conv2d>(in, out, 1, nn::Conv2dOptions{.bias = false}));
    layers->push_back(block);
    in = out;
  }
  if (c.num_classes > 0) classifier = register_module("classifier", std::make_shared<nn::Linear>(in, c.num_classes));
  apply([](nn::Module& m) {
    if (auto* cv = dynamic_cast<nn::Conv2d*>(&m)) nn::init::kaiming_normal_(cv->weight, 0.0, "fan_out", "relu");
  });
}

Tensor MobileNetV1::forward_tokens(const Tensor& x) {
  MM_CHECK(x.dim() == 4 && x.shape()[1] == config_.in_channels, Shape, "MobileNetV1", "expected [B, ",
           config_.in_channels, ", H, W] images, got ", shape_str(x.shape()));
  return (*layers)(x);
}

Tensor MobileNetV1::features(const Tensor& x) {
  return flatten(adaptive_avg_pool2d(forward_tokens(x), {1, 1}), 1);
}

Tokens MobileNetV1::tokens(const Tensor& x) { return {permute(flatten(forward_tokens(x), 2), {0, 2, 1}), {}}; }

Tensor MobileNetV1::forward(const Tensor& x) {
  Tensor pooled = features(x);
  return classifier ? (*classifier)(pooled) : pooled;
}

}  // namespace mm::models
