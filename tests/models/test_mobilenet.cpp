// MobileNetV1: the paper's architecture (Table 1): parameter count at α = 1, the 1024-d features,
// width multipliers, depthwise convolutions, and a gradient through the whole network.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "models/mobilenet.h"
#include "ops/creation.h"

namespace mm::models {
namespace {

TEST(MobileNetV1, PaperArchitectureAtWidthOne) {
  MobileNetV1Config c;
  c.num_classes = 1000;
  MobileNetV1 m(c);
  // Paper, Table 4: 4.2 million parameters. Counted exactly: convolutions 3,185,088 + BatchNorm
  // 2·10,944 + classifier 1,025,000 (1024·1000 + 1000) = 4,231,976.
  EXPECT_EQ(m.num_parameters(), 4231976);
  EXPECT_EQ(m.layers->size(), 14u);
  nn::Conv2d* dw = nullptr;
  for (auto& [name, mod] : m.named_modules())
    if (name == "features.1.dw_conv") dw = dynamic_cast<nn::Conv2d*>(mod);
  ASSERT_NE(dw, nullptr);
  EXPECT_EQ(dw->options.groups, 32);  // features.1.dw_conv: depthwise over the stem's 32 channels
}

TEST(MobileNetV1, FeaturesAndWidthMultiplier) {
  MobileNetV1Config c;
  c.width_multiplier = 0.25;
  MobileNetV1 m(c);
  Tensor x = ops::randn({2, 3, 64, 64}).set_requires_grad(true);
  EXPECT_EQ(m.forward_tokens(x).shape(), Shape({2, 256, 2, 2}));
  Tensor f = m(x);
  EXPECT_EQ(f.shape(), Shape({2, 256}));
  sum(f).backward();
  EXPECT_TRUE(x.grad().defined());
  for (auto& [name, p] : m.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
  EXPECT_EQ(MobileNetV1Config{.width_multiplier = 0.1}.channels(32), 8);
}

}  // namespace
}  // namespace mm::models
