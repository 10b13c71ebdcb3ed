// The fusion modules (models/fusion.h) against PyTorch: tests/golden/fusion/<module>_<mode>.safetensors,
// written by tools/golden/fusion.py. Each module × {features [B, d], tokens [B, N, d] with a text
// padding mask}: the fused output (relative error ≤ 1e-4) and the gradients of both inputs and every
// parameter (≤ 1e-3) for L = sum(fused · R).
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "models/fusion.h"
#include "tests/common/expect_error.h"
#include "tests/models/golden.h"

namespace mm::testing {
namespace {

struct FusionGolden {
  std::map<std::string, Tensor> all;
  nlohmann::json config;
  explicit FusionGolden(const std::string& name) {
    const std::string path = std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/fusion/" + name + ".safetensors";
    all = safetensors::load_all(path);
    config = nlohmann::json::parse(safetensors::File::open(path).metadata().at("config"));
  }
  const Tensor& at(const std::string& key) const { return all.at(key); }
  nn::NamedTensors group(const std::string& prefix) const {
    nn::NamedTensors out;
    for (const auto& [k, v] : all)
      if (k.rfind(prefix, 0) == 0) out.emplace_back(k.substr(prefix.size()), v);
    return out;
  }
};

std::shared_ptr<models::Fusion> build(const nlohmann::json& c) {
  const std::string m = c["module"];
  const int64_t d = c["dim"], heads = c["heads"];
  if (m == "concat") return std::make_shared<models::ConcatFusion>(d, d);
  if (m == "weighted_sum") return std::make_shared<models::WeightedSumFusion>(d);
  if (m == "attention") return std::make_shared<models::AttentionFusion>(d, c["attention_dim"].get<int64_t>());
  if (m == "hierarchical") return std::make_shared<models::HierarchicalCrossModalAttention>(d, heads);
  return std::make_shared<models::PerceiverFusion>(d, c["num_latents"].get<int64_t>(), heads,
                                                   c["depth"].get<int64_t>());
}

class FusionGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FusionGoldenTest, MatchesPyTorch) {
  FusionGolden g(GetParam());
  auto m = build(g.config);
  m->load_state_dict(g.group("weights/"));
  Tensor image = g.at("inputs/image").detach().set_requires_grad(true);
  Tensor text = g.at("inputs/text").detach().set_requires_grad(true);
  Tensor mask = g.all.count("inputs/text_mask") ? g.at("inputs/text_mask") : Tensor();
  Tensor fused = m->fuse({image, text, mask});
  EXPECT_MATCHES_GOLDEN(fused, g.at("outputs/fused"), 1e-4, "fused");
  sum(mul(fused, g.at("loss_weights/fused"))).backward();
  EXPECT_MATCHES_GOLDEN(image.grad(), g.at("grads/inputs/image"), 1e-3, "d image");
  EXPECT_MATCHES_GOLDEN(text.grad(), g.at("grads/inputs/text"), 1e-3, "d text");
  auto params = m->named_parameters();
  EXPECT_EQ(params.size(), g.group("grads/params/").size());
  for (auto& [name, p] : params) EXPECT_MATCHES_GOLDEN(p.grad(), g.at("grads/params/" + name), 1e-3, "d " + name);
}

std::vector<std::string> golden_cases() {
  std::vector<std::string> r;
  for (const char* m : {"concat", "weighted_sum", "attention", "hierarchical", "perceiver"})
    for (const char* mode : {"features", "tokens"}) r.push_back(std::string(m) + "_" + mode);
  return r;
}

INSTANTIATE_TEST_SUITE_P(AllFusions, FusionGoldenTest, ::testing::ValuesIn(golden_cases()),
                         [](const auto& info) { return info.param; });

// Padding really is ignored: changing a padded text token changes nothing.
TEST(Fusion, PaddedTextTokensDoNotMatter) {
  for (const char* name : {"concat", "weighted_sum", "attention", "hierarchical", "perceiver"}) {
    auto m = models::make_fusion(name, 8, 2);
    Tensor image = randn({2, 3, 8}), text = randn({2, 4, 8});
    Tensor mask = Tensor::from_vector<int64_t>({1, 1, 0, 0, 1, 1, 1, 1}, {2, 4});
    Tensor a = m->fuse({image, text, mask});
    Tensor text2 = add(text, mul(to(eq(unsqueeze(mask, 2), 0.0), DType::F32), 100.0));
    Tensor b = m->fuse({image, text2, mask});
    EXPECT_LE(relative_error(b, a), 1e-6) << name;
    EXPECT_EQ(a.shape(), Shape({2, m->out_dim()})) << name;
  }
}

TEST(Fusion, BadInputsNameTheModuleAndShapes) {
  auto m = models::make_fusion("attention", 8);
  EXPECT_ERROR_CONTAINS(m->fuse({randn({2, 8}), randn({3, 8}), {}}), ErrorKind::Shape, "AttentionFusion",
                        "batch sizes differ");
  EXPECT_ERROR_CONTAINS(m->fuse({randn({2, 8}), randn({2, 6}), {}}), ErrorKind::Shape, "AttentionFusion", "text",
                        "8 features", "[2,6]");
  EXPECT_ERROR_CONTAINS(m->fuse({randn({8}), randn({2, 8}), {}}), ErrorKind::Shape, "image", "[B, d]");
  auto h = models::make_fusion("hierarchical", 8, 2);
  EXPECT_ERROR_CONTAINS(h->fuse({randn({2, 3, 8}), randn({2, 4, 8}), ops::ones({2, 3})}), ErrorKind::Shape,
                        "text_mask", "[2,4]");
  EXPECT_ERROR_CONTAINS(models::make_fusion("sum", 8), ErrorKind::Value, "unknown fusion 'sum'", "perceiver");
}

}  // namespace
}  // namespace mm::testing
