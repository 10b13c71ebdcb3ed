// The two tower interfaces the alignment heads build on. Every image tower (ResNet, MobileNetV1, ViT)
// and text tower (BERT/RoBERTa, the LSTM encoder) implements one, in "feature mode" (one pooled vector
// per input) and "token mode" (a sequence per input, for cross-attention). The towers keep their
// library's parameter names: the interface adds no module level.
#pragma once

#include <string>

#include "nn/module.h"

namespace mm::models {

struct Tokens {
  Tensor values;  // [B, N, D]
  Tensor mask;    // [B, N] bool, true = a real token (undefined: all real)
};

class ImageTower : public nn::Module {
 public:
  using nn::Module::Module;
  // images [B, C, H, W] → [B, feature_dim()] (the pooled features, before any classifier).
  virtual Tensor features(const Tensor& images) = 0;
  // images → grid/patch tokens [B, N, token_dim()].
  virtual Tokens tokens(const Tensor& images) = 0;
  virtual int64_t feature_dim() const = 0;
  virtual int64_t token_dim() const { return feature_dim(); }
  // Keys of a library checkpoint that belong to no tower part (a classifier head): skipped on load.
  virtual bool is_head_key(const std::string& key) const = 0;
};

class TextTower : public nn::Module {
 public:
  using nn::Module::Module;
  // input_ids [B, T] int64, attention_mask [B, T] (1 = token; undefined = all tokens),
  // token_type_ids [B, T] (BERT's segments; undefined = 0; towers without segments ignore zeros and
  // refuse others) → [B, feature_dim()].
  virtual Tensor features(const Tensor& input_ids, const Tensor& attention_mask,
                          const Tensor& token_type_ids = {}) = 0;
  virtual Tokens tokens(const Tensor& input_ids, const Tensor& attention_mask) = 0;
  virtual int64_t feature_dim() const = 0;
  virtual int64_t token_dim() const { return feature_dim(); }
};

}  // namespace mm::models
