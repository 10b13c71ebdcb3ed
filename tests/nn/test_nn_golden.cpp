// nn::MultiheadAttention, nn::TransformerEncoderLayer and nn::LSTM against PyTorch 1.13
// (tests/golden/nn/*.safetensors, written by tools/golden/nn_modules.py): torch's state_dict loads
// strictly by name, and the outputs (relative error ≤ 1e-4) and the gradients of
// L = Σ_k Σ(out_k ⊙ R_k) with respect to the inputs and every parameter (≤ 1e-3) match, in float32.
// Relative error = max|got − want| / max|want| over the tensor.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "autograd/functions.h"
#include "nn/attention.h"
#include "nn/lstm.h"
#include "nn/transformer.h"
#include "runtime/safetensors.h"

namespace mm::nn {
namespace {

struct Golden {
  std::string name;
  std::map<std::string, Tensor> all;
  nlohmann::json config;

  explicit Golden(const std::string& case_name) : name(case_name) {
    const std::string path = std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/nn/" + case_name + ".safetensors";
    all = safetensors::load_all(path);
    config = nlohmann::json::parse(safetensors::File::open(path).metadata().at("config"));
  }
  bool has(const std::string& key) const { return all.count(key) != 0; }
  const Tensor& at(const std::string& key) const {
    auto it = all.find(key);
    if (it == all.end()) throw std::runtime_error(name + ": the golden file has no " + key);
    return it->second;
  }
  // Every entry under `prefix`, the prefix removed (name order).
  NamedTensors group(const std::string& prefix) const {
    NamedTensors out;
    for (const auto& [k, v] : all)
      if (k.rfind(prefix, 0) == 0) out.emplace_back(k.substr(prefix.size()), v);
    return out;
  }
  // A stored input as a fresh leaf that requires grad (floating) or as stored (masks, lengths).
  Tensor input(const std::string& key) const {
    const Tensor& t = at("inputs/" + key);
    return is_floating(t.dtype()) ? t.detach().set_requires_grad(true) : t;
  }
  Tensor optional_input(const std::string& key) const { return has("inputs/" + key) ? input(key) : Tensor(); }
};

double relative_error(const Tensor& got, const Tensor& want) {
  auto g = got.to_double_vector(), w = want.to_double_vector();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < std::min(g.size(), w.size()); ++i) {
    diff = std::max(diff, std::fabs(g[i] - w[i]));
    scale = std::max(scale, std::fabs(w[i]));
  }
  return scale == 0 ? diff : diff / scale;
}

void expect_matches(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what << " was not computed";
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what;
  EXPECT_LE(relative_error(got, want), tol) << what;
}

// Outputs against outputs/*, then L = Σ out ⊙ R backward, then grads/inputs/* and grads/params/*.
void check(const Golden& g, Module& m, const std::map<std::string, Tensor>& outputs,
           const std::map<std::string, Tensor>& inputs) {
  Tensor loss;
  for (const auto& [name, out] : outputs) {
    expect_matches(out, g.at("outputs/" + name), 1e-4, g.name + " output " + name);
    Tensor term = sum(mul(out, g.at("loss_weights/" + name)));
    loss = loss.defined() ? add(loss, term) : term;
  }
  EXPECT_EQ(outputs.size(), g.group("outputs/").size()) << g.name << ": every stored output is checked";
  loss.backward();
  for (const auto& [name, want] : g.group("grads/inputs/")) {
    ASSERT_TRUE(inputs.count(name)) << g.name << ": no input " << name;
    expect_matches(inputs.at(name).grad(), want, 1e-3, g.name + " dL/d" + name);
  }
  const auto params = m.named_parameters();
  EXPECT_EQ(params.size(), g.group("grads/params/").size()) << g.name << ": a gradient for every parameter";
  for (const auto& [name, p] : params) expect_matches(p.grad(), g.at("grads/params/" + name), 1e-3, g.name + " dL/d" + name);
}

void check_mha(const std::string& file) {
  Golden g(file);
  const auto& c = g.config["module"];
  const auto& f = g.config["forward"];
  MultiheadAttention m(c["embed_dim"], c["num_heads"], c["dropout"], c["bias"], c["batch_first"]);
  m.load_state_dict(g.group("weights/"));  // strict: torch's names, all of them
  m.train();                                // as recorded (dropout 0)
  std::map<std::string, Tensor> in{{"query", g.input("query")}};
  const bool self = f["self_attention"];
  if (!self) {
    in["key"] = g.input("key");
    in["value"] = g.input("value");
  }
  Tensor attn_mask = g.input("attn_mask");
  if (is_floating(attn_mask.dtype())) in["attn_mask"] = attn_mask;
  const Tensor& q = in["query"];
  auto [out, w] = m.forward(q, self ? q : in["key"], self ? q : in["value"], g.input("key_padding_mask"),
                            f["need_weights"], attn_mask, f["average_attn_weights"]);
  check(g, m, {{"output", out}, {"weights", w}}, in);
}

void check_encoder(const std::string& file) {
  Golden g(file);
  const auto& c = g.config["module"];
  TransformerEncoderLayer m(c["d_model"], c["nhead"], c["dim_feedforward"], c["dropout"],
                            c["activation"].get<std::string>(), c["layer_norm_eps"], c["batch_first"],
                            c["norm_first"]);
  m.load_state_dict(g.group("weights/"));
  m.train();
  std::map<std::string, Tensor> in{{"src", g.input("src")}};
  Tensor out = m.forward(in["src"], g.optional_input("src_mask"), g.input("src_key_padding_mask"));
  check(g, m, {{"output", out}}, in);
}

TEST(NNGolden, MultiheadAttentionCrossSeqFirstBoolMasks) { check_mha("mha_cross_seq_first"); }
TEST(NNGolden, MultiheadAttentionSelfBatchFirstPerHeadFloatMask) { check_mha("mha_self_batch_first"); }
TEST(NNGolden, TransformerEncoderLayerPostLNReLU) { check_encoder("encoder_post_ln_relu"); }
TEST(NNGolden, TransformerEncoderLayerPreLNGeluCausal) { check_encoder("encoder_pre_ln_gelu"); }

TEST(NNGolden, LSTMTwoLayersBidirectionalBatchFirstPacked) {
  Golden g("lstm_2layer_bidir_batch_first");
  const auto& c = g.config["module"];
  LSTM m(c["input_size"], c["hidden_size"], c["num_layers"], c["bias"], c["batch_first"], c["dropout"],
         c["bidirectional"]);
  m.load_state_dict(g.group("weights/"));
  m.train();
  std::map<std::string, Tensor> in{{"x", g.input("x")}, {"h0", g.input("h0")}, {"c0", g.input("c0")}};
  LSTMResult r = m.forward(in["x"], g.input("lengths"), in["h0"], in["c0"]);
  check(g, m, {{"output", r.output}, {"h_n", r.h_n}, {"c_n", r.c_n}}, in);
}

}  // namespace
}  // namespace mm::nn
