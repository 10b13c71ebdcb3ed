#include "models/resnet.h"

#include "autograd/functions.h"
#include "nn/init.h"
#include "nn/sync_batch_norm.h"
#include "runtime/error.h"

namespace mm::models {

using nn::Conv2d;
using nn::Conv2dOptions;

namespace {

std::shared_ptr<Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride) {
  return std::make_shared<Conv2d>(in, out, k, Conv2dOptions{.stride = {stride, stride}, .padding = {k / 2, k / 2}, .bias = false});
}

}  // namespace

ResNetConfig ResNetConfig::named(const std::string& name) {
  if (name == "resnet18") return resnet18();
  if (name == "resnet34") return resnet34();
  if (name == "resnet50") return resnet50();
  if (name == "resnet101") return resnet101();
  fail(ErrorKind::Value, "ResNet", "unknown preset '", name, "' (resnet18, resnet34, resnet50, resnet101)");
}

BasicBlock::BasicBlock(int64_t in, int64_t width, int64_t stride, std::shared_ptr<nn::Sequential> ds, bool sync)
    : Module("BasicBlock") {
  conv1 = register_module("conv1", conv(in, width, 3, stride));
  bn1 = register_module("bn1", nn::make_batch_norm2d(width, sync));
  conv2 = register_module("conv2", conv(width, width, 3, 1));
  bn2 = register_module("bn2", nn::make_batch_norm2d(width, sync));
  if (ds) downsample = register_module("downsample", ds);
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = relu((*bn1)((*conv1)(x)));
  out = (*bn2)((*conv2)(out));
  return relu(add(out, downsample ? (*downsample)(x) : x));
}

Bottleneck::Bottleneck(int64_t in, int64_t width, int64_t stride, std::shared_ptr<nn::Sequential> ds, bool sync)
    : Module("Bottleneck") {
  conv1 = register_module("conv1", conv(in, width, 1, 1));
  bn1 = register_module("bn1", nn::make_batch_norm2d(width, sync));
  conv2 = register_module("conv2", conv(width, width, 3, stride));  // torchvision v1.5: stride here
  bn2 = register_module("bn2", nn::make_batch_norm2d(width, sync));
  conv3 = register_module("conv3", conv(width, width * 4, 1, 1));
  bn3 = register_module("bn3", nn::make_batch_norm2d(width * 4, sync));
  if (ds) downsample = register_module("downsample", ds);
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor out = relu((*bn1)((*conv1)(x)));
  out = relu((*bn2)((*conv2)(out)));
  out = (*bn3)((*conv3)(out));
  return relu(add(out, downsample ? (*downsample)(x) : x));
}

ResNet::ResNet(ResNetConfig c) : ImageTower("ResNet"), config_(c) {
  for (int s = 0; s < 4; ++s)
    MM_CHECK(c.layers[s] > 0 && c.widths[s] > 0, Value, "ResNet", "stage ", s + 1, " needs positive depth and width");
  const int64_t stem = c.widths[0];
  conv1 = register_module("conv1", std::make_shared<Conv2d>(c.in_channels, stem, 7,
                                                            Conv2dOptions{.stride = {2, 2}, .padding = {3, 3}, .bias = false}));
  bn1 = register_module("bn1", nn::make_batch_norm2d(stem, c.sync_batch_norm));
  register_module("relu", nn::ReLU());
  maxpool = register_module("maxpool", std::make_shared<nn::MaxPool2d>(3, nn::Pool2dOptions{.stride = {2, 2}, .padding = {1, 1}}));
  int64_t in = stem;
  for (int s = 0; s < 4; ++s) {
    auto stage = std::make_shared<nn::Sequential>();
    const int64_t width = c.widths[s], out = width * c.expansion();
    for (int64_t b = 0; b < c.layers[s]; ++b) {
      const int64_t stride = (b == 0 && s > 0) ? 2 : 1;
      std::shared_ptr<nn::Sequential> ds;
      if (b == 0 && (stride != 1 || in != out))
        ds = std::make_shared<nn::Sequential>(
            std::initializer_list<nn::ModulePtr>{conv(in, out, 1, stride), nn::make_batch_norm2d(out, c.sync_batch_norm)});
      if (c.block == ResNetConfig::Block::Basic)
        stage->push_back(std::make_shared<BasicBlock>(in, width, stride, ds, c.sync_batch_norm));
      else
        stage->push_back(std::make_shared<Bottleneck>(in, width, stride, ds, c.sync_batch_norm));
      in = out;
    }
    stages.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(std::array<int64_t, 2>{1, 1}));
  if (c.num_classes > 0) fc = register_module("fc", std::make_shared<nn::Linear>(in, c.num_classes));
  // torchvision's initialisation: kaiming_normal_(fan_out, relu) for convs; BN weight 1, bias 0.
  apply([&c](nn::Module& m) {
    if (auto* cv = dynamic_cast<Conv2d*>(&m)) nn::init::kaiming_normal_(cv->weight, 0.0, "fan_out", "relu");
    if (c.zero_init_residual) {
      if (auto* bb = dynamic_cast<BasicBlock*>(&m)) nn::init::zeros_(bb->bn2->weight);
      if (auto* bt = dynamic_cast<Bottleneck*>(&m)) nn::init::zeros_(bt->bn3->weight);
    }
  });
}

Tensor ResNet::forward_tokens(const Tensor& x) {
  MM_CHECK(x.dim() == 4 && x.shape()[1] == config_.in_channels, Shape, "ResNet", "expected [B, ",
           config_.in_channels, ", H, W] images, got ", shape_str(x.shape()));
  Tensor h = (*maxpool)(relu((*bn1)((*conv1)(x))));
  for (auto& stage : stages) h = (*stage)(h);
  return h;
}

Tensor ResNet::features(const Tensor& x) { return flatten(adaptive_avg_pool2d(forward_tokens(x), {1, 1}), 1); }

Tokens ResNet::tokens(const Tensor& x) { return {permute(flatten(forward_tokens(x), 2), {0, 2, 1}), {}}; }

Tensor ResNet::forward(const Tensor& x) {
  Tensor pooled = features(x);
  return fc ? (*fc)(pooled) : pooled;
}

}  // namespace mm::models
