// nn::LSTM with torch.nn.LSTM's parameters (names, shapes, order), default initialisation and
// results, built on mm::lstm (one layer, one direction; autograd/grad/nn.h has the equations).
//
// Parameters, per layer l and direction (suffix "" forward, "_reverse" backward), in this order:
//   weight_ih_l{l}{sfx} [4H, I_l], weight_hh_l{l}{sfx} [4H, H], bias_ih_l{l}{sfx} [4H], bias_hh_l{l}{sfx} [4H]
// with I_0 = input_size and I_l = D·H above (D = 2 when bidirectional); all ~ U(−1/√H, 1/√H)
// (LSTM.reset_parameters).
//
// Variable lengths: forward(x, lengths) gives what PyTorch gives for
//   pad_packed_sequence(lstm(pack_padded_sequence(x, lengths, enforce_sorted=False)), total_length=T)
// — outputs 0 past each sequence's length, h_n / c_n the state after each sequence's last valid step
// (for the reverse direction: after its step 0, having started at its own last valid step). Unlike
// pack_padded_sequence, a length of 0 is accepted: that sequence's outputs are 0 and its h_n / c_n
// are h0 / c0.
#pragma once

#include <string>
#include <vector>

#include "nn/module.h"

namespace mm::nn {

struct LSTMResult {
  Tensor output;  // [T, B, D·H] ([B, T, D·H] with batch_first; unbatched [T, D·H])
  Tensor h_n;     // [num_layers·D, B, H] (unbatched [num_layers·D, H]); row l·D + d: layer l, direction d
  Tensor c_n;
};

class LSTM : public Module {
 public:
  LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool bias = true, bool batch_first = false,
       double dropout = 0.0, bool bidirectional = false);

  // x [T, B, input_size] ([B, T, input_size] with batch_first; unbatched [T, input_size]);
  // lengths: optional integer [B], each in [0, T]; h0 / c0: optional [num_layers·D, B, H] (zeros when
  // absent; unbatched [num_layers·D, H]). Dropout with probability `dropout` acts on every layer's
  // output except the last's, in training only (as torch.nn.LSTM).
  // Hides Module's single-tensor forward on purpose (lstm.forward(x) is this one); through a Module&
  // that one is an error naming LSTM, as an LSTM in nn.Sequential fails on its tuple in PyTorch.
  LSTMResult forward(const Tensor& x, const Tensor& lengths = {}, const Tensor& h0 = {}, const Tensor& c0 = {});
  std::string extra_repr() const override;

  int64_t input_size, hidden_size, num_layers;
  bool bias, batch_first;
  double dropout;
  bool bidirectional;

  int64_t num_directions() const { return bidirectional ? 2 : 1; }
  // The 2 or 4 tensors of layer l, direction d: w_ih, w_hh[, b_ih, b_hh].
  const Tensor& weight_ih(int64_t l, int64_t d) const { return param(l, d, 0); }
  const Tensor& weight_hh(int64_t l, int64_t d) const { return param(l, d, 1); }
  Tensor bias_ih(int64_t l, int64_t d) const { return bias ? param(l, d, 2) : Tensor(); }
  Tensor bias_hh(int64_t l, int64_t d) const { return bias ? param(l, d, 3) : Tensor(); }

 private:
  const Tensor& param(int64_t l, int64_t d, int64_t k) const;
  // Sized once in the constructor and never resized: the registered slots are its elements.
  std::vector<Tensor> weights_;
};

}  // namespace mm::nn
