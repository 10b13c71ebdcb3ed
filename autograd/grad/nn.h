// Neural-network building blocks composed from other ops: dropout, scaled dot-product attention and
// one LSTM layer. Composites (op table: Composite): no kernels of their own, they run wherever their
// parts run, and their gradients come from the parts' backward formulas.
#pragma once

#include <optional>
#include <tuple>

#include "autograd/record.h"
#include "runtime/philox.h"

namespace mm {

// Inverted dropout: x · mask / (1 − p) with mask ~ Bernoulli(1 − p) drawn from Philox (gen = nullptr:
// the default generator, so manual_seed makes it reproducible on CPU and CUDA alike).
//   !training or p = 0 → x itself (the same tensor, nothing recorded);
//   p = 1 → x · 0 (zeros; NaN/inf in x stay NaN, as in PyTorch).
// p outside [0, 1] is a Value error.
Tensor dropout(const Tensor& x, double p, bool training = true, Generator* gen = nullptr);

// softmax(q·kᵀ · scale + mask) · v over the last two dims, as torch.nn.functional.
// scaled_dot_product_attention (math path):
//   q [..., L, E], k [..., S, E], v [..., S, Ev] → [..., L, Ev]; batch dims broadcast.
//   scale: default 1/sqrt(E).
//   attn_mask (optional, broadcast to [..., L, S]):
//     bool  — true = the key TAKES PART in attention (PyTorch 2 SDPA convention; the opposite of
//             nn.MultiheadAttention's key_padding_mask, where true = ignore);
//     float — added to the scores (use −inf to exclude a key).
//   is_causal: query i sees keys j ≤ i (torch.ones(L, S).tril(), top-left aligned). Unlike PyTorch,
//     which rejects is_causal together with attn_mask, both may be given: they are combined (AND),
//     which is what a decoder with padded keys needs.
//   dropout_p > 0: dropout on the attention weights (always applied: pass 0 in evaluation).
// A query row whose keys are ALL masked out gets weights 0 and output 0 (gradient 0), the choice of
// PyTorch ≥ 2.5 (its _safe_softmax, pytorch/pytorch#133882); older PyTorch returned NaN.
// This is the math formulation: it materialises the [..., L, S] scores (no fused/flash kernel).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask = {},
                                    double dropout_p = 0.0, bool is_causal = false,
                                    std::optional<double> scale = std::nullopt, Generator* gen = nullptr);

// One LSTM layer in one direction, PyTorch's gate order and equations (torch.nn.LSTM):
//   gates = x_t·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh, split into i, f, g, o (4 blocks of H)
//   c' = σ(f)·c + σ(i)·tanh(g),   h' = σ(o)·tanh(c')
// x [T, B, I] (sequence first), h0 / c0 [B, H], w_ih [4H, I], w_hh [4H, H], b_ih / b_hh [4H]
// (optional: undefined = no bias). x·W_ihᵀ for all T steps is one matmul before the recurrence.
// lengths (optional, integer [B], values in [0, T]): sequence b has lengths[b] valid steps; at steps
// t ≥ lengths[b] its h and c are carried unchanged and its output is 0 — the results of running on
// pack_padded_sequence(x, lengths) and padding the output back. reverse = true runs t = T−1 … 0 (the
// backward direction of a bidirectional LSTM): with lengths, each sequence then starts from h0/c0 at
// its own last valid step, as a packed sequence would.
// Returns (output [T, B, H], h_T [B, H], c_T [B, H]); with lengths, h_T/c_T are each sequence's
// state after its last valid step (after step 0 when reverse).
std::tuple<Tensor, Tensor, Tensor> lstm(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                                        const Tensor& w_hh, const Tensor& b_ih = {}, const Tensor& b_hh = {},
                                        const Tensor& lengths = {}, bool reverse = false);

}  // namespace mm
