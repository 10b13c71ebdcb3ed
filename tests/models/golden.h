// Reading the PyTorch golden files written by tools/golden/towers.py (tests/golden/towers/*.safetensors):
// weights/<name>, inputs/<name>, outputs/<name>, loss_weights/<output>, grads/inputs/<name>,
// grads/params/<name>, and a JSON architecture description in the metadata under "config".
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "models/bert.h"
#include "models/lstm_text.h"
#include "models/resnet.h"
#include "models/vit.h"
#include "nn/module.h"
#include "ops/copy.h"
#include "runtime/safetensors.h"

namespace mm::testing {

struct Golden {
  std::map<std::string, Tensor> all;
  nlohmann::json config;
  std::string mode;

  explicit Golden(const std::string& name) {
    const std::string path = std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/towers/" + name + ".safetensors";
    safetensors::File f = safetensors::File::open(path);
    for (const auto& info : f.tensors()) all[info.name] = f.load(info.name);
    config = nlohmann::json::parse(f.metadata().at("config"));
    mode = f.metadata().at("mode");
  }
  // Every entry under `prefix` ("weights/"), with the prefix removed.
  nn::NamedTensors group(const std::string& prefix) const {
    nn::NamedTensors out;
    for (const auto& [k, v] : all)
      if (k.rfind(prefix, 0) == 0) out.emplace_back(k.substr(prefix.size()), v);
    return out;
  }
  const Tensor& at(const std::string& key) const {
    auto it = all.find(key);
    if (it == all.end()) throw std::runtime_error("golden file has no " + key);
    return it->second;
  }
};

// max|got − want| / max|want|: outputs after ReLU and gradients hold exact zeros, where an
// element-wise relative error means nothing.
inline double relative_error(const Tensor& got, const Tensor& want) {
  auto g = ops::to_device(got, kCPU).to_double_vector(), w = want.to_double_vector();
  EXPECT_EQ(g.size(), w.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < std::min(g.size(), w.size()); ++i) {
    diff = std::max(diff, std::fabs(g[i] - w[i]));
    scale = std::max(scale, std::fabs(w[i]));
  }
  return scale == 0 ? diff : diff / scale;
}

#define EXPECT_MATCHES_GOLDEN(got, want, tol, what)                                                  \
  do {                                                                                               \
    ASSERT_TRUE((got).defined()) << what << " was not computed";                                     \
    ASSERT_EQ(shape_str((got).shape()), shape_str((want).shape())) << what;                          \
    EXPECT_LE(::mm::testing::relative_error(got, want), tol) << what;                                \
  } while (0)

// The architecture a golden file describes (its "config" metadata), for each tower family.
inline models::ResNetConfig resnet_config(const Golden& g) {
  models::ResNetConfig c;
  c.block = g.config["block"] == "Bottleneck" ? models::ResNetConfig::Block::Bottleneck
                                              : models::ResNetConfig::Block::Basic;
  for (int s = 0; s < 4; ++s) {
    c.layers[s] = g.config["layers"][s];
    c.widths[s] = g.config["widths"][s];
  }
  c.in_channels = g.config["in_channels"];
  c.num_classes = g.all.count("weights/fc.weight") ? g.at("weights/fc.weight").shape()[0] : 0;
  return c;
}

inline models::ViTConfig vit_config(const Golden& g) {
  models::ViTConfig c;
  c.image_size = g.config["image_size"];
  c.patch_size = g.config["patch_size"];
  c.num_layers = g.config["num_layers"];
  c.num_heads = g.config["num_heads"];
  c.hidden_dim = g.config["hidden_dim"];
  c.mlp_dim = g.config["mlp_dim"];
  c.layer_norm_eps = g.config["layernorm_eps"];
  c.num_classes = g.config["num_classes"];
  return c;
}

inline models::BertConfig bert_config(const Golden& g) {
  const auto& hf = g.config["hf_config"];
  models::BertConfig c;
  c.vocab_size = hf["vocab_size"];
  c.hidden_size = hf["hidden_size"];
  c.num_hidden_layers = hf["num_hidden_layers"];
  c.num_attention_heads = hf["num_attention_heads"];
  c.intermediate_size = hf["intermediate_size"];
  c.max_position_embeddings = hf["max_position_embeddings"];
  c.type_vocab_size = hf["type_vocab_size"];
  c.layer_norm_eps = hf["layer_norm_eps"];
  c.pad_token_id = hf["pad_token_id"];
  c.roberta = hf["model_type"] == "roberta";
  return c;
}

inline models::LSTMTextConfig lstm_text_config(const Golden& g) {
  models::LSTMTextConfig c;
  c.vocab_size = g.config["vocab_size"];
  c.embed_dim = g.config["embed_dim"];
  c.hidden_size = g.config["hidden_size"];
  c.num_layers = g.config["num_layers"];
  c.bidirectional = g.config["bidirectional"];
  c.padding_idx = g.config["padding_idx"];
  return c;
}

}  // namespace mm::testing
