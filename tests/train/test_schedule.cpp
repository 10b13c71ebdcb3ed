// Learning-rate schedules (train/schedule.h): against torch.optim.lr_scheduler's values
// (tests/golden/optim/schedules.safetensors, written by tools/golden/optim.py), against the formulas
// written out here, and errors that name the config field.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "runtime/safetensors.h"
#include "tests/common/expect_error.h"
#include "train/config.h"
#include "train/schedule.h"

namespace mm::train {
namespace {

const std::string kGolden = std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/optim/schedules.safetensors";
constexpr double kPi = 3.14159265358979323846;

config::Optim optim(const std::string& text) { return parse_config("optim { " + text + " }").optim(); }

struct Golden {
  std::map<std::string, Tensor> lrs = safetensors::load_all(kGolden);
  nlohmann::json config = nlohmann::json::parse(safetensors::File::open(kGolden).metadata().at("config"));
};

// MultiStepLR multiplies by gamma once per milestone, as lr_at does: equal to the last bit.
TEST(LrSchedule, MultistepEqualsTorchMultiStepLR) {
  Golden g;
  const auto& c = g.config["multistep"];
  config::Optim o = optim(R"(schedule: "multistep")");
  o.set_lr(c["lr"].get<double>());
  o.set_gamma(c["gamma"].get<double>());
  for (int64_t m : c["milestones"]) o.add_milestones(m);
  LrSchedule s(o, c["steps"].get<int64_t>());
  const std::vector<double> torch = g.lrs.at("multistep").to_double_vector();
  ASSERT_EQ(torch.size(), c["steps"].get<size_t>());
  for (size_t k = 0; k < torch.size(); ++k) EXPECT_EQ(s.lr_at(static_cast<int64_t>(k)), torch[k]) << "step " << k;
}

// torch steps CosineAnnealingLR recursively, so its values differ from the closed form by rounding
// (a few 1e-16 relative here); 1e-13 leaves room for that and nothing else.
void expect_close(const LrSchedule& s, const std::vector<double>& torch) {
  for (size_t k = 0; k < torch.size(); ++k)
    EXPECT_NEAR(s.lr_at(static_cast<int64_t>(k)), torch[k], 1e-13 * std::fabs(torch[k])) << "step " << k;
}

TEST(LrSchedule, CosineEqualsTorchCosineAnnealingLR) {
  Golden g;
  const auto& c = g.config["cosine"];
  config::Optim o = optim(R"(schedule: "cosine")");
  o.set_lr(c["lr"].get<double>());
  o.set_min_lr(c["eta_min"].get<double>());
  const std::vector<double> torch = g.lrs.at("cosine").to_double_vector();
  ASSERT_EQ(torch.size(), c["T_max"].get<size_t>() + 1);  // its end (eta_min) included
  expect_close(LrSchedule(o, c["T_max"].get<int64_t>()), torch);
}

TEST(LrSchedule, WarmupCosineEqualsTorchLinearLRThenCosineAnnealingLR) {
  Golden g;
  const auto& c = g.config["warmup_cosine"];
  config::Optim o;  // the defaults: cosine, min_lr 0
  o.set_lr(c["lr"].get<double>());
  o.set_warmup_steps(c["warmup"].get<int64_t>());
  const std::vector<double> torch = g.lrs.at("warmup_cosine").to_double_vector();
  ASSERT_EQ(torch.size(), c["total"].get<size_t>());
  expect_close(LrSchedule(o, c["total"].get<int64_t>()), torch);
}

// The trainer's schedule (warmup, then cosine from the end of warmup to 0), written out: bitwise.
TEST(LrSchedule, WarmupThenCosineFormula) {
  const double lr = 3e-3;
  const int64_t warmup = 7, total = 50;
  LrSchedule s(optim("lr: 3e-3 warmup_steps: 7"), total);
  EXPECT_EQ(s.kind(), "cosine");
  for (int64_t k = 0; k < warmup; ++k) EXPECT_EQ(s.lr_at(k), lr * static_cast<double>(k + 1) / 7.0) << k;
  for (int64_t k = warmup; k <= total + 3; ++k) {
    const double p = std::min(1.0, static_cast<double>(k - warmup) / static_cast<double>(total - warmup));
    EXPECT_EQ(s.lr_at(k), 0.5 * lr * (1.0 + std::cos(kPi * p))) << k;
  }
  EXPECT_EQ(s.lr_at(warmup), lr);
  EXPECT_EQ(s.lr_at(total), 0.0);
  LrSchedule floor(optim("lr: 1 min_lr: 0.25"), 10);
  EXPECT_EQ(floor.lr_at(0), 1.0);
  EXPECT_EQ(floor.lr_at(5), 0.625);  // halfway: (1 + 0.25) / 2
  EXPECT_EQ(floor.lr_at(10), 0.25);
}

TEST(LrSchedule, ConstantAndMultistepKeepTheWarmup) {
  LrSchedule c(optim(R"(lr: 0.5 schedule: "constant" warmup_steps: 4)"), 100);
  EXPECT_EQ((std::vector<double>{c.lr_at(0), c.lr_at(1), c.lr_at(3), c.lr_at(4), c.lr_at(99)}),
            (std::vector<double>{0.125, 0.25, 0.5, 0.5, 0.5}));
  LrSchedule m(optim(R"(lr: 1 schedule: "multistep" warmup_steps: 2 milestones: [5, 6] gamma: 0.5)"), 10);
  EXPECT_EQ((std::vector<double>{m.lr_at(0), m.lr_at(1), m.lr_at(4), m.lr_at(5), m.lr_at(6), m.lr_at(9)}),
            (std::vector<double>{0.5, 1.0, 1.0, 0.5, 0.25, 0.25}));
}

// Constant, then the last cooldown_steps decay linearly (lr·(total − s)/cooldown): the warmup mirrored.
TEST(LrSchedule, ConstantCooldown) {
  LrSchedule s(optim(R"(lr: 1 schedule: "constant_cooldown" warmup_steps: 2 cooldown_steps: 4)"), 10);
  std::vector<double> got;
  for (int64_t k = 0; k <= 10; ++k) got.push_back(s.lr_at(k));
  EXPECT_EQ(got, (std::vector<double>{0.5, 1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0}));
}

TEST(LrSchedule, ErrorsNameTheField) {
  auto make = [](const std::string& text, int64_t total = 10) { LrSchedule s(optim(text), total); };
  EXPECT_ERROR_CONTAINS(make(R"(schedule: "linear")"), ErrorKind::Value, "optim.schedule 'linear'",
                        "cosine | constant | multistep | constant_cooldown");
  EXPECT_ERROR_CONTAINS(make(R"(schedule: "multistep")"), ErrorKind::Value, "optim.milestones");
  EXPECT_ERROR_CONTAINS(make(R"(schedule: "multistep" milestones: [4, 4])"), ErrorKind::Value, "optim.milestones",
                        "milestones[1] is 4");
  EXPECT_ERROR_CONTAINS(make(R"(schedule: "multistep" milestones: [0])"), ErrorKind::Value, "milestones[0] is 0");
  EXPECT_ERROR_CONTAINS(make(R"(schedule: "multistep" milestones: [3] gamma: 0)"), ErrorKind::Value, "optim.gamma");
  EXPECT_ERROR_CONTAINS(make("lr: 0.1 min_lr: 0.2"), ErrorKind::Value, "optim.min_lr");
  EXPECT_ERROR_CONTAINS(make(R"(schedule: "constant_cooldown")"), ErrorKind::Value, "optim.cooldown_steps");
  EXPECT_ERROR_CONTAINS(make(R"(schedule: "constant_cooldown" warmup_steps: 4 cooldown_steps: 7)"), ErrorKind::Value,
                        "optim.cooldown_steps must be in [1, 6]", "got 7");
  EXPECT_ERROR_CONTAINS(make("warmup_steps: -1"), ErrorKind::Value, "optim.warmup_steps");
  EXPECT_ERROR_CONTAINS(make("lr: -1"), ErrorKind::Value, "optim.lr");
  EXPECT_ERROR_CONTAINS(make("", 0), ErrorKind::Value, "total steps");
}

}  // namespace
}  // namespace mm::train
