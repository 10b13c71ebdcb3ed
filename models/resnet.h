// ResNet with torchvision's structure and parameter names (torchvision.models.resnet): the stem
// conv1 (7×7/2) → bn1 → relu → maxpool (3×3/2), four stages layer1..layer4 of BasicBlock (ResNet-18/34)
// or Bottleneck (ResNet-50/101; stride on the 3×3 conv, "ResNet v1.5"), global average pooling, and
// an optional classifier `fc`. A torchvision state dict loads as is (strict).
//
// Feature mode: forward(x) → pooled features [B, C] (C = widths[3]·expansion), or logits when
// num_classes > 0. Token mode: forward_tokens(x) → the last stage's grid [B, C, h, w], for
// cross-attention (flatten to [B, h·w, C] there).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "nn/containers.h"
#include "nn/layers.h"
#include "models/tower.h"

namespace mm::models {

struct ResNetConfig {
  enum class Block { Basic, Bottleneck };
  Block block = Block::Basic;
  std::array<int64_t, 4> layers{2, 2, 2, 2};
  std::array<int64_t, 4> widths{64, 128, 256, 512};  // torchvision's; smaller for tests
  int64_t in_channels = 3;
  int64_t num_classes = 0;  // 0: no `fc`, forward returns pooled features
  bool zero_init_residual = false;
  // SyncBatchNorm (nn/sync_batch_norm.h: statistics of the global batch under mpirun) instead of
  // per-process BatchNorm2d; the same parameter and buffer names either way.
  bool sync_batch_norm = false;

  static ResNetConfig resnet18() { return {}; }
  static ResNetConfig resnet34() { return {Block::Basic, {3, 4, 6, 3}}; }
  static ResNetConfig resnet50() { return {Block::Bottleneck, {3, 4, 6, 3}}; }
  static ResNetConfig resnet101() { return {Block::Bottleneck, {3, 4, 23, 3}}; }
  // "resnet18" | "resnet34" | "resnet50" | "resnet101"
  static ResNetConfig named(const std::string& name);
  int64_t expansion() const { return block == Block::Basic ? 1 : 4; }
  int64_t feature_dim() const { return widths[3] * expansion(); }
};

class BasicBlock : public nn::Module {
 public:
  BasicBlock(int64_t in, int64_t width, int64_t stride, std::shared_ptr<nn::Sequential> downsample,
             bool sync_batch_norm = false);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::BatchNorm> bn1, bn2;
  std::shared_ptr<nn::Sequential> downsample;  // null: identity shortcut
};

class Bottleneck : public nn::Module {
 public:
  Bottleneck(int64_t in, int64_t width, int64_t stride, std::shared_ptr<nn::Sequential> downsample,
             bool sync_batch_norm = false);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
  std::shared_ptr<nn::BatchNorm> bn1, bn2, bn3;
  std::shared_ptr<nn::Sequential> downsample;
};

class ResNet : public ImageTower {
 public:
  explicit ResNet(ResNetConfig config);
  Tensor forward(const Tensor& x) override;  // pooled features, or logits with a classifier
  Tensor forward_tokens(const Tensor& x);    // the last stage's feature map [B, C, h, w]
  Tensor features(const Tensor& images) override;
  Tokens tokens(const Tensor& images) override;  // [B, h·w, C]
  int64_t feature_dim() const override { return config_.feature_dim(); }
  bool is_head_key(const std::string& key) const override { return key.rfind("fc.", 0) == 0; }
  const ResNetConfig& config() const { return config_; }

  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm> bn1;
  std::shared_ptr<nn::MaxPool2d> maxpool;
  std::vector<std::shared_ptr<nn::Sequential>> stages;  // layer1..layer4
  std::shared_ptr<nn::Linear> fc;                       // null without a classifier

 private:
  ResNetConfig config_;
};

}  // namespace mm::models
