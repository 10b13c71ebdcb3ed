// ResNet: torchvision's structure — parameter counts of the standard presets, names, shapes in both
// modes. (Values against torchvision itself: tests/models/test_towers_golden.cpp.)
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "models/resnet.h"
#include "ops/creation.h"
#include "tests/common/expect_error.h"

namespace mm::models {
namespace {

TEST(ResNet, PresetsHaveTorchvisionParameterCounts) {
  // torchvision.models.resnet18() / resnet50() with the 1000-class head.
  auto c18 = ResNetConfig::resnet18();
  c18.num_classes = 1000;
  EXPECT_EQ(ResNet(c18).num_parameters(), 11689512);
  auto c50 = ResNetConfig::resnet50();
  c50.num_classes = 1000;
  EXPECT_EQ(ResNet(c50).num_parameters(), 25557032);
}

TEST(ResNet, NamesFollowTorchvision) {
  ResNetConfig c = ResNetConfig::resnet50();
  c.widths = {4, 8, 8, 8};
  c.layers = {1, 2, 1, 1};
  ResNet m(c);
  std::vector<std::string> names;
  for (auto& [n, t] : m.state_dict()) names.push_back(n);
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  for (const char* n : {"conv1.weight", "bn1.running_var", "layer1.0.conv3.weight", "layer1.0.downsample.0.weight",
                        "layer1.0.downsample.1.num_batches_tracked", "layer2.1.bn2.bias", "layer4.0.downsample.1.weight"})
    EXPECT_TRUE(has(n)) << n;
  EXPECT_FALSE(has("layer2.1.downsample.0.weight"));
  EXPECT_FALSE(has("fc.weight"));
}

TEST(ResNet, FeatureAndTokenModes) {
  ResNetConfig c;
  c.widths = {4, 8, 16, 32};
  ResNet m(c);
  Tensor x = ops::randn({2, 3, 64, 48});
  EXPECT_EQ(m.forward_tokens(x).shape(), Shape({2, 32, 2, 2}));
  EXPECT_EQ(m(x).shape(), Shape({2, 32}));
  c.num_classes = 7;
  EXPECT_EQ(ResNet(c)(x).shape(), Shape({2, 7}));
  EXPECT_ERROR_CONTAINS(m(ops::randn({2, 1, 32, 32})), ErrorKind::Shape, "ResNet", "[B, 3, H, W]");
}

}  // namespace
}  // namespace mm::models
