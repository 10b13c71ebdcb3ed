// train::AdamW against torch.optim.AdamW (tests/golden/optim/adamw.safetensors, written by
// tools/golden/optim.py): five steps, two parameter groups, a parameter skipped for one step.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nn/layers.h"
#include "ops/copy.h"
#include "runtime/safetensors.h"
#include "tests/common/expect_error.h"
#include "train/optim.h"

namespace mm::train {
namespace {

const std::string kGolden = std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/optim/adamw.safetensors";

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

TEST(AdamW, MatchesTorchOptimAdamW) {
  auto golden = safetensors::load_all(kGolden);
  auto config = nlohmann::json::parse(safetensors::File::open(kGolden).metadata().at("config"));
  std::map<std::string, Tensor> p;
  for (const char* k : {"w", "b", "s"}) {
    p[k] = Tensor::empty(golden.at(std::string("init/") + k).shape(), DType::F32, kCPU);
    ops::copy_(p[k], golden.at(std::string("init/") + k));
    p[k].set_requires_grad(true);
  }
  std::vector<ParamGroup> groups{{{{"w", p["w"]}}, config["weight_decay"]["w"].get<double>()},
                                 {{{"b", p["b"]}, {"s", p["s"]}}, 0.0}};
  AdamW opt(groups, {config["lr"].get<double>(), config["betas"][0].get<double>(), config["betas"][1].get<double>(),
                     config["eps"].get<double>()});
  for (int step = 1; step <= config["steps"].get<int>(); ++step) {
    opt.zero_grad();
    for (auto& [k, t] : p) {
      auto it = golden.find("grads/" + std::to_string(step) + "/" + k);
      if (it != golden.end()) t.set_grad(it->second);
    }
    opt.step();
  }
  size_t i = 0;
  for (const char* k : {"w", "b", "s"}) {
    EXPECT_LE(max_rel_diff(p[k], golden.at(std::string("final/") + k)), 1e-6) << k;
    const AdamW::State& st = opt.state()[i++];
    EXPECT_LE(max_rel_diff(st.exp_avg, golden.at(std::string("exp_avg/") + k)), 1e-6) << k;
    EXPECT_LE(max_rel_diff(st.exp_avg_sq, golden.at(std::string("exp_avg_sq/") + k)), 1e-6) << k;
    EXPECT_EQ(st.step, config["param_steps"][k].get<int64_t>()) << k;
  }
}

TEST(AdamW, WeightDecayGroupsExcludeVectorsAndScalars) {
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

TEST(AdamW, AParameterThatNeedsNoGradientIsRejectedByName) {
  Tensor frozen = ops::zeros({2});
  EXPECT_ERROR_CONTAINS(AdamW({{{{"frozen", frozen}}, 0.0}}, {}), ErrorKind::Value, "AdamW", "parameter 'frozen'",
                        "does not require grad");
}

}  // namespace
}  // namespace mm::train
