// MobileNetV1 (Howard et al. 2017, "MobileNets", Table 1): a 3×3/2 stem convolution, then 13
// depthwise-separable blocks (3×3 depthwise conv → BN → ReLU6, 1×1 pointwise conv → BN → ReLU6), global
// average pooling: 1024·α features. The width multiplier α scales every channel count (rounded to a
// multiple of 8, at least 8, as common implementations do). There is no torchvision MobileNetV1, so
// the names are ours: features.0 (stem: conv, bn) and features.1..13 (dw_conv, dw_bn, pw_conv, pw_bn).
#pragma once

#include <memory>

#include "nn/containers.h"
#include "nn/layers.h"
#include "models/tower.h"

namespace mm::models {

struct MobileNetV1Config {
  double width_multiplier = 1.0;
  int64_t in_channels = 3;
  int64_t num_classes = 0;  // 0: forward returns the pooled features
  bool relu6 = true;        // ReLU6 as in the paper's reference code; false: plain ReLU
  bool sync_batch_norm = false;  // SyncBatchNorm (global-batch statistics under mpirun)
  int64_t channels(int64_t base) const;
  int64_t feature_dim() const { return channels(1024); }
};

class MobileNetV1 : public ImageTower {
 public:
  explicit MobileNetV1(MobileNetV1Config config);
  Tensor forward(const Tensor& x) override;  // [B, 1024·α] features (or logits)
  Tensor forward_tokens(const Tensor& x);    // the last feature map [B, 1024·α, h, w]
  Tensor features(const Tensor& images) override;
  Tokens tokens(const Tensor& images) override;  // [B, h·w, 1024·α]
  int64_t feature_dim() const override { return config_.feature_dim(); }
  bool is_head_key(const std::string& key) const override { return key.rfind("classifier.", 0) == 0; }
  const MobileNetV1Config& config() const { return config_; }

  std::shared_ptr<nn::Sequential> layers;  // registered as "features"
  std::shared_ptr<nn::Linear> classifier;

 private:
  MobileNetV1Config config_;
};

}  // namespace mm::models
