// nn::MultiheadAttention with torch.nn.MultiheadAttention's parameters, names, default initialisation,
// masks and outputs (kdim = vdim = embed_dim, no add_bias_kv / add_zero_attn).
//
//   q = query·W_qᵀ + b_q, k = key·W_kᵀ + b_k, v = value·W_vᵀ + b_v   (W_q, W_k, W_v: the three row
//   blocks of in_proj_weight), split into num_heads heads of head_dim = E / num_heads;
//   per head: softmax(q·kᵀ/√head_dim + mask)·v; heads concatenated; out_proj.
//
// Masks follow nn.MultiheadAttention (true = the position is NOT allowed to take part):
//   key_padding_mask  [B, S] (unbatched: [S]); bool: true = ignore that key; floating: added to the
//                     scores of that key.
//   attn_mask         [L, S] or [B·num_heads, L, S] (entry b·num_heads + h, as PyTorch); bool: true =
//                     query l may not attend to key s; floating: added to the scores.
// A query row left with no allowed key gets weights 0 and output out_proj.bias (the choice of
// mm::scaled_dot_product_attention, PyTorch ≥ 2.5's _safe_softmax; PyTorch 1.x returns NaN there).
//
// Dropout (training only) acts on the attention weights; the weights returned are the dropped-out
// ones, as F.multi_head_attention_forward returns them.
#pragma once

#include <utility>

#include "nn/layers.h"
#include "nn/module.h"

namespace mm::nn {

class MultiheadAttention : public Module {
 public:
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, double dropout = 0.0, bool bias = true,
                     bool batch_first = false);

  // query [L, B, E], key / value [S, B, E] ([B, L, E] / [B, S, E] with batch_first; unbatched [L, E] /
  // [S, E]). Returns (output [L, B, E] (or [B, L, E], or [L, E]), weights): weights are
  // [B, L, S] averaged over heads, or [B, num_heads, L, S] with !average_attn_weights (unbatched: no
  // B), or undefined with !need_weights (then mm::scaled_dot_product_attention computes the output,
  // as PyTorch 2 does on that path).
  std::pair<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& key_padding_mask = {}, bool need_weights = true,
                                    const Tensor& attn_mask = {}, bool average_attn_weights = true);
  using Module::forward;  // the single-tensor one stays visible (and is an error: three inputs are needed)

  int64_t embed_dim, num_heads, head_dim;
  double dropout;
  bool batch_first;
  Tensor in_proj_weight, in_proj_bias;  // [3E, E], [3E] (undefined without bias)
  std::shared_ptr<Linear> out_proj;

 private:
  Tensor in_projection(const Tensor& x, int64_t i) const;
};

}  // namespace mm::nn
