// The LSTM text tower against PyTorch (nn.Embedding → nn.LSTM over pack_padded_sequence → max over
// valid steps; tests/golden/towers/lstm_text*.safetensors): strict load, per-step outputs (zero past
// each length) and pooled features (≤ 1e-4), gradients (≤ 1e-3); bidirectional 2-layer and
// unidirectional 1-layer.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "models/lstm_text.h"
#include "ops/creation.h"
#include "tests/common/expect_error.h"
#include "tests/models/golden.h"

namespace mm::models {
namespace {

using testing::Golden;

void check_against(const std::string& file) {
  Golden g(file);
  LSTMTextEncoder m(testing::lstm_text_config(g));
  m.load_state_dict(g.group("weights/"));
  m.eval();
  const Tensor& ids = g.at("inputs/input_ids");
  Tensor emb = (*m.embedding)(ids).detach().set_requires_grad(true);
  LSTMTextOutput out = m.forward(ids, g.at("inputs/lengths"), emb);
  EXPECT_MATCHES_GOLDEN(out.per_step, g.at("outputs/per_step"), 1e-4, file + " per_step");
  EXPECT_MATCHES_GOLDEN(out.pooled, g.at("outputs/pooled"), 1e-4, file + " pooled");
  add(sum(mul(out.per_step, g.at("loss_weights/per_step"))), sum(mul(out.pooled, g.at("loss_weights/pooled"))))
      .backward();
  EXPECT_MATCHES_GOLDEN(emb.grad(), g.at("grads/inputs/inputs_embeds"), 1e-3, file + " d/d embeddings");
  int checked = 0;
  for (const auto& [name, want] : g.group("grads/params/"))
    for (const auto& [pname, p] : m.named_parameters())
      if (pname == name && name != "embedding.weight") {  // reached through `emb` instead
        EXPECT_MATCHES_GOLDEN(p.grad(), want, 1e-3, file + " d/d" + name);
        ++checked;
      }
  EXPECT_GE(checked, 1);
}

TEST(LSTMTextGolden, BidirectionalTwoLayers) { check_against("lstm_text"); }
TEST(LSTMTextGolden, UnidirectionalOneLayer) { check_against("lstm_text_uni"); }

TEST(LSTMText, PoolingModes) {
  LSTMTextConfig c{.vocab_size = 20, .embed_dim = 4, .hidden_size = 3, .num_layers = 1, .bidirectional = true};
  Tensor ids = ops::randint(1, 20, {2, 5});
  Tensor lens = Tensor::from_vector<int64_t>({5, 2}, {2});
  for (const char* p : {"max", "mean", "last"}) {
    c.pooling = p;
    LSTMTextEncoder m(c);
    LSTMTextOutput o = m.forward(ids, lens);
    EXPECT_EQ(o.pooled.shape(), Shape({2, 6})) << p;
    // Steps past a sequence's length are zero and do not change its pooled feature.
    EXPECT_EQ(select(select(o.per_step, 0, 1), 0, 4).to_double_vector(), std::vector<double>(6, 0.0));
  }
  c.pooling = "first";
  EXPECT_ERROR_CONTAINS(LSTMTextEncoder{c}, ErrorKind::Value, "pooling");
}

}  // namespace
}  // namespace mm::models
