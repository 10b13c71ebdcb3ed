// The 17 rungs of the cross-attention ladder (SPEC §5.3), one class each. Notation: I, T the image and
// text tokens, In = LN(I), Tn = LN(T), s = head_dim^-½ (head_dim = d for the single-head v0–v6),
// A = softmax(q·kᵀ·s) over the keys, drop = the rung's shared self.dropout. Members are the seed's
// PyTorch attributes, registered in the seed's order where the seed shows it (v0, v2, v3, v8, v9);
// docs/LADDER.md has the table, the parameter counts and the seed's bugs.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "models/cross_attention/gated_ffn.h"
#include "models/cross_attention/rung.h"
#include "nn/containers.h"

namespace mm::models {

#define MM_LADDER_RUNG_CTOR(Class) \
  Class(int64_t dim, int64_t heads = 8, double dropout = 0.1, int64_t ff_dim = 0)

// ---- single head (rungs_single_head.cpp) ----------------------------------------------------------

// v0: img = softmax(I·Tᵀ·s)·T; txt = softmax(T·Iᵀ·s)·I (two independent directions, no parameters).
class CrossAttentionV0 : public CrossAttentionRung {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV0);
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// v1: one matrix both ways: A = softmax(I·Tᵀ·s); img = A·T; txt = Aᵀ·I.
class CrossAttentionV1 : public CrossAttentionRung {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV1);
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// v2: v1 on In, Tn (one LayerNorm `norm` for both sides): img = A·Tn; txt = Aᵀ·In.
class CrossAttentionV2 : public CrossAttentionRung {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV2);
  std::shared_ptr<nn::LayerNorm> norm;
 protected:
  CrossAttentionV2(std::string version, int64_t dim, int64_t heads, double dropout, int64_t ff_dim);
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// v3: v2 plus a residual to the raw inputs: img = I + A·Tn; txt = T + Aᵀ·In.
class CrossAttentionV3 : public CrossAttentionV2 {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV3);
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// v4: per-modality projections after the shared LN: Ip = image_proj(In), Tp = text_proj(Tn);
// A = softmax(Ip·Tpᵀ·s); img = A·Tp; txt = Aᵀ·Ip.
class CrossAttentionV4 : public CrossAttentionRung {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV4);
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> image_proj, text_proj;
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// v5: v2 with a fixed 0.5 mix: img = ½In + ½A·Tn; txt = ½Tn + ½Aᵀ·In.
class CrossAttentionV5 : public CrossAttentionV2 {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV5);
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// v6: single-head q/k/v: A = softmax(to_q(In)·to_k(Tn)ᵀ·s); img = A·to_v(Tn); txt = Aᵀ·to_v(In).
class CrossAttentionV6 : public CrossAttentionRung {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV6);
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> to_q, to_k, to_v;
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// ---- multi-head, v7–v9 (rungs_multi_head.cpp) -------------------------------------------------------

// v7: multi-head, one matrix both ways and the TEXT values both ways, as the source:
// A = softmax(q_I·k_Tᵀ·s); img = norm(to_out(A·v_T)); txt = norm(to_out(Aᵀ·v_T)) (the input LN
// reused on the outputs). Aᵀ·v_T needs N_i = N_t (always true in pair-fused mode); other lengths are
// an error. At N = 1 image and text outputs are identical.
class CrossAttentionV7 : public CrossAttentionRung {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV7);
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> to_q, to_k, to_v, to_out;
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// v8: independent i→t (q from In, k/v from Tn) and t→i (q from Tn, k/v from In) multi-head
// attention with shared projections; out = out_norm(to_out(·)).
class CrossAttentionV8 : public CrossAttentionRung {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV8);
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> to_q, to_k, to_v, to_out;
  std::shared_ptr<nn::LayerNorm> out_norm;
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// What v9 and every later rung share: attn_norm (pre-LN), to_out, the shared dropout and the gated
// FFN; a = drop(to_out(att)) (no residual to the raw inputs), out = ffn(a) (residual to a).
class GatedRung : public CrossAttentionRung {
 public:
  std::shared_ptr<nn::LayerNorm> attn_norm;
  std::shared_ptr<nn::Linear> to_out;
  std::shared_ptr<nn::Dropout> dropout;
  ladder::GatedFFN ffn;  // ff_norm, ff_gate, ff_value, ff_out

