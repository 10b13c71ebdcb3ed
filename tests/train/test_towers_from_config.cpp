// Configs → towers → weights → embeddings: parse errors name file:line:col; every architecture builds
// from its config; torchvision and Hugging Face checkpoints (with their classifier/task heads and
// prefixes) load strictly and give PyTorch's features (the golden files); our own naming round-trips;
// embeddings are unit vectors unless raw.
#include <gtest/gtest.h>

#include <cmath>
#include <unistd.h>

#include <filesystem>

#include "autograd/functions.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "runtime/safetensors.h"
#include "tests/common/expect_error.h"
#include "tests/models/golden.h"
#include "train/config.h"
#include "train/embed.h"
#include "train/towers.h"

namespace mm::train {
namespace {

using mm::testing::Golden;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("mmalign_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

TEST(Config, ErrorsNameFileLineAndColumn) {
  EXPECT_ERROR_CONTAINS(parse_config("model {\n  image { resnett {} }\n}\n", "a.pbtxt"), ErrorKind::Value,
                        "a.pbtxt:2:19", "no field named \"resnett\"");
  EXPECT_ERROR_CONTAINS(parse_config("model { image { image_size: \"big\" } }", "b.pbtxt"), ErrorKind::Value,
                        "b.pbtxt:1:29");
  EXPECT_ERROR_CONTAINS(load_config("/nonexistent/c.pbtxt"), ErrorKind::Value, "cannot open", "/nonexistent/c.pbtxt");
  EXPECT_ERROR_CONTAINS(Towers(parse_config("model { image { } }").model()), ErrorKind::Value, "one of resnet");
  EXPECT_ERROR_CONTAINS(Towers(parse_config("model { image { resnet { widths: [1, 2] } } }").model()),
                        ErrorKind::Value, "resnet.widths needs 4 values");
}

TEST(Config, EveryArchitectureBuilds) {
  Towers t(parse_config(R"(model {
    image { vit { preset: "vit_ti_16" patch_size: 8 num_layers: 1 hidden_dim: 24 num_heads: 2 mlp_dim: 32 } image_size: 32 }
    text { bert { preset: "tiny" vocab_size: 60 num_layers: 1 hidden_size: 16 num_heads: 2 intermediate_size: 32 pooling: "mean" } }
  })").model());
  EXPECT_EQ(t.image->features(ops::randn({2, 3, 32, 32})).shape(), Shape({2, 24}));
  Tensor ids = ops::randint(0, 60, {2, 7});
  Tensor mask = Tensor::from_vector<int64_t>({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, {2, 7});
  EXPECT_EQ(t.text->features(ids, mask).shape(), Shape({2, 16}));
  EXPECT_EQ(t.text->tokens(ids, mask).values.shape(), Shape({2, 7, 16}));
  Towers m(parse_config("model { image { mobilenet_v1 { width_multiplier: 0.25 } image_size: 64 } }").model());
  EXPECT_EQ(m.image->features(ops::randn({1, 3, 64, 64})).shape(), Shape({1, 256}));
  EXPECT_EQ(m.text, nullptr);
}

TEST(Weights, TorchvisionCheckpointLoadsAndGivesTorchvisionFeatures) {
  Golden g("resnet_basic");
  const std::string path = temp_path("resnet.safetensors");
  safetensors::save(path, g.group("weights/"));  // torchvision's state dict, fc.* included
  Towers t(parse_config(R"(model { image { resnet { preset: "resnet18" widths: [8, 16, 32, 64] } image_size: 64 } })")
               .model());
  load_weights(t, path, "torchvision");
  t.eval();
  nn::NamedTensors raw = embed(t, {{"pixel_values", g.at("inputs/pixel_values")}}, /*raw=*/true);
  ASSERT_EQ(raw[0].first, "image_embeds");
  EXPECT_MATCHES_GOLDEN(raw[0].second, g.at("outputs/pooled"), 1e-4, "raw image features");
  nn::NamedTensors unit = embed(t, {{"pixel_values", g.at("inputs/pixel_values")}}, /*raw=*/false);
  for (double n : norm(unit[0].second, 2, {1}).to_double_vector()) EXPECT_NEAR(n, 1.0, 1e-6);
  // A checkpoint missing a tensor is refused, naming it.
  nn::NamedTensors partial = g.group("weights/");
  const std::string dropped = partial[3].first;
  partial.erase(partial.begin() + 3);
  safetensors::save(path, partial);
  EXPECT_ERROR_CONTAINS(load_weights(t, path, "torchvision"), ErrorKind::Value, "missing keys: " + dropped);
  std::filesystem::remove(path);
}

TEST(Weights, HuggingFaceTaskModelCheckpointLoadsIntoTheTextTower) {
  Golden g("bert");
  const std::string path = temp_path("bert.safetensors");
  nn::NamedTensors state;
  for (auto& [k, v] : g.group("weights/")) state.emplace_back("bert." + k, v);  // BertForMaskedLM's naming
  state.emplace_back("cls.predictions.bias", ops::zeros({100}));
  safetensors::save(path, state);
  const auto& hf = g.config["hf_config"];
  const std::string cfg = "model { text { bert { vocab_size: " + std::to_string(int(hf["vocab_size"])) +
                          " hidden_size: 32 num_layers: 2 num_heads: 4 intermediate_size: 64 "
                          "max_position_embeddings: 64 type_vocab_size: 2 pad_token_id: 0 } } }";
  Towers t(parse_config(cfg).model());
  load_weights(t, path, "hf");
  t.eval();
  nn::NamedTensors raw = embed(t,
                               {{"input_ids", g.at("inputs/input_ids")},
                                {"attention_mask", g.at("inputs/attention_mask")},
                                {"token_type_ids", g.at("inputs/token_type_ids")}},
                               true);
  EXPECT_MATCHES_GOLDEN(raw[0].second, g.at("outputs/pooler_output"), 1e-4, "raw text features (pooler)");
  EXPECT_ERROR_CONTAINS(load_weights(t, path, "torchvision"), ErrorKind::Value, "has none");
  std::filesystem::remove(path);
}

TEST(Weights, OwnNamingRoundTrips) {
  const auto cfg = parse_config(R"(model {
    image { resnet { widths: [4, 8, 8, 8] layers: [1, 1, 1, 1] } image_size: 32 }
    text { lstm { vocab_size: 30 embed_dim: 6 hidden_size: 5 } }
  })").model();
  manual_seed(1);
  Towers a(cfg);
  manual_seed(2);
  Towers b(cfg);
  const std::string path = temp_path("towers.safetensors");
  safetensors::save(path, a.state_dict());
  load_weights(b, path, "mmalign");
  a.eval();
  b.eval();
  std::map<std::string, Tensor> in{{"pixel_values", ops::randn({3, 3, 32, 32})}, {"input_ids", ops::randint(1, 30, {3, 4})}};
  auto ea = embed(a, in, false), eb = embed(b, in, false);
  for (size_t i = 0; i < ea.size(); ++i) EXPECT_EQ(ea[i].second.to_double_vector(), eb[i].second.to_double_vector());
  EXPECT_ERROR_CONTAINS(load_weights(b, path, "onnx"), ErrorKind::Value, "unknown --weights-format");
  EXPECT_ERROR_CONTAINS(embed(a, {{"pixel_values", ops::randn({2, 3})}}, false), ErrorKind::Value, "pixel_values must be");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace mm::train
