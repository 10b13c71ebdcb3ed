// BERT and RoBERTa text towers with Hugging Face's structure and parameter names (transformers
// BertModel / RobertaModel): embeddings (word + position + token type, LayerNorm), a post-LN encoder
// (encoder.layer.N.attention.self.{query,key,value}, attention.output.{dense,LayerNorm},
// intermediate.dense, output.{dense,LayerNorm}) and the pooler (tanh(dense(h[:, 0]))). A Hugging Face
// state dict saved as safetensors loads as is (strict).
//
// RoBERTa differs only in its position ids: cumsum(ids ≠ pad)·(ids ≠ pad) + pad, so real tokens get
// positions pad+1, pad+2, ... and padding gets pad (create_position_ids_from_input_ids).
#pragma once

#include <memory>
#include <string>

#include "nn/containers.h"
#include "nn/layers.h"
#include "models/tower.h"

namespace mm::models {

struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  double hidden_dropout = 0.1;
  double attention_dropout = 0.1;
  int64_t pad_token_id = 0;
  bool roberta = false;  // RoBERTa position ids (and pad_token_id 1 in its presets)
  bool add_pooling_layer = true;
  std::string pooling = "pooler";  // the feature: cls | pooler | mean | max (over real tokens)

  // Google's BERT miniatures and base: tiny (2 × 128), mini (4 × 256), small (4 × 512), base (12 × 768);
  // heads = hidden / 64, intermediate = 4 · hidden. roberta_base: RoBERTa-base's sizes.
  static BertConfig named(const std::string& name);
};

struct BertOutput {
  Tensor last_hidden_state;  // [B, T, H]
  Tensor pooler_output;      // [B, H] (undefined without the pooling layer)
};

class BertLayer;

class BertModel : public TextTower {
 public:
  explicit BertModel(BertConfig config);
  Tensor features(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& token_type_ids = {}) override;
  Tokens tokens(const Tensor& input_ids, const Tensor& attention_mask) override;
  int64_t feature_dim() const override { return config_.hidden_size; }
  // input_ids [B, T] (int64); attention_mask [B, T] (1 = token, 0 = padding; default all 1);
  // token_type_ids [B, T] (default 0). inputs_embeds [B, T, H], when given, replaces the word-embedding
  // lookup (its gradient is the gradient with respect to the word embeddings' output).
  BertOutput forward(const Tensor& input_ids, const Tensor& attention_mask = {}, const Tensor& token_type_ids = {},
                     const Tensor& inputs_embeds = {});
  Tensor position_ids(const Tensor& input_ids) const;
  const BertConfig& config() const { return config_; }

  std::shared_ptr<nn::Embedding> word_embeddings, position_embeddings, token_type_embeddings;
  std::shared_ptr<nn::LayerNorm> embeddings_norm;
  std::shared_ptr<nn::Dropout> embeddings_dropout;
  std::vector<std::shared_ptr<BertLayer>> layers;
  std::shared_ptr<nn::Linear> pooler_dense;

 private:
  BertConfig config_;
};

class BertLayer : public nn::Module {
 public:
  explicit BertLayer(const BertConfig& c);
  // mask: bool [B, 1, 1, T], true = the key takes part.
  Tensor forward(const Tensor& x, const Tensor& mask);

  std::shared_ptr<nn::Linear> query, key, value, attention_dense, intermediate_dense, output_dense;
  std::shared_ptr<nn::LayerNorm> attention_norm, output_norm;
  std::shared_ptr<nn::Dropout> attention_probs_dropout, attention_output_dropout, output_dropout;
  int64_t heads;
};

}  // namespace mm::models
