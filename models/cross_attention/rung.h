// The cross-attention ladder of SPEC §5.3 (from seed 002): 17 rungs v0 … v11, each an nn::Module that
// maps image tokens I [B, N_i, d] and text tokens T [B, N_t, d] to (image_out [B, N_i, d],
// text_out [B, N_t, d]). Parameters carry the seed's PyTorch attribute names ("norm.weight",
// "to_q.bias", "ff_gate.0.weight", "level_projections.0.weight", ...), so a state_dict of the seed's
// modules loads 1:1. docs/LADDER.md describes every rung, what it adds and where the seed is buggy.
//
// Masks (optional): image_mask [B, N_i] and text_mask [B, N_t], bool or 0/1, true = a real token.
// A padded token is never attended to (its key is masked), and in the rungs that reuse one attention
// matrix both ways (txt = Aᵀ·x) a padded image token contributes nothing to the text outputs either.
// Outputs at padded positions are computed but meaningless; pool them away (CrossAttentionHead).
//
// Construction: make_rung("v9", dim, heads, dropout, ff_dim), or a class of rungs.h directly.
// heads matters from v7 on (v0–v6 are single-head with s = dim^-½, as the seed), dropout and ff_dim
// from v9 on; ff_dim ≤ 0 means 4·dim (the seed's `ff_dim or dim * 4`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"
#include "nn/module.h"

namespace mm::models {

struct RungOutput {
  Tensor image;  // [B, N_i, d]
  Tensor text;   // [B, N_t, d]
};

class CrossAttentionRung : public nn::Module {
 public:
  // Checks shapes, dtypes and masks, then runs the rung. Errors name the rung ("CrossAttention v7").
  RungOutput forward(const Tensor& image, const Tensor& text, const Tensor& image_mask = {},
                     const Tensor& text_mask = {});
  using nn::Module::forward;  // the single-tensor one stays visible (and is an error: two inputs are needed)

  const std::string& version() const { return version_; }
  std::string extra_repr() const override;

  const int64_t dim, heads, ff_dim;
  const double dropout_p;

 protected:
  // multi_head: the rung splits d into `heads` heads (v7+), so d % heads must be 0.
  CrossAttentionRung(std::string version, int64_t dim, int64_t heads, double dropout, int64_t ff_dim,
                     bool multi_head);

  struct Masks {
    Tensor image, text;  // bool [B, N], true = real; undefined = every token real
  };
  virtual RungOutput compute(const Tensor& image, const Tensor& text, const Masks& masks) = 0;

  // Registration helpers: a child under the seed's attribute name.
  std::shared_ptr<nn::Linear> add_linear(const std::string& name, int64_t in, int64_t out);
  std::shared_ptr<nn::LayerNorm> add_norm(const std::string& name, int64_t features);
  // "CrossAttention v7": the op name in this rung's errors.
  std::string op_name() const { return "CrossAttention " + version_; }

 private:
  std::string version_;
};

// "v0", …, "v9", "v10_1", …, "v10_6", "v11": the ladder's order.
const std::vector<std::string>& rung_names();

// The rung called `name` (exactly one of rung_names(); "v10" or "v10_x" prefixes are not guessed —
// the seed's evaluation parsed "v10_1" as "v0"). Unknown names: mm::Error (Value) listing the valid ones.
std::shared_ptr<CrossAttentionRung> make_rung(const std::string& name, int64_t dim, int64_t heads = 8,
                                              double dropout = 0.1, int64_t ff_dim = 0);

}  // namespace mm::models
