// The gated feed-forward block of rungs v9 and later (SPEC §5.3, the seed's v9):
//   y = drop(ff_out(ff_gate(x) ⊙ ff_value(x))) + a,   x = ff_norm(a),
//   ff_gate = ff_value = Sequential(Linear(d, ff_dim), GELU, Dropout)  (so "ff_gate.0.weight"),
//   ff_out = Linear(ff_dim, d).
// Its parts are direct children of the rung (the seed's attribute names), so this file holds the
// pieces and the arithmetic, not a module of its own.
#pragma once

#include <memory>

#include "nn/containers.h"
#include "nn/layers.h"

namespace mm::models::ladder {

// Linear(dim, ff_dim) → GELU (exact, nn.GELU's default) → Dropout(p).
std::shared_ptr<nn::Sequential> ffn_branch(int64_t dim, int64_t ff_dim, double p);

struct GatedFFN {
  std::shared_ptr<nn::LayerNorm> ff_norm;
  std::shared_ptr<nn::Sequential> ff_gate, ff_value;
  std::shared_ptr<nn::Linear> ff_out;
  // `drop` is the rung's shared self.dropout (the seed applies it to ff_out's output).
  Tensor operator()(const Tensor& a, nn::Dropout& drop) const;
};

}  // namespace mm::models::ladder
