#include "models/lstm_text.h"

#include <limits>

#include "autograd/functions.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "runtime/error.h"

namespace mm::models {

LSTMTextEncoder::LSTMTextEncoder(LSTMTextConfig c) : TextTower("LSTMTextEncoder"), config_(c) {
  MM_CHECK(c.pooling == "max" || c.pooling == "mean" || c.pooling == "last", Value, "LSTMTextEncoder",
           "pooling must be max, mean or last, got ", c.pooling);
  embedding = register_module("embedding", std::make_shared<nn::Embedding>(c.vocab_size, c.embed_dim, c.padding_idx));
  lstm = register_module("lstm", std::make_shared<nn::LSTM>(c.embed_dim, c.hidden_size, c.num_layers, true,
                                                            /*batch_first=*/true, c.dropout, c.bidirectional));
}

LSTMTextOutput LSTMTextEncoder::forward(const Tensor& ids, const Tensor& lengths, const Tensor& inputs_embeds) {
  MM_CHECK(ids.defined() && ids.dim() == 2 && ids.dtype() == DType::I64, Shape, "LSTMTextEncoder",
           "ids must be int64 [B, T], got ", ids.defined() ? shape_str(ids.shape()) : "undefined");
  const int64_t b = ids.shape()[0], t = ids.shape()[1];
  Tensor lens = lengths.defined() ? lengths : ops::full({b}, static_cast<double>(t), DType::I64, ids.device());
  MM_CHECK(lens.shape() == Shape({b}), Shape, "LSTMTextEncoder", "lengths must be [", b, "], got ",
           shape_str(lens.shape()));
  for (double v : ops::to_device(lens, kCPU).to_double_vector())
    MM_CHECK(v >= 1 && v <= t, Value, "LSTMTextEncoder", "every length must be in [1, ", t, "], got ", v);
  Tensor x = inputs_embeds.defined() ? inputs_embeds : (*embedding)(ids);
  nn::LSTMResult r = lstm->forward(x, lens);
  // valid [B, T, 1]: step t of sequence b is real when t < lengths[b].
  Tensor steps = ops::arange(0, static_cast<double>(t), 1, DType::I64, ids.device());
  Tensor valid = unsqueeze(lt(unsqueeze(steps, 0), unsqueeze(lens, 1)), 2);
  Tensor pooled;
  if (config_.pooling == "max") {
    pooled = amax(masked_fill(r.output, logical_not(valid), -std::numeric_limits<double>::infinity()), {1});
  } else if (config_.pooling == "mean") {
    pooled = div(sum(r.output, {1}), unsqueeze(mm::to(lens, r.output.dtype()), 1));  // zeros past the length
  } else {
    // h_n rows of the last layer: forward (and reverse): each sequence's state after its last valid step.
    const int64_t d = lstm->num_directions(), last = (config_.num_layers - 1) * d;
    pooled = d == 1 ? select(r.h_n, 0, last) : cat({select(r.h_n, 0, last), select(r.h_n, 0, last + 1)}, 1);
  }
  return {r.output, pooled};
}

namespace {
Tensor lengths_of(const Tensor& attention_mask) {
  if (!attention_mask.defined()) return {};
  return sum(mm::to(ne(attention_mask, 0.0), DType::I64), {1});
}
}  // namespace

Tensor LSTMTextEncoder::features(const Tensor& ids, const Tensor& attention_mask, const Tensor& token_type_ids) {
  MM_CHECK(!token_type_ids.defined() || amax(abs(mm::to(token_type_ids, DType::F64))).item() == 0.0, Value,
           "LSTMTextEncoder", "has no token types (segments); got non-zero token_type_ids");
  return forward(ids, lengths_of(attention_mask)).pooled;
}

Tokens LSTMTextEncoder::tokens(const Tensor& ids, const Tensor& attention_mask) {
  Tensor mask = attention_mask.defined() ? ne(attention_mask, 0.0) : Tensor();
  return {forward(ids, lengths_of(attention_mask)).per_step, mask};
}

}  // namespace mm::models
