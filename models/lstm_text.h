// The LSTM text tower (seed 004's encoder): embedding (padding_idx) → (bi-)LSTM (batch_first, run
// over each caption's own length, as a packed sequence) → pooling over the valid steps: "max"
// (max over time, seed 004's choice), "mean", or "last" (the final state: [forward h at the last valid
// step | reverse h at step 0]). Names: embedding.weight, lstm.weight_ih_l0, ... (torch.nn names).
// Token mode: the per-step outputs [B, T, D·H] (zero past each length) with the mask of valid steps.
#pragma once

#include <memory>
#include <string>

#include "nn/layers.h"
#include "nn/lstm.h"
#include "models/tower.h"

namespace mm::models {

struct LSTMTextConfig {
  int64_t vocab_size = 10000;
  int64_t embed_dim = 300;
  int64_t hidden_size = 512;
  int64_t num_layers = 1;
  bool bidirectional = true;
  double dropout = 0.0;  // between LSTM layers, in training
  int64_t padding_idx = 0;
  std::string pooling = "max";  // "max" | "mean" | "last"
  int64_t output_dim() const { return hidden_size * (bidirectional ? 2 : 1); }
};

struct LSTMTextOutput {
  Tensor per_step;  // [B, T, D·H], zeros at t ≥ length
  Tensor pooled;    // [B, D·H]
};

class LSTMTextEncoder : public TextTower {
 public:
  explicit LSTMTextEncoder(LSTMTextConfig config);
  // The attention mask's row sums are the lengths (real tokens first, padding after).
  Tensor features(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& token_type_ids = {}) override;
  Tokens tokens(const Tensor& input_ids, const Tensor& attention_mask) override;
  int64_t feature_dim() const override { return config_.output_dim(); }
  // ids [B, T] int64; lengths [B] int64 in [1, T] (default: all T). inputs_embeds [B, T, E], when given,
  // replaces the embedding lookup.
  LSTMTextOutput forward(const Tensor& ids, const Tensor& lengths = {}, const Tensor& inputs_embeds = {});
  using Module::forward;
  const LSTMTextConfig& config() const { return config_; }

  std::shared_ptr<nn::Embedding> embedding;
  std::shared_ptr<nn::LSTM> lstm;

 private:
  LSTMTextConfig config_;
};

}  // namespace mm::models
