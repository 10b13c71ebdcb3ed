#include "nn/transformer.h"

#include "autograd/functions.h"
#include "runtime/error.h"

namespace mm::nn {

namespace {

constexpr const char* kName = "TransformerEncoderLayer";

// PyTorch's _get_activation_fn accepts exactly these two strings.
Activation encoder_activation(const std::string& name) {
  MM_CHECK(name == "relu" || name == "gelu", Value, kName, "activation should be relu/gelu, not '", name, "'");
  return activation_from_name(name);
}

}  // namespace

TransformerEncoderLayer::TransformerEncoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward, double p,
                                                 const std::string& act, double eps, bool batch_first, bool nf)
    : Module(kName), norm_first(nf), activation(encoder_activation(act)) {
  MM_CHECK(dim_feedforward > 0, Value, kName, "dim_feedforward must be positive, got ", dim_feedforward);
  // Registration order = PyTorch's __init__ order, which is the state_dict order.
  self_attn = register_module("self_attn", std::make_shared<MultiheadAttention>(d_model, nhead, p, true, batch_first));
  linear1 = register_module("linear1", std::make_shared<Linear>(d_model, dim_feedforward));
  dropout = register_module("dropout", std::make_shared<Dropout>(p));
  linear2 = register_module("linear2", std::make_shared<Linear>(dim_feedforward, d_model));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(d_model, eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(d_model, eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(p));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(p));
}

Tensor TransformerEncoderLayer::self_attention_block(const Tensor& x, const Tensor& mask, const Tensor& kpm) {
  return dropout1->forward(self_attn->forward(x, x, x, kpm, /*need_weights=*/false, mask).first);
}

Tensor TransformerEncoderLayer::feed_forward_block(const Tensor& x) {
  return dropout2->forward(linear2->forward(dropout->forward(activate(activation, linear1->forward(x)))));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const Tensor& src_mask, const Tensor& kpm) {
  Tensor x = src;
  if (norm_first) {
    x = x + self_attention_block(norm1->forward(x), src_mask, kpm);
    return x + feed_forward_block(norm2->forward(x));
  }
  x = norm1->forward(x + self_attention_block(x, src_mask, kpm));
  return norm2->forward(x + feed_forward_block(x));
}

}  // namespace mm::nn
