// BERT and RoBERTa against Hugging Face transformers (tests/golden/towers/{bert,roberta}.safetensors):
// the HF state dict loads strictly; last_hidden_state and pooler_output match (≤ 1e-4 relative), and so
// do the gradients with respect to the word embeddings' output and a few parameters (≤ 1e-3), on a
// padded batch.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "models/bert.h"
#include "tests/models/golden.h"

namespace mm::models {
namespace {

using testing::Golden;

void check_against(const std::string& file) {
  Golden g(file);
  BertModel m(testing::bert_config(g));
  m.load_state_dict(g.group("weights/"));
  m.eval();
  const Tensor& ids = g.at("inputs/input_ids");
  Tensor words = (*m.word_embeddings)(ids).detach().set_requires_grad(true);
  BertOutput out = m.forward(ids, g.at("inputs/attention_mask"), g.at("inputs/token_type_ids"), words);
  EXPECT_MATCHES_GOLDEN(out.last_hidden_state, g.at("outputs/last_hidden_state"), 1e-4, file + " last_hidden_state");
  EXPECT_MATCHES_GOLDEN(out.pooler_output, g.at("outputs/pooler_output"), 1e-4, file + " pooler_output");
  add(sum(mul(out.last_hidden_state, g.at("loss_weights/last_hidden_state"))),
      sum(mul(out.pooler_output, g.at("loss_weights/pooler_output"))))
      .backward();
  EXPECT_MATCHES_GOLDEN(words.grad(), g.at("grads/inputs/inputs_embeds"), 1e-3, file + " d/d word embeddings");
  int checked = 0;
  for (const auto& [name, want] : g.group("grads/params/"))
    for (const auto& [pname, p] : m.named_parameters())
      if (pname == name && name != "embeddings.word_embeddings.weight") {  // reached through `words` instead
        EXPECT_MATCHES_GOLDEN(p.grad(), want, 1e-3, file + " d/d" + name);
        ++checked;
      }
  EXPECT_GE(checked, 3);
}

TEST(BertGolden, MatchesHuggingFaceBertModel) { check_against("bert"); }
TEST(BertGolden, MatchesHuggingFaceRobertaModel) { check_against("roberta"); }

// Parameters of a BertModel with the pooler, counted from Hugging Face's module list. For "base" it
// gives bert-base-uncased's well-known 109,482,240; the test builds "mini" to stay fast.
int64_t hf_parameter_count(const BertConfig& c) {
  const int64_t h = c.hidden_size, i = c.intermediate_size;
  const int64_t embeddings = (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * h + 2 * h;
  const int64_t layer = 4 * (h * h + h) + 2 * (2 * h) + (h * i + i) + (i * h + h);
  return embeddings + c.num_hidden_layers * layer + (h * h + h);
}

TEST(Bert, PresetsHaveTheMiniatureSizes) {
  EXPECT_EQ(hf_parameter_count(BertConfig::named("base")), 109482240);
  BertConfig mini = BertConfig::named("mini");
  EXPECT_EQ(mini.num_hidden_layers, 4);
  EXPECT_EQ(mini.num_attention_heads, 4);
  EXPECT_EQ(mini.intermediate_size, 1024);
  EXPECT_EQ(BertModel(mini).num_parameters(), hf_parameter_count(mini));
}

}  // namespace
}  // namespace mm::models
