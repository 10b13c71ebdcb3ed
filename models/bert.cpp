#include "models/bert.h"

#include <cmath>
#include <limits>

#include "autograd/functions.h"
#include "nn/init.h"
#include "nn/trace.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "runtime/error.h"

namespace mm::models {

using nn::Dropout;
using nn::LayerNorm;
using nn::Linear;
using nn::ModuleDict;

BertConfig BertConfig::named(const std::string& name) {
  auto sized = [](int64_t layers, int64_t hidden) {
    BertConfig c;
    c.num_hidden_layers = layers;
    c.hidden_size = hidden;
    c.num_attention_heads = hidden / 64;
    c.intermediate_size = 4 * hidden;
    return c;
  };
  if (name == "tiny") return sized(2, 128);
  if (name == "mini") return sized(4, 256);
  if (name == "small") return sized(4, 512);
  if (name == "base") return sized(12, 768);
  if (name == "roberta_base") {
    BertConfig c = sized(12, 768);
    c.vocab_size = 50265;
    c.max_position_embeddings = 514;
    c.type_vocab_size = 1;
    c.layer_norm_eps = 1e-5;
    c.pad_token_id = 1;
    c.roberta = true;
    return c;
  }
  fail(ErrorKind::Value, "BertConfig", "unknown preset '", name, "' (tiny, mini, small, base, roberta_base)");
}

BertLayer::BertLayer(const BertConfig& c) : Module("BertLayer"), heads(c.num_attention_heads) {
  const int64_t h = c.hidden_size;
  auto attention = register_module("attention", std::make_shared<ModuleDict>("BertAttention"));
  auto self = attention->add("self", std::make_shared<ModuleDict>("BertSelfAttention"));
  query = self->add("query", std::make_shared<Linear>(h, h));
  key = self->add("key", std::make_shared<Linear>(h, h));
  value = self->add("value", std::make_shared<Linear>(h, h));
  attention_probs_dropout = self->add("dropout", std::make_shared<Dropout>(c.attention_dropout));
  auto self_out = attention->add("output", std::make_shared<ModuleDict>("BertSelfOutput"));
  attention_dense = self_out->add("dense", std::make_shared<Linear>(h, h));
  attention_norm = self_out->add("LayerNorm", std::make_shared<LayerNorm>(h, c.layer_norm_eps));
  attention_output_dropout = self_out->add("dropout", std::make_shared<Dropout>(c.hidden_dropout));
  auto intermediate = register_module("intermediate", std::make_shared<ModuleDict>("BertIntermediate"));
  intermediate_dense = intermediate->add("dense", std::make_shared<Linear>(h, c.intermediate_size));
  auto output = register_module("output", std::make_shared<ModuleDict>("BertOutput"));
  output_dense = output->add("dense", std::make_shared<Linear>(c.intermediate_size, h));
  output_norm = output->add("LayerNorm", std::make_shared<LayerNorm>(h, c.layer_norm_eps));
  output_dropout = output->add("dropout", std::make_shared<Dropout>(c.hidden_dropout));
}

Tensor BertLayer::forward(const Tensor& x, const Tensor& mask) {
  const int64_t b = x.shape()[0], t = x.shape()[1], h = x.shape()[2], d = h / heads;
  auto split = [&](const Tensor& y) { return permute(reshape(y, {b, t, heads, d}), {0, 2, 1, 3}); };
  nn::trace_flops(4.0 * b * heads * t * t * d);  // q·kᵀ and weights·v
  Tensor ctx = scaled_dot_product_attention(split((*query)(x)), split((*key)(x)), split((*value)(x)), mask,
                                            is_training() ? attention_probs_dropout->p : 0.0);
  ctx = reshape(permute(ctx, {0, 2, 1, 3}), {b, t, h});
  Tensor a = (*attention_norm)(add(x, (*attention_output_dropout)((*attention_dense)(ctx))));
  Tensor f = (*output_dense)(gelu((*intermediate_dense)(a)));
  return (*output_norm)(add(a, (*output_dropout)(f)));
}

BertModel::BertModel(BertConfig c) : TextTower(c.roberta ? "RobertaModel" : "BertModel"), config_(c) {
  MM_CHECK(c.pooling == "cls" || c.pooling == "mean" || c.pooling == "max" ||
               (c.pooling == "pooler" && c.add_pooling_layer),
           Value, type_name().c_str(), "pooling must be cls, pooler (needs the pooling layer), mean or max, got ",
           c.pooling);
  MM_CHECK(c.hidden_size > 0 && c.num_attention_heads > 0 && c.hidden_size % c.num_attention_heads == 0, Value,
           type_name().c_str(), "hidden_size ", c.hidden_size, " must be a multiple of num_attention_heads ",
           c.num_attention_heads);
  auto embeddings = register_module("embeddings", std::make_shared<ModuleDict>("BertEmbeddings"));
  word_embeddings = embeddings->add("word_embeddings",
                                    std::make_shared<nn::Embedding>(c.vocab_size, c.hidden_size, c.pad_token_id));
  position_embeddings = embeddings->add(
      "position_embeddings",
      std::make_shared<nn::Embedding>(c.max_position_embeddings, c.hidden_size, c.roberta ? c.pad_token_id : -1));
  token_type_embeddings =
      embeddings->add("token_type_embeddings", std::make_shared<nn::Embedding>(c.type_vocab_size, c.hidden_size));
  embeddings_norm = embeddings->add("LayerNorm", std::make_shared<LayerNorm>(c.hidden_size, c.layer_norm_eps));
  embeddings_dropout = embeddings->add("dropout", std::make_shared<Dropout>(c.hidden_dropout));
  auto encoder = register_module("encoder", std::make_shared<ModuleDict>("BertEncoder"));
  auto list = encoder->add("layer", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    layers.push_back(std::make_shared<BertLayer>(c));
    list->push_back(layers.back());
  }
  if (c.add_pooling_layer) {
    auto pooler = register_module("pooler", std::make_shared<ModuleDict>("BertPooler"));
    pooler_dense = pooler->add("dense", std::make_shared<Linear>(c.hidden_size, c.hidden_size));
  }
  // Hugging Face's _init_weights: N(0, 0.02) for Linear and Embedding weights, zero biases, zero
  // padding rows; LayerNorm 1 / 0.
  apply([](nn::Module& m) {
    if (auto* l = dynamic_cast<Linear*>(&m)) {
      nn::init::normal_(l->weight, 0.0, 0.02);
      if (l->bias.defined()) nn::init::zeros_(l->bias);
    } else if (auto* e = dynamic_cast<nn::Embedding*>(&m)) {
      nn::init::normal_(e->weight, 0.0, 0.02);
      if (e->padding_idx >= 0) nn::init::zeros_(select(e->weight, 0, e->padding_idx));
    }
  });
}

Tensor BertModel::position_ids(const Tensor& input_ids) const {
  const int64_t b = input_ids.shape()[0], t = input_ids.shape()[1];
  if (!config_.roberta) return ops::arange(0, static_cast<double>(t), 1, DType::I64, input_ids.device());
  // A running count of real tokens along each row (integers, no gradient): computed on the host.
  std::vector<double> ids = ops::to_device(input_ids, kCPU).to_double_vector();
  std::vector<int64_t> pos(ids.size());
  const int64_t pad = config_.pad_token_id;
  for (int64_t r = 0; r < b; ++r) {
    int64_t count = 0;
    for (int64_t i = 0; i < t; ++i) {
      const bool real = static_cast<int64_t>(ids[r * t + i]) != pad;
      count += real;
      pos[r * t + i] = real ? count + pad : pad;
    }
  }
  return ops::to_device(Tensor::from_vector(pos, {b, t}), input_ids.device());
}

BertOutput BertModel::forward(const Tensor& ids, const Tensor& attention_mask, const Tensor& token_type_ids,
                              const Tensor& inputs_embeds) {
  MM_CHECK(ids.defined() && ids.dim() == 2 && ids.dtype() == DType::I64, Shape, type_name().c_str(),
           "input_ids must be int64 [B, T], got ", ids.defined() ? shape_str(ids.shape()) : "undefined");
  const int64_t b = ids.shape()[0], t = ids.shape()[1];
  MM_CHECK(t <= config_.max_position_embeddings - (config_.roberta ? config_.pad_token_id + 1 : 0), Shape,
           type_name().c_str(), "sequence of ", t, " tokens is longer than the position table allows");
  Tensor words = inputs_embeds.defined() ? inputs_embeds : (*word_embeddings)(ids);
  Tensor types = token_type_ids.defined() ? token_type_ids : ops::zeros({b, t}, DType::I64, ids.device());
  Tensor h = add(add(words, (*token_type_embeddings)(types)), (*position_embeddings)(position_ids(ids)));
  h = (*embeddings_dropout)((*embeddings_norm)(h));
  Tensor mask;  // bool [B, 1, 1, T]: true = the key takes part
  if (attention_mask.defined()) {
    MM_CHECK(attention_mask.shape() == Shape({b, t}), Shape, type_name().c_str(), "attention_mask must be [", b, ", ",
             t, "], got ", shape_str(attention_mask.shape()));
    mask = reshape(ne(attention_mask, 0.0), {b, 1, 1, t});
  }
  for (auto& layer : layers) h = layer->forward(h, mask);
  BertOutput out{h, {}};
  if (pooler_dense) out.pooler_output = tanh((*pooler_dense)(select(h, 1, 0)));
  return out;
}

namespace {
// [B, T] attention mask → bool [B, T] (true = real token); all true when undefined.
Tensor real_tokens(const Tensor& ids, const Tensor& attention_mask) {
  return attention_mask.defined() ? ne(attention_mask, 0.0) : ne(ids, -1.0);  // ids ≥ 0: all true
}
}  // namespace

Tokens BertModel::tokens(const Tensor& ids, const Tensor& attention_mask) {
  return {forward(ids, attention_mask).last_hidden_state, real_tokens(ids, attention_mask)};
}

Tensor BertModel::features(const Tensor& ids, const Tensor& attention_mask, const Tensor& token_type_ids) {
  BertOutput out = forward(ids, attention_mask, token_type_ids);
  const Tensor& h = out.last_hidden_state;
  if (config_.pooling == "pooler") return out.pooler_output;
  if (config_.pooling == "cls") return select(h, 1, 0);
  Tensor real = unsqueeze(real_tokens(ids, attention_mask), 2);  // [B, T, 1]
  if (config_.pooling == "max")
    return amax(masked_fill(h, logical_not(real), -std::numeric_limits<double>::infinity()), {1});
  Tensor r = mm::to(real, h.dtype());
  return div(sum(mul(h, r), {1}), sum(r, {1}));
}

}  // namespace mm::models
