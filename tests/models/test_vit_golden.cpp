// ViT against torchvision's VisionTransformer (tests/golden/towers/vit.safetensors): strict load of the
// torchvision state dict, tokens and the class-token feature (≤ 1e-4), input and parameter gradients
// (≤ 1e-3); and the presets' parameter counts.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "models/vit.h"
#include "ops/creation.h"
#include "tests/models/golden.h"

namespace mm::models {
namespace {

using testing::Golden;

TEST(ViTGolden, MatchesTorchvisionVisionTransformer) {
  Golden g("vit");
  VisionTransformer m(testing::vit_config(g));
  m.load_state_dict(g.group("weights/"));
  m.eval();
  Tensor x = g.at("inputs/pixel_values").detach().set_requires_grad(true);
  Tensor tokens = m.forward_tokens(x);
  Tensor pooled = select(tokens, 1, 0);
  EXPECT_MATCHES_GOLDEN(tokens, g.at("outputs/tokens"), 1e-4, "tokens");
  EXPECT_MATCHES_GOLDEN(pooled, g.at("outputs/pooled"), 1e-4, "pooled");
  add(sum(mul(tokens, g.at("loss_weights/tokens"))), sum(mul(pooled, g.at("loss_weights/pooled")))).backward();
  EXPECT_MATCHES_GOLDEN(x.grad(), g.at("grads/inputs/pixel_values"), 1e-3, "d/dx");
  int checked = 0;
  for (const auto& [name, want] : g.group("grads/params/"))
    for (const auto& [pname, p] : m.named_parameters())
      if (pname == name) {
        EXPECT_MATCHES_GOLDEN(p.grad(), want, 1e-3, "d/d" + name);
        ++checked;
      }
  EXPECT_EQ(checked, static_cast<int>(g.group("grads/params/").size()));
}

TEST(ViT, PresetSizesAndPooling) {
  // torchvision.models.vit_b_16() has 86,567,656 parameters with its 1000-class head; without it,
  // 86,567,656 − (768·1000 + 1000) = 85,798,656. Counted here from the architecture for ViT-Ti/16.
  ViTConfig ti = ViTConfig::named("vit_ti_16");
  const int64_t d = 192, n = 196 + 1;
  const int64_t per_block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d);
  EXPECT_EQ(VisionTransformer(ti).num_parameters(), (3 * 16 * 16 * d + d) + d + n * d + 12 * per_block + 2 * d);
  ViTConfig small;
  small.image_size = 32;
  small.patch_size = 8;
  small.num_layers = 1;
  small.num_heads = 2;
  small.hidden_dim = 8;
  small.mlp_dim = 16;
  small.pooling = "mean";
  VisionTransformer m(small);
  Tensor x = ops::randn({2, 3, 32, 32});
  Tensor t = m.forward_tokens(x);
  EXPECT_EQ(t.shape(), Shape({2, 17, 8}));
  EXPECT_EQ(m(x).to_double_vector(), mean(slice(t, 1, 1, 17), {1}).to_double_vector());
}

}  // namespace
}  // namespace mm::models
