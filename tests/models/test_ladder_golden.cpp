// The 17 ladder rungs in both modes against PyTorch 1.13 (tests/golden/ladder/<rung>.safetensors,
// written by tools/golden/ladder.py, which implements the rungs from SPEC §5.3 and the seed in plain
// PyTorch): the seed-named state_dict loads strictly into make_rung's module (inside a
// CrossAttentionHead, with "temp"), the rung outputs and the logits match (relative error ≤ 1e-4,
// f32), and so do the gradients of L = Σ_k Σ(out_k ⊙ R_k) with respect to the inputs, every rung
// parameter and temp (≤ 1e-3). Token mode has padded image and text tokens.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "autograd/functions.h"
#include "models/cross_attention/head.h"
#include "runtime/safetensors.h"
#include "tests/models/golden.h"

namespace mm::models {
namespace {

using mm::testing::relative_error;

struct LadderGolden {
  std::string rung;
  std::map<std::string, Tensor> all;
  nlohmann::json config;

  explicit LadderGolden(const std::string& name) : rung(name) {
    const std::string path = std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/ladder/" + name + ".safetensors";
    all = safetensors::load_all(path);
    config = nlohmann::json::parse(safetensors::File::open(path).metadata().at("config"));
  }
  const Tensor& at(const std::string& key) const {
    auto it = all.find(key);
    if (it == all.end()) throw std::runtime_error(rung + ": the golden file has no " + key);
    return it->second;
  }
  nn::NamedTensors group(const std::string& prefix) const {
    nn::NamedTensors out;
    for (const auto& [k, v] : all)
      if (k.rfind(prefix, 0) == 0) out.emplace_back(k.substr(prefix.size()), v);
    return out;
  }
  Tensor leaf_input(const std::string& mode, const std::string& key) const {
    return at(mode + "/inputs/" + key).detach().set_requires_grad(true);
  }
};

// The head as the file describes it, with the file's weights loaded strictly under the head's names.
std::shared_ptr<CrossAttentionHead> load_head(const LadderGolden& g) {
  const auto& c = g.config;
  EXPECT_EQ(c["rung"].get<std::string>(), g.rung);
  auto head = std::make_shared<CrossAttentionHead>(
      make_rung(g.rung, c["dim"], c["heads"], c["dropout"], c["ff_dim"]), c["temp"].get<double>());
  nn::NamedTensors state{{"temp", g.at("head/temp")}};
  for (const auto& [name, t] : g.group("weights/")) state.emplace_back("cross_attention." + name, t);
  head->load_state_dict(state);  // strict: every name the seed's module has, and no other
  EXPECT_EQ(g.group("weights/").size(), head->cross_attention->state_dict().size());
  head->eval();
  return head;
}

void expect_matches(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what << " was not computed";
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what;
  EXPECT_LE(relative_error(got, want), tol) << what;
}

// to_k.bias, image_to_k.bias, text_to_k.bias: a whole tensor that only ever shifts scores per row.
// (to_kv.bias is half key bias, half value bias; the value half carries the scale, so it is compared
// as usual.)
bool is_key_bias(const std::string& key) {
  const std::string tail = "to_k.bias";
  return key.size() >= tail.size() && key.compare(key.size() - tail.size(), tail.size(), tail) == 0;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : ops::to_device(t, kCPU).to_double_vector()) m = std::max(m, std::fabs(v));
  return m;
}

struct Case {
  std::string rung, mode;
};

class LadderGoldenTest : public ::testing::TestWithParam<Case> {};

TEST_P(LadderGoldenTest, ForwardAndGradientsMatchPyTorch) {
  const auto& [rung, mode] = GetParam();
  LadderGolden g(rung);
  auto head = load_head(g);
  const std::string what = rung + " " + mode;
  Tensor image = g.leaf_input(mode, "image"), text = g.leaf_input(mode, "text");
  HeadOutput o;
  if (mode == "pair") {
    o = head->pair_fused(image, text);
  } else {
    const Tensor& image_mask = g.at("token/inputs/image_mask");
    const Tensor& text_mask = g.at("token/inputs/text_mask");
    ASSERT_EQ(image_mask.dtype(), DType::Bool);
    // The file must pad on both sides, or the mask paths would go untested.
    ASSERT_GT(sum(to(logical_not(image_mask), DType::F32)).item(), 0.0);
    ASSERT_GT(sum(to(logical_not(text_mask), DType::F32)).item(), 0.0);
    o = head->token(image, text, text_mask, image_mask);
  }
  const std::map<std::string, Tensor> outputs{
      {"image_out", o.sequences.image}, {"text_out", o.sequences.text}, {"logits", o.logits}};
  Tensor loss;
  for (const auto& [name, out] : outputs) {
    expect_matches(out, g.at(mode + "/outputs/" + name), 1e-4, what + " output " + name);
    Tensor term = sum(mul(out, g.at(mode + "/loss_weights/" + name)));
    loss = loss.defined() ? add(loss, term) : term;
  }
  EXPECT_EQ(g.group(mode + "/outputs/").size(), outputs.size()) << what << ": every stored output is checked";
  loss.backward();
  expect_matches(image.grad(), g.at(mode + "/grads/inputs/image"), 1e-3, what + " dL/dimage");
  expect_matches(text.grad(), g.at(mode + "/grads/inputs/text"), 1e-3, what + " dL/dtext");
  const auto params = head->named_parameters();
  EXPECT_EQ(params.size(), g.group(mode + "/grads/params/").size()) << what << ": a gradient for every parameter";
  for (const auto& [name, p] : params) {
    const std::string key = name.rfind("cross_attention.", 0) == 0 ? name.substr(16) : name;
    const Tensor& want = g.at(mode + "/grads/params/" + key);
    if (is_key_bias(key)) {
      // A key bias b adds q·b to every score of a row, and softmax ignores a per-row shift: its
      // gradient is 0 in exact arithmetic, and both sides hold only rounding noise (~1e-7 against
      // weight gradients ~5), where a relative error means nothing. Both must be noise-sized
      // against the same layer's weight gradient.
      const double scale = max_abs(g.at(mode + "/grads/params/" + key.substr(0, key.size() - 4) + "weight"));
      ASSERT_TRUE(p.grad().defined()) << what << " " << name;
      EXPECT_LE(max_abs(p.grad()), 1e-5 * scale) << what << " dL/d" << name << " (structurally zero)";
      EXPECT_LE(max_abs(want), 1e-5 * scale) << what << " golden dL/d" << name << " (structurally zero)";
      continue;
    }
    expect_matches(p.grad(), want, 1e-3, what + " dL/d" + name);
  }
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const std::string& r : rung_names())
    for (const char* m : {"pair", "token"}) cases.push_back({r, m});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(EveryRung, LadderGoldenTest, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.rung + "_" + info.param.mode;
                         });

// The ladder has exactly the rungs the golden script writes (a rung added on one side only fails).
TEST(LadderGolden, OneFilePerRung) {
  for (const std::string& r : rung_names()) EXPECT_NO_THROW(LadderGolden g(r)) << r;
  EXPECT_EQ(rung_names().size(), 17u);
}

}  // namespace
}  // namespace mm::models
