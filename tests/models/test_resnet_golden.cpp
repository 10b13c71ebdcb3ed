// ResNet against torchvision (tests/golden/towers/resnet_*.safetensors, tools/golden/towers.py):
// torchvision state dicts load strictly; features, feature maps, input and parameter gradients match
// (forward ≤ 1e-4, gradients ≤ 1e-3 relative), in eval mode and — with batch statistics and the
// running-statistic updates — in train mode.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "models/resnet.h"
#include "tests/models/golden.h"

namespace mm::models {
namespace {

using testing::Golden;

void check_against(const std::string& file) {
  Golden g(file);
  ResNet m(testing::resnet_config(g));
  m.load_state_dict(g.group("weights/"));  // strict: torchvision's names, all of them
  m.train(g.mode == "train");
  Tensor x = g.at("inputs/pixel_values").detach().set_requires_grad(true);
  Tensor fmap = m.forward_tokens(x);
  Tensor pooled = flatten(adaptive_avg_pool2d(fmap, {1, 1}), 1);
  EXPECT_MATCHES_GOLDEN(fmap, g.at("outputs/feature_map"), 1e-4, file + " feature map");
  EXPECT_MATCHES_GOLDEN(pooled, g.at("outputs/pooled"), 1e-4, file + " pooled");
  Tensor loss = add(sum(mul(fmap, g.at("loss_weights/feature_map"))), sum(mul(pooled, g.at("loss_weights/pooled"))));
  loss.backward();
  EXPECT_MATCHES_GOLDEN(x.grad(), g.at("grads/inputs/pixel_values"), 1e-3, file + " d/dx");
  auto params = m.named_parameters();
  int checked = 0;
  for (const auto& [name, want] : g.group("grads/params/"))
    for (const auto& [pname, p] : params)
      if (pname == name) {
        EXPECT_MATCHES_GOLDEN(p.grad(), want, 1e-3, file + " d/d" + name);
        ++checked;
      }
  EXPECT_GE(checked, 4);
  for (const auto& [name, want] : g.group("outputs/running/"))
    for (const auto& [bname, b] : m.named_buffers())
      if (bname == name) EXPECT_MATCHES_GOLDEN(b, want, 1e-4, file + " " + name + " after the forward");
}

TEST(ResNetGolden, BasicBlocksEval) { check_against("resnet_basic"); }
TEST(ResNetGolden, BottlenecksEval) { check_against("resnet_bottleneck"); }
TEST(ResNetGolden, BasicBlocksTrainWithBatchStatistics) {
  Golden g("resnet_basic_train");
  EXPECT_FALSE(g.group("outputs/running/").empty());
  check_against("resnet_basic_train");
}

}  // namespace
}  // namespace mm::models
