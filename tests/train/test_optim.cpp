// train::SGD, Adam and AdamW against torch.optim (tests/golden/optim/{sgd,adam,adamw}.safetensors,
// written by tools/golden/optim.py): five steps, two parameter groups (the second with its own lr in
// the SGD and Adam runs: our lr_multiplier), a parameter skipped for one step. Then checkpoints:
// state_dict → a fresh optimizer → load_state_dict continues bitwise as an uninterrupted run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nn/layers.h"
#include "ops/copy.h"
#include "runtime/safetensors.h"
#include "tests/common/expect_error.h"
#include "train/optim.h"

namespace mm::train {
namespace {

const std::string kGoldenDir = std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/optim/";

double max_rel_diff(const Tensor& a, const Tensor& b) {
  auto x = a.to_double_vector(), y = b.to_double_vector();
  EXPECT_EQ(x.size(), y.size());
  double d = 0, m = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    d = std::max(d, std::fabs(x[i] - y[i]));
    m = std::max(m, std::fabs(y[i]));
  }
  return d / std::max(m, 1e-12);
}

Tensor leaf_copy(const Tensor& t) {
  Tensor p = Tensor::empty(t.shape(), DType::F32, kCPU);
  ops::copy_(p, t);
  p.set_requires_grad(true);
  return p;
}

// One golden run (names under `run`, "" for adamw's flat file): parameters w (group 0, weight decay
// `decay`) and b, s (group 1, no decay, lr × `mult`); makes the optimizer, replays the gradients,
// compares parameters, the named state tensors and step counts with torch's.
template <typename MakeOpt>
void replay_golden(const std::string& file, const std::string& run, double decay, double mult, int steps,
                   const nlohmann::json& param_steps, const std::vector<std::string>& state_names, MakeOpt make) {
  SCOPED_TRACE(file + " " + run);
  auto golden = safetensors::load_all(kGoldenDir + file);
  std::map<std::string, Tensor> p;
  for (const char* k : {"w", "b", "s"}) p[k] = leaf_copy(golden.at(run + "init/" + k));
  std::vector<ParamGroup> groups{{{{"w", p["w"]}}, decay, 1.0}, {{{"b", p["b"]}, {"s", p["s"]}}, 0.0, mult}};
  std::unique_ptr<Optimizer> opt = make(groups);
  for (int step = 1; step <= steps; ++step) {
    opt->zero_grad();
    for (auto& [k, t] : p) {
      auto it = golden.find(run + "grads/" + std::to_string(step) + "/" + k);
      if (it != golden.end()) t.set_grad(it->second);
    }
    opt->step();
  }
  const auto state = opt->state_dict();
  for (const char* k : {"w", "b", "s"}) {
    EXPECT_LE(max_rel_diff(p[k], golden.at(run + "final/" + k)), 1e-6) << k;
    for (const std::string& n : state_names)
      EXPECT_LE(max_rel_diff(state.at(std::string(k) + "." + n), golden.at(run + n + "/" + k)), 1e-6) << k << " " << n;
    EXPECT_EQ(state.at(std::string(k) + ".step").item(), param_steps[k].get<int64_t>()) << k;
  }
}

nlohmann::json golden_config(const std::string& file) {
  return nlohmann::json::parse(safetensors::File::open(kGoldenDir + file).metadata().at("config"));
}

TEST(AdamW, MatchesTorchOptimAdamW) {
  const auto c = golden_config("adamw.safetensors");
  replay_golden("adamw.safetensors", "", c["weight_decay"]["w"].get<double>(), 1.0, c["steps"].get<int>(),
                c["param_steps"], {"exp_avg", "exp_avg_sq"}, [&](std::vector<ParamGroup> g) {
                  return std::make_unique<AdamW>(
                      g, AdamW::Options{c["lr"].get<double>(), c["betas"][0].get<double>(), c["betas"][1].get<double>(),
                                        c["eps"].get<double>()});
                });
}

TEST(Adam, MatchesTorchOptimAdamWithL2WeightDecay) {
  const auto all = golden_config("adam.safetensors");
  ASSERT_EQ(all.size(), 2u);
  for (auto it = all.begin(); it != all.end(); ++it) {
    const std::string run = it.key();
    const nlohmann::json& c = it.value();
    replay_golden("adam.safetensors", run + "/", c["weight_decay"].get<double>(), c["lr_multiplier"].get<double>(),
                  c["steps"].get<int>(), c["param_steps"], {"exp_avg", "exp_avg_sq"}, [&](std::vector<ParamGroup> g) {
                    return std::make_unique<Adam>(g,
                                                  Adam::Options{c["lr"].get<double>(), c["betas"][0].get<double>(),
                                                                c["betas"][1].get<double>(), c["eps"].get<double>()});
                  });
  }
}

TEST(SGD, MatchesTorchOptimSgdPlainMomentumNesterov) {
  const auto all = golden_config("sgd.safetensors");
  ASSERT_EQ(all.size(), 3u);
  for (auto it = all.begin(); it != all.end(); ++it) {
    const std::string run = it.key();
    const nlohmann::json& c = it.value();
    const double momentum = c["momentum"].get<double>();
    std::vector<std::string> names;
    if (momentum != 0) names.push_back("momentum_buffer");
    replay_golden(
        "sgd.safetensors", run + "/", c["weight_decay"].get<double>(), c["lr_multiplier"].get<double>(),
        c["steps"].get<int>(), c["param_steps"], names, [&](std::vector<ParamGroup> g) {
          return std::make_unique<SGD>(g, SGD::Options{c["lr"].get<double>(), momentum, c["nesterov"].get<bool>()});
        });
  }
}

// ---- checkpoints: state_dict / load_state_dict ----------------------------------------------------

using Factory = std::function<std::unique_ptr<Optimizer>(std::vector<ParamGroup>)>;

struct Training {
  Tensor w, b;
  std::unique_ptr<Optimizer> opt;
  Training(const Factory& make, const Tensor& w0, const Tensor& b0) : w(leaf_copy(w0)), b(leaf_copy(b0)) {
    opt = make({{{{"w", w}}, 0.05, 1.0}, {{{"b", b}}, 0.0, 0.5}});
  }
  // Step k's gradients are a fixed function of k; b has none at step 2 (its step count lags).
  void step(int k) {
    opt->zero_grad();
    w.set_grad(ops::full(w.shape(), 0.3 * std::sin(k + 1.0)));
    if (k != 2) b.set_grad(ops::full(b.shape(), -0.7 * std::cos(3.0 * k)));
    opt->step();
  }
};

void expect_bitwise(const Tensor& a, const Tensor& b, const char* what) {
  EXPECT_EQ(a.to_double_vector(), b.to_double_vector()) << what;
}

const std::vector<std::pair<const char*, Factory>>& factories() {
  static const std::vector<std::pair<const char*, Factory>> f = {
      {"sgd momentum",
       [](auto g) {
         return std::make_unique<SGD>(g, SGD::Options{0.1, 0.9, false});
       }},
      {"sgd nesterov",
       [](auto g) {
         return std::make_unique<SGD>(g, SGD::Options{0.1, 0.8, true});
       }},
      {"sgd plain",
       [](auto g) {
         return std::make_unique<SGD>(g, SGD::Options{0.1, 0.0, false});
       }},
      {"adam", [](auto g) { return std::make_unique<Adam>(g, Adam::Options{1e-2}); }},
      {"adamw", [](auto g) { return std::make_unique<AdamW>(g, AdamW::Options{1e-2}); }},
  };
  return f;
}

TEST(OptimizerStateDict, SaveLoadContinuesBitwiseAsAnUninterruptedRun) {
  const Tensor w0 = ops::full({3, 2}, 0.5), b0 = ops::full({2}, -0.25);
  for (auto& [name, make] : factories()) {
    SCOPED_TRACE(name);
    Training straight(make, w0, b0), first(make, w0, b0);
    for (int k = 1; k <= 6; ++k) straight.step(k);
    for (int k = 1; k <= 3; ++k) first.step(k);
    // Fresh parameters (from the saved values) and a fresh optimizer, as after a restart.
    const auto saved = first.opt->state_dict();
    Training resumed(make, first.w.detach(), first.b.detach()), fresh(make, first.w.detach(), first.b.detach());
    resumed.opt->load_state_dict(saved);
    EXPECT_EQ(resumed.opt->state_dict().size(), saved.size());
    for (int k = 4; k <= 6; ++k) {
      resumed.step(k);
      fresh.step(k);
    }
    expect_bitwise(resumed.w, straight.w, "w");
    expect_bitwise(resumed.b, straight.b, "b");
    EXPECT_EQ(resumed.opt->state_dict().at("b.step").item(), 5);  // b skipped step 2
    // Without the state the continuation differs (momentum / moments / bias corrections), except
    // for stateless plain SGD: the round trip above is not vacuous.
    if (std::string(name) != "sgd plain") {
      EXPECT_NE(fresh.w.to_double_vector(), straight.w.to_double_vector());
    }
  }
}

TEST(OptimizerStateDict, NamesStepsAndBuffers) {
  const Tensor w0 = ops::full({3, 2}, 0.5), b0 = ops::full({2}, -0.25);
  Training adam(factories()[3].second, w0, b0), sgd(factories()[0].second, w0, b0), plain(factories()[2].second, w0, b0);
  EXPECT_TRUE(adam.opt->state_dict().empty());      // nothing has stepped
  for (Training* r : {&adam, &sgd, &plain}) r->step(2);  // b has no gradient at step 2
  auto keys = [](const Training& r) {
    std::vector<std::string> k;
    for (auto& [n, t] : r.opt->state_dict()) k.push_back(n);
    return k;
  };
  EXPECT_EQ(keys(adam), (std::vector<std::string>{"w.exp_avg", "w.exp_avg_sq", "w.step"}));
  EXPECT_EQ(keys(sgd), (std::vector<std::string>{"w.momentum_buffer", "w.step"}));
  EXPECT_EQ(keys(plain), (std::vector<std::string>{"w.step"}));
  const Tensor step = adam.opt->state_dict().at("w.step");
  EXPECT_EQ(step.dtype(), DType::I64);
  EXPECT_EQ(step.dim(), 0);
  EXPECT_EQ(step.item(), 1);
}

TEST(OptimizerStateDict, BadStateIsRejectedByKeyAndNothingIsLoaded) {
  const Tensor w0 = ops::full({3, 2}, 0.5), b0 = ops::full({2}, -0.25);
  Training adam(factories()[3].second, w0, b0), sgd(factories()[0].second, w0, b0);
  adam.step(1);
  sgd.step(1);
  const auto good = adam.opt->state_dict();
  const auto before = good.at("w.exp_avg").to_double_vector();
  auto with = [&](const std::string& key, const Tensor& t) {
    auto s = good;
    s[key] = t;
    return s;
  };
  auto without = [&](const std::string& key) {
    auto s = good;
    s.erase(key);
    return s;
  };
  Optimizer& o = *adam.opt;
  EXPECT_ERROR_CONTAINS(o.load_state_dict(with("v.exp_avg", ops::zeros({3, 2}))), ErrorKind::Value, "Adam",
                        "load_state_dict", "'v.exp_avg'", "names no parameter");
  EXPECT_ERROR_CONTAINS(o.load_state_dict(with("w.momentum_buffer", ops::zeros({3, 2}))), ErrorKind::Value,
                        "'w.momentum_buffer'", "is not state of Adam", "exp_avg_sq");
  EXPECT_ERROR_CONTAINS(o.load_state_dict(with("w.exp_avg", ops::zeros({2, 3}))), ErrorKind::Shape, "'w.exp_avg'",
                        "[2,3]", "[3,2]");
  EXPECT_ERROR_CONTAINS(o.load_state_dict(with("w.exp_avg", ops::zeros({3, 2}, DType::F64))), ErrorKind::DType,
                        "'w.exp_avg'", "f64");
  EXPECT_ERROR_CONTAINS(o.load_state_dict(with("w.step", ops::zeros({}))), ErrorKind::Value, "'w.step'", "0-d i64");
  EXPECT_ERROR_CONTAINS(o.load_state_dict(with("w.step", ops::zeros({}, DType::I64))), ErrorKind::Value, "'w.step'",
                        "counts from 1");
  EXPECT_ERROR_CONTAINS(o.load_state_dict(without("w.step")), ErrorKind::Value, "'w.step' is missing");
  EXPECT_ERROR_CONTAINS(o.load_state_dict(without("w.exp_avg_sq")), ErrorKind::Value, "'w.exp_avg_sq' is missing");
  EXPECT_ERROR_CONTAINS(o.load_state_dict(with("b.exp_avg", Tensor())), ErrorKind::Value, "'b.exp_avg'", "undefined");
  // SGD without momentum keeps no buffer: a momentum buffer in its state is an error too (b's comes first).
  Training plain(factories()[2].second, w0, b0);
  EXPECT_ERROR_CONTAINS(plain.opt->load_state_dict(sgd.opt->state_dict()), ErrorKind::Value, "'b.momentum_buffer'",
                        "is not state of SGD");
  // Every failure above left the state as it was.
  EXPECT_EQ(o.state_dict().at("w.exp_avg").to_double_vector(), before);
  EXPECT_EQ(o.state_dict().size(), good.size());
}

// ---- construction and groups ----------------------------------------------------------------------

TEST(Optimizer, LrMultiplierScalesEachGroupsLearningRate) {
  // Plain SGD moves θ by −lr·mult·g exactly (dyadic values: no rounding).
  Tensor a = leaf_copy(ops::zeros({2})), b = leaf_copy(ops::zeros({2}));
  SGD opt({{{{"a", a}}, 0.0, 1.0}, {{{"b", b}}, 0.0, 0.25}}, {0.5});
  opt.set_lr(0.25);  // the schedule's base lr replaces the constructor's
  a.set_grad(ops::ones({2}));
  b.set_grad(ops::ones({2}));
  opt.step();
  EXPECT_EQ(a.to_double_vector(), (std::vector<double>{-0.25, -0.25}));
  EXPECT_EQ(b.to_double_vector(), (std::vector<double>{-0.0625, -0.0625}));
  EXPECT_EQ(opt.lr(), 0.25);
}

TEST(Optimizer, WeightDecayGroupsExcludeVectorsAndScalars) {
  auto lin = std::make_shared<nn::Linear>(4, 3);
  auto groups = weight_decay_groups(*lin, 0.2);
  ASSERT_EQ(groups.size(), 2u);
  ASSERT_EQ(groups[0].params.size(), 1u);
  EXPECT_EQ(groups[0].params[0].first, "weight");
  EXPECT_EQ(groups[0].weight_decay, 0.2);
  ASSERT_EQ(groups[1].params.size(), 1u);
  EXPECT_EQ(groups[1].params[0].first, "bias");
  EXPECT_EQ(groups[1].weight_decay, 0.0);
}

TEST(Optimizer, ConstructionErrorsNameTheOptimizerAndTheProblem) {
  Tensor frozen = ops::zeros({2});
  EXPECT_ERROR_CONTAINS(AdamW({{{{"frozen", frozen}}, 0.0}}, {}), ErrorKind::Value, "AdamW", "parameter 'frozen'",
                        "does not require grad");
  Tensor p = leaf_copy(ops::zeros({2}));
  EXPECT_ERROR_CONTAINS(SGD({{{{"p", p}}, 0.0}, {{{"p", p}}, 0.0}}, {}), ErrorKind::Value, "SGD", "'p' appears twice");
  EXPECT_ERROR_CONTAINS(SGD({{{{"p", p}}, 0.0}}, {0.1, 0.0, true}), ErrorKind::Value, "SGD", "nesterov");
  EXPECT_ERROR_CONTAINS(SGD({{{{"p", p}}, 0.0}}, {0.1, 1.0, false}), ErrorKind::Value, "momentum");
  EXPECT_ERROR_CONTAINS(Adam({{{{"p", p}}, 0.0}}, {1e-3, 1.0}), ErrorKind::Value, "Adam", "beta1");
  EXPECT_ERROR_CONTAINS(Adam({{{{"p", p}}, -1.0}}, {}), ErrorKind::Value, "group 0", "weight_decay");
  EXPECT_ERROR_CONTAINS(Adam({{{{"p", p}}, 0.0, -2.0}}, {}), ErrorKind::Value, "group 0", "lr_multiplier");
  AdamW ok({{{{"p", p}}, 0.0}}, {});
  EXPECT_ERROR_CONTAINS(ok.set_lr(-1), ErrorKind::Value, "AdamW", "lr");
}

TEST(Optimizer, AStepThatFailsNamesTheParameterAndLeavesNoState) {
  Tensor p = leaf_copy(ops::zeros({2}));
  SGD opt({{{{"p", p}}, 0.0}}, {0.1, 0.9});
  p.set_grad(ops::zeros({2}, DType::F64));  // not the parameter's dtype
  EXPECT_ERROR_CONTAINS(opt.step(), ErrorKind::DType, "SGD", "parameter 'p'", "grad");
  EXPECT_TRUE(opt.state_dict().empty());
  EXPECT_FALSE(opt.state()[0].momentum_buffer.defined());
}

}  // namespace
}  // namespace mm::train