 protected:
  GatedRung(std::string version, int64_t dim, int64_t heads, double dropout, int64_t ff_dim);
  // Registers v9's modules in the seed's order — attn_norm, ff_norm, <projections>, to_out,
  // dropout, ff_gate, ff_value, ff_out — with the rung's own q/k/v projections in the middle.
  void add_v9_modules(const std::function<void()>& projections);
  // The levels of v10_5 / v11 (level_projections.ℓ, level_norms.ℓ, level_weights init 1/3).
  void add_levels(std::shared_ptr<nn::ModuleList>& projections, std::shared_ptr<nn::ModuleList>& norms,
                  Tensor& weights);
  // One attention direction: dropout on the weights, heads merged → [B, Nq, d].
  Tensor attend(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_real) const;
  Tensor project_out(const Tensor& att) { return (*dropout)((*to_out)(att)); }
  Tensor feed_forward(const Tensor& a) { return ffn(a, *dropout); }
};

// v9: pre-LN v8 attention with dropout on the weights, then the gated FFN:
// a = drop(to_out(att)); out = drop(ff_out(ff_gate(ff_norm a) ⊙ ff_value(ff_norm a))) + a.
class CrossAttentionV9 : public GatedRung {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV9);
  std::shared_ptr<nn::Linear> to_q, to_k, to_v;
 protected:
  CrossAttentionV9(std::string version, int64_t dim, int64_t heads, double dropout, int64_t ff_dim);
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
  // v9's two directions on already-normalised inputs: (att_img [B,N_i,d], att_txt [B,N_t,d]).
  std::pair<Tensor, Tensor> attention(const Tensor& In, const Tensor& Tn, const Masks& m) const;
};

// ---- v10_x and v11 (rungs_v10.cpp, rungs_levels.cpp) -----------------------------------------------

// v10_1: v9 with per-modality projections image_to_{q,k,v}, text_to_{q,k,v} (v9's shared to_q/k/v
// are gone): i→t q = image_to_q(In), k, v = text_to_{k,v}(Tn); t→i symmetric.
class CrossAttentionV10_1 : public GatedRung {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV10_1);
  std::shared_ptr<nn::Linear> image_to_q, image_to_k, image_to_v, text_to_q, text_to_k, text_to_v;
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// v10_2: v9 + cross gates: a_img ⊙= image_gate(gate_norm([a_img, I])), a_txt ⊙= text_gate(
// gate_norm([a_txt, T])); image_gate = Sequential(Linear(2d, d), Sigmoid); gate_norm = LN(2d).
class CrossAttentionV10_2 : public CrossAttentionV9 {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV10_2);
  std::shared_ptr<nn::Sequential> image_gate, text_gate;
  std::shared_ptr<nn::LayerNorm> gate_norm;
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// v10_3: v9 + context layers (Linear, GELU, Linear) on attn_norm(·) before attention:
// In = image_context(attn_norm(I)), Tn = text_context(attn_norm(T)).
class CrossAttentionV10_3 : public CrossAttentionV9 {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV10_3);
  std::shared_ptr<nn::Sequential> image_context, text_context;
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// v10_4: v9 with to_q and a fused to_kv = Linear(d, 2d); k, v = chunk(to_kv(·), 2). Every head keeps
// its own K and V: this is fused K/V, not the multi-query attention the seed's prose calls it.
class CrossAttentionV10_4 : public GatedRung {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV10_4);
  std::shared_ptr<nn::Linear> to_q, to_kv;
 protected:
  CrossAttentionV10_4(std::string version, int64_t dim, int64_t heads, double dropout, int64_t ff_dim);
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
  // One direction with to_q / to_kv on normalised inputs.
  Tensor fused_attend(const Tensor& xq, const Tensor& xkv, const Tensor& key_real) const;
};

// v10_5: v9 + 3 levels: Iℓ = level_norms.ℓ(level_projections.ℓ(I)) (Tℓ likewise), then attn_norm and
// v9's attention per level; att = Σℓ softmax(level_weights)ℓ·attℓ; a = drop(to_out(att)); FFN.
class CrossAttentionV10_5 : public CrossAttentionV9 {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV10_5);
  std::shared_ptr<nn::ModuleList> level_projections, level_norms;
  Tensor level_weights;  // [3]
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// v10_6: v9 + contrast_proj: after a = drop(to_out(att)), S = 0.1·normalize(cp(a_img))·
// normalize(cp(a_txt))ᵀ [B, N_i, N_t]; a_img += S, a_txt += Sᵀ with PyTorch broadcasting (so
// N_t ∈ {1, d} and N_i ∈ {1, d}; at N = 1, S is one number per pair); then the FFN.
class CrossAttentionV10_6 : public CrossAttentionV9 {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV10_6);
  std::shared_ptr<nn::Linear> contrast_proj;
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

// v11: v10_5's levels with v10_4's to_q / to_kv; to_out applied per level, then the
// softmax(level_weights)-weighted sum; no dropout after to_out; FFN with residual.
class CrossAttentionV11 : public CrossAttentionV10_4 {
 public:
  MM_LADDER_RUNG_CTOR(CrossAttentionV11);
  std::shared_ptr<nn::ModuleList> level_projections, level_norms;
  Tensor level_weights;  // [3]
 protected:
  RungOutput compute(const Tensor& I, const Tensor& T, const Masks& m) override;
};

#undef MM_LADDER_RUNG_CTOR

}  // namespace mm::models
