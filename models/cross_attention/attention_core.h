// The attention arithmetic every rung of the cross-attention ladder (SPEC §5.3) shares: key padding
// masks, splitting and merging heads, scaled and masked softmax weights, one multi-head direction,
// and the masked mean that pools a rung's outputs in token mode.
//
// Masks here are "real-token" masks, the convention of models/tower.h and of attention_mask in
// Hugging Face: true (or 1) = a real token, false (0) = padding. (nn::MultiheadAttention takes the
// opposite, PyTorch's key_padding_mask convention; the ladder follows the towers that feed it.)
#pragma once

#include <cstdint>

#include "runtime/tensor.h"

namespace mm::models::ladder {

// A user's mask [B, N] (bool, or any dtype holding only 0 and 1) as bool [B, N] on x's device, true =
// real; undefined stays undefined (every token real). x is the [B, N, d] sequence it masks; `op` and
// `what` name the caller and the mask in errors.
Tensor real_token_mask(const Tensor& mask, const Tensor& x, const char* op, const char* what);

// [B, N, d] → [B, heads, N, d/heads]: head h owns features [h·hd, (h+1)·hd), as the seed's
// x.reshape(B, -1, H, head_dim).transpose(1, 2).
Tensor split_heads(const Tensor& x, int64_t heads);
// [B, heads, N, hd] → [B, N, heads·hd], the inverse (the seed's transpose(1, 2).reshape(B, N, -1)).
Tensor merge_heads(const Tensor& x);

// softmax(q·kᵀ·scale) over the keys. q [B, Nq, e] and k [B, Nk, e], or [B, H, Nq, e] and
// [B, H, Nk, e]; key_real: bool [B, Nk] or undefined. A padded key gets weight 0; a query row with
// no real key gets all-zero weights (nn::MultiheadAttention's choice) instead of softmax's NaN.
Tensor attention_weights(const Tensor& q, const Tensor& k, double scale, const Tensor& key_real);

// The weights with the rows of padded queries set to 0. The rungs that reuse one matrix both ways
// (txt = Aᵀ·x, v1–v7) need it: in Aᵀ those rows become columns that would mix padded image tokens
// into every text output.
Tensor zero_padded_queries(const Tensor& weights, const Tensor& query_real);

// One direction of multi-head attention on projected q [B, Nq, d], k and v [B, Nk, d]:
// merge(dropout(softmax(split(q)·split(k)ᵀ/√hd)) · split(v)) → [B, Nq, d]. Dropout (p, training
// only) acts on the attention weights, as v9's self.dropout(attn).
Tensor multihead_attend(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads, const Tensor& key_real,
                        double dropout_p, bool training);

// Mean over the real tokens: x [B, N, d], real bool [B, N] (undefined: all) → [B, d]. A sequence
// without a real token pools to 0 (the count is clamped to 1) rather than to NaN.
Tensor masked_mean(const Tensor& x, const Tensor& real);

}  // namespace mm::models::ladder
