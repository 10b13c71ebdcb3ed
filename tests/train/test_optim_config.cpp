// Optimizers from the config (train/optim_config.h): which parameters get weight decay, the
// per-prefix lr multipliers and decay overrides, frozen prefixes, the optimizer kinds, and errors
// that name the config field.
#include <gtest/gtest.h>

#include "nn/layers.h"
#include "ops/copy.h"
#include "tests/common/expect_error.h"
#include "train/config.h"
#include "train/optim_config.h"

namespace mm::train {
namespace {

// A dual-encoder-shaped toy: towers, a projection whose name starts like a tower's, and 2-d logit
// parameters (so only their names, not their rank, keep them out of weight decay).
class Toy : public nn::Module {
 public:
  Toy() : Module("Toy") {
    logit_scale = ops::zeros({1, 1});
    logit_bias = ops::zeros({1, 1});
    register_parameter("logit_scale", &logit_scale);
    register_parameter("logit_bias", &logit_bias);
    register_module("image", std::make_shared<nn::Linear>(4, 3));
    register_module("image_proj", std::make_shared<nn::Linear>(3, 2));
    register_module("text", std::make_shared<nn::Linear>(5, 2));
  }
  Tensor logit_scale, logit_bias;
};

config::Optim optim(const std::string& text) { return parse_config("optim { " + text + " }").optim(); }

struct Placement {
  double weight_decay, lr_multiplier;
  bool operator==(const Placement& o) const {
    return weight_decay == o.weight_decay && lr_multiplier == o.lr_multiplier;
  }
};

// name → (weight decay, lr multiplier) of the group holding it.
std::map<std::string, Placement> placements(const std::vector<ParamGroup>& groups) {
  std::map<std::string, Placement> out;
  for (const ParamGroup& g : groups)
    for (auto& [name, p] : g.params)
      EXPECT_TRUE(out.emplace(name, Placement{g.weight_decay, g.lr_multiplier}).second) << name;
  return out;
}

TEST(ParamGroups, DefaultsDecayMatricesOnlyAndNeverTheLogitParameters) {
  Toy m;
  auto groups = make_param_groups(m, optim(""));
  auto p = placements(groups);
  ASSERT_EQ(p.size(), 8u);
  EXPECT_EQ(p.at("logit_scale"), (Placement{0.0, 1.0}));  // 2-d, but named logit_scale
  EXPECT_EQ(p.at("logit_bias"), (Placement{0.0, 1.0}));
  EXPECT_EQ(p.at("image.weight"), (Placement{0.1, 1.0}));  // default weight_decay 0.1
  EXPECT_EQ(p.at("image.bias"), (Placement{0.0, 1.0}));
  ASSERT_EQ(groups.size(), 2u);  // equal settings share a group, in the model's parameter order
  EXPECT_EQ(groups[0].params[0].first, "logit_scale");
  EXPECT_EQ(groups[1].params[0].first, "image.weight");
}

TEST(ParamGroups, RulesSetMultipliersAndDecayLongestPrefixWins) {
  Toy m;
  auto p = placements(make_param_groups(m, optim(R"(
      weight_decay: 0.2
      group { prefix: "image" lr_multiplier: 0.1 }
      group { prefix: "image.weight" lr_multiplier: 0.5 }
      group { prefix: "text." lr_multiplier: 2 weight_decay: 0.05 })")));
  EXPECT_EQ(p.at("image.weight"), (Placement{0.2, 0.5}));  // the longer prefix
  EXPECT_EQ(p.at("image.bias"), (Placement{0.0, 0.1}));
  EXPECT_EQ(p.at("image_proj.weight"), (Placement{0.2, 1.0}));  // "image" stops at a '.' boundary
  EXPECT_EQ(p.at("text.weight"), (Placement{0.05, 2.0}));
  EXPECT_EQ(p.at("text.bias"), (Placement{0.0, 2.0}));  // a 1-d parameter never decays
  EXPECT_EQ(p.at("logit_scale"), (Placement{0.0, 1.0}));
}

TEST(ParamGroups, FrozenPrefixesAreLeftOutUnlessIncluded) {
  Toy m;
  const config::Optim o = optim(R"(freeze_prefix: "image" freeze_prefix: "logit_bias" freeze_steps: 100)");
  auto frozen = placements(make_param_groups(m, o));
  EXPECT_EQ(frozen.size(), 5u);
  for (const char* n : {"image.weight", "image.bias", "logit_bias"}) EXPECT_FALSE(frozen.count(n)) << n;
  EXPECT_TRUE(frozen.count("image_proj.weight"));
  auto all = placements(make_param_groups(m, o, /*include_frozen=*/true));
  EXPECT_EQ(all.size(), 8u);
  EXPECT_EQ(all.at("image.weight"), (Placement{0.1, 1.0}));
}

TEST(ParamGroups, ErrorsNameTheField) {
  Toy m;
  EXPECT_ERROR_CONTAINS(make_param_groups(m, optim(R"(group { prefix: "imgae" lr_multiplier: 2 })")), ErrorKind::Value,
                        "optim.group[0].prefix 'imgae'", "matches no parameter");
  EXPECT_ERROR_CONTAINS(make_param_groups(m, optim(R"(freeze_prefix: "text" freeze_prefix: "txet")")), ErrorKind::Value,
                        "optim.freeze_prefix[1] 'txet'", "matches no parameter");
  EXPECT_ERROR_CONTAINS(make_param_groups(m, optim(R"(group { prefix: "text" lr_multiplier: -1 })")), ErrorKind::Value,
                        "optim.group[0].lr_multiplier");
  EXPECT_ERROR_CONTAINS(make_param_groups(m, optim(R"(group { lr_multiplier: 1 })")), ErrorKind::Value,
                        "optim.group[0].prefix is empty");
  EXPECT_ERROR_CONTAINS(make_param_groups(m, optim(R"(group { prefix: "text" weight_decay: -0.1 })")), ErrorKind::Value,
                        "optim.group[0].weight_decay");
  EXPECT_ERROR_CONTAINS(make_param_groups(m, optim("weight_decay: -1")), ErrorKind::Value, "optim.weight_decay");
  EXPECT_ERROR_CONTAINS(make_param_groups(m, optim(R"(freeze_prefix: "image" freeze_prefix: "image_proj"
      freeze_prefix: "text" freeze_prefix: "logit_scale" freeze_prefix: "logit_bias")")),
                        ErrorKind::Value, "optim.freeze_prefix leaves no parameter");
}

TEST(MakeOptimizer, KindsAndDefaults) {
  Toy m;
  auto make = [&](const std::string& text) {
    const config::Optim o = optim(text);
    return make_optimizer(o, make_param_groups(m, o));
  };
  EXPECT_EQ(make("")->kind(), "AdamW");
  EXPECT_EQ(make(R"(kind: "adamw" lr: 0.5)")->lr(), 0.5);
  EXPECT_EQ(make(R"(kind: "adam")")->kind(), "Adam");
  auto sgd = make(R"(kind: "sgd" nesterov: true)");
  EXPECT_EQ(sgd->kind(), "SGD");
  EXPECT_EQ(sgd->lr(), 1e-3);
  EXPECT_EQ(sgd->groups().size(), 2u);
  EXPECT_ERROR_CONTAINS(make(R"(kind: "rmsprop")"), ErrorKind::Value, "optim.kind 'rmsprop'", "adamw | adam | sgd");
  EXPECT_ERROR_CONTAINS(make(R"(kind: "sgd" momentum: 0 nesterov: true)"), ErrorKind::Value, "optim.nesterov");
  EXPECT_ERROR_CONTAINS(make(R"(kind: "sgd" momentum: 1.5)"), ErrorKind::Value, "optim.momentum");
  EXPECT_ERROR_CONTAINS(make(R"(beta2: 1)"), ErrorKind::Value, "optim.beta2");
  EXPECT_ERROR_CONTAINS(make(R"(eps: 0)"), ErrorKind::Value, "optim.eps");
  EXPECT_ERROR_CONTAINS(make(R"(lr: -1)"), ErrorKind::Value, "optim.lr");
}

// End to end: the default SGD momentum is 0.9 (the second step moves by lr·(0.9·g + g)), and a
// rule's multiplier reaches the update.
TEST(MakeOptimizer, SgdDefaultMomentumAndMultiplierReachTheUpdate) {
  auto lin = std::make_shared<nn::Linear>(2, 1);
  const config::Optim o = optim(R"(kind: "sgd" lr: 0.5 weight_decay: 0 group { prefix: "bias" lr_multiplier: 0.5 })");
  auto opt = make_optimizer(o, make_param_groups(*lin, o));
  ops::fill_(lin->weight, 0.0);
  ops::fill_(lin->bias, 0.0);
  for (int k = 0; k < 2; ++k) {
    lin->weight.set_grad(ops::ones({1, 2}));
    lin->bias.set_grad(ops::ones({1}));
    opt->step();
  }
  // f32 arithmetic (0.9 is not exact): within a few ulps of −0.5·(1 + 1.9) and −0.25·(1 + 1.9).
  for (double w : lin->weight.to_double_vector()) EXPECT_NEAR(w, -1.45, 1e-6);
  EXPECT_NEAR(lin->bias.item(), -0.725, 1e-6);
}

}  // namespace
}  // namespace mm::train
