// nn::TransformerEncoderLayer with torch.nn.TransformerEncoderLayer's children (names and order:
// self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2), defaults and formulas:
//   post-LN (norm_first = false): x = norm1(x + sa(x)); x = norm2(x + ff(x))
//   pre-LN  (norm_first = true):  x = x + sa(norm1(x)); x = x + ff(norm2(x))
//   sa(x) = dropout1(self_attn(x, x, x, masks, need_weights = false))
//   ff(x) = dropout2(linear2(dropout(activation(linear1(x)))))
// Always this composed math, the function PyTorch's training path runs; its evaluation-only fast path
// (torch._transformer_encoder_layer_fwd, taken under some conditions) is not reproduced.
#pragma once

#include <memory>
#include <string>

#include "nn/attention.h"
#include "nn/layers.h"
#include "nn/module.h"

namespace mm::nn {

class TransformerEncoderLayer : public Module {
 public:
  // activation: "relu" or "gelu" (exact erf form), the strings PyTorch accepts.
  TransformerEncoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward = 2048, double dropout = 0.1,
                          const std::string& activation = "relu", double layer_norm_eps = 1e-5,
                          bool batch_first = false, bool norm_first = false);

  // src [S, B, E] ([B, S, E] with batch_first, or unbatched [S, E]); src_mask [S, S] or
  // [B·nhead, S, S] and src_key_padding_mask [B, S], with MultiheadAttention's conventions
  // (bool true = not allowed; floating = added to the scores). Returns src's shape.
  Tensor forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask = {});
  Tensor forward(const Tensor& src) override { return forward(src, Tensor(), Tensor()); }

  bool norm_first;
  Activation activation;
  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<Linear> linear2;
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<Dropout> dropout1, dropout2;

 private:
  Tensor self_attention_block(const Tensor& x, const Tensor& mask, const Tensor& key_padding_mask);
  Tensor feed_forward_block(const Tensor& x);
};

}  // namespace mm::nn
