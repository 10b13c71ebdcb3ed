#include "nn/lstm.h"

#include <cmath>
#include <sstream>

#include "autograd/functions.h"
#include "nn/init.h"
#include "runtime/error.h"

namespace mm::nn {

namespace {

constexpr const char* kName = "LSTM";
constexpr const char* kParamNames[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};

// Strings built with a stream: g++ 12 warns (-Wrestrict, a false positive) on some `"lit" + string` chains.
template <typename... A>
std::string str_cat(const A&... a) {
  std::ostringstream s;
  (s << ... << a);
  return s.str();
}

// [N, B, H] (or unbatched [N, H]) state to [N, B, H]; absent: zeros, as torch.nn.LSTM.
Tensor initial_state(const Tensor& s, const char* what, const Shape& want, bool batched, const Tensor& x) {
  if (!s.defined()) return zeros(batched ? want : Shape{want[0], want[2]}, x.dtype(), x.device());
  const Shape expected = batched ? want : Shape{want[0], want[2]};
  MM_CHECK(s.shape() == expected, Shape, kName, what, " must be [num_layers·num_directions, batch, hidden_size] = ",
           shape_str(expected), ", got ", shape_str(s.shape()));
  return s;
}

}  // namespace

LSTM::LSTM(int64_t in, int64_t hidden, int64_t layers, bool with_bias, bool bf, double p, bool bidir)
    : Module(kName), input_size(in), hidden_size(hidden), num_layers(layers), bias(with_bias), batch_first(bf),
      dropout(p), bidirectional(bidir) {
  MM_CHECK(in > 0 && hidden > 0 && layers > 0, Value, kName, "input_size, hidden_size and num_layers must be "
           "positive, got ", in, ", ", hidden, ", ", layers);
  MM_CHECK(p >= 0.0 && p <= 1.0, Value, kName, "dropout must be in [0, 1], got ", p);
  const int64_t D = num_directions(), per = bias ? 4 : 2, H = hidden;
  weights_.resize(static_cast<size_t>(layers * D * per));  // never resized again: slots stay put
  const double bound = 1.0 / std::sqrt(static_cast<double>(H));
  for (int64_t l = 0; l < layers; ++l)
    for (int64_t d = 0; d < D; ++d)
      for (int64_t k = 0; k < per; ++k) {
        Tensor& slot = weights_[static_cast<size_t>((l * D + d) * per + k)];
        const int64_t cols = k == 0 ? (l == 0 ? in : D * H) : H;
        slot = k < 2 ? Tensor::empty({4 * H, cols}) : Tensor::empty({4 * H});
        init::uniform_(slot, -bound, bound);  // LSTM.reset_parameters: every parameter ~ U(−1/√H, 1/√H)
        register_parameter(str_cat(kParamNames[k], "_l", l, d == 1 ? "_reverse" : ""), &slot);
      }
}

const Tensor& LSTM::param(int64_t l, int64_t d, int64_t k) const {
  const int64_t per = bias ? 4 : 2;
  return weights_.at(static_cast<size_t>((l * num_directions() + d) * per + k));
}

LSTMResult LSTM::forward(const Tensor& x, const Tensor& lengths, const Tensor& h0, const Tensor& c0) {
  MM_CHECK(x.dim() == 2 || x.dim() == 3, Shape, kName, "input must be [T, B, input_size], [B, T, input_size] "
           "(batch_first) or unbatched [T, input_size], got ", shape_str(x.shape()));
  const bool batched = x.dim() == 3;
  const Tensor seq = !batched ? unsqueeze(x, 1) : batch_first ? transpose(x, 0, 1) : x;  // [T, B, I]
  const int64_t B = seq.size(1), D = num_directions(), H = hidden_size;
  MM_CHECK(seq.size(2) == input_size, Shape, kName, "input ", shape_str(x.shape()), " must end in input_size = ",
           input_size);
  MM_CHECK(!lengths.defined() || (batched && lengths.shape() == Shape{B}), Shape, kName, "lengths must be [batch] = ",
           shape_str({B}), " with batched input ", shape_str(x.shape()), ", got ", shape_str(lengths.shape()));
  const Shape state{num_layers * D, B, H};
  Tensor h_init = initial_state(h0, "h0", state, batched, x), c_init = initial_state(c0, "c0", state, batched, x);
  if (!batched) {
    h_init = unsqueeze(h_init, 1);
    c_init = unsqueeze(c_init, 1);
  }

  Tensor layer_in = seq;
  TensorList h_n, c_n;
  for (int64_t l = 0; l < num_layers; ++l) {
    TensorList outs;
    for (int64_t d = 0; d < D; ++d) {
      const int64_t row = l * D + d;
      auto [out, h, c] = mm::lstm(layer_in, select(h_init, 0, row), select(c_init, 0, row), weight_ih(l, d),
                              weight_hh(l, d), bias_ih(l, d), bias_hh(l, d), lengths, /*reverse=*/d == 1);
      outs.push_back(out);
      h_n.push_back(h);
      c_n.push_back(c);
    }
    layer_in = D == 1 ? outs[0] : mm::cat(outs, 2);  // [T, B, D·H]: forward features, then backward
    // torch.nn.LSTM: dropout on each layer's output except the last, in training.
    if (l + 1 < num_layers) layer_in = mm::dropout(layer_in, dropout, training_);
  }
  LSTMResult r{layer_in, stack(h_n, 0), stack(c_n, 0)};
  if (!batched) {
    r.output = squeeze(r.output, 1);
    r.h_n = squeeze(r.h_n, 1);
    r.c_n = squeeze(r.c_n, 1);
  } else if (batch_first) {
    r.output = transpose(r.output, 0, 1);
  }
  return r;
}

std::string LSTM::extra_repr() const {
  // RNNBase.extra_repr: the sizes, then only the options that differ from their defaults.
  std::ostringstream s;
  s << input_size << ", " << hidden_size;
  if (num_layers != 1) s << ", num_layers=" << num_layers;
  if (!bias) s << ", bias=False";
  if (batch_first) s << ", batch_first=True";
  if (dropout != 0.0) s << ", dropout=" << dropout;
  if (bidirectional) s << ", bidirectional=True";
  return s.str();
}

}  // namespace mm::nn
