// train.precision through the trainer (train/mixed_precision.h): bf16 and f16 runs train and track the
// f32 run, f16's loss scaler skips overflowing steps (parameters unchanged, scale halved) and its
// state resumes bit for bit; train.dtype f64 trains in double precision.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "tests/common/expect_error.h"
#include "train/trainer.h"

namespace mm::train {
namespace {

namespace fs = std::filesystem;

const char* kTiny = R"(
model {
  image { vit { patch_size: 8 num_layers: 1 num_heads: 2 hidden_dim: 16 mlp_dim: 32 dropout: 0 } image_size: 32 }
  text { lstm { embed_dim: 16 hidden_size: 16 } max_length: 12 }
}
data { synthetic { num_train: 64 num_val: 8 num_test: 8 image_size: 32 } num_workers: 0 }
head { embed_dim: 16 }
optim { lr: 3e-3 }
train { steps: 12 batch_size: 16 seed: 7 threads: 1 }
)";

std::vector<double> run(const std::vector<std::string>& overrides, int steps, Trainer** keep = nullptr) {
  config::Config cfg = parse_config(kTiny);
  for (const std::string& o : overrides) apply_override(cfg, o);
  auto* t = new Trainer(cfg, ".", "");
  std::vector<double> losses;
  for (int i = 0; i < steps; ++i) losses.push_back(t->step());
  if (keep) {
    *keep = t;
  } else {
    delete t;
  }
  return losses;
}

TEST(TrainerPrecision, LowPrecisionRunsTrackTheF32Run) {
  const std::vector<double> f32 = run({}, 12);
  for (const char* p : {"bf16", "f16"}) {
    const std::vector<double> low = run({std::string("train.precision=") + p}, 12);
    // The first loss differs only by the rounding of the forward in the low dtype (bf16: 8 bits of
    // mantissa, relative steps of 2^-8 ≈ 4e-3 per op, a few percent after the towers).
    EXPECT_NEAR(low[0], f32[0], 3e-2 * f32[0]) << p;
    for (double l : low) EXPECT_TRUE(std::isfinite(l)) << p;
    EXPECT_LT((low[9] + low[10] + low[11]) / 3, (low[0] + low[1] + low[2]) / 3) << p;
  }
}

TEST(TrainerPrecision, F16OverflowSkipsTheStepAndHalvesTheScale) {
  Trainer* t = nullptr;
  // 2^40: the first backward overflows f16 for certain; each skipped step halves the scale.
  run({"train.precision=f16", "train.loss_scale.init_scale=1099511627776"}, 1, &t);
  std::unique_ptr<Trainer> owner(t);
  const StepLog& first = t->history().back();
  EXPECT_TRUE(std::isnan(first.grad_norm));  // no gradient norm on a skipped step
  EXPECT_EQ(first.loss_scale, std::ldexp(1.0, 39));
  const auto before = t->model().state_dict();
  std::vector<std::vector<double>> saved;
  for (const auto& [k, v] : before) saved.push_back(v.to_double_vector());
  t->step();  // still overflowing at 2^39: nothing changes
  size_t i = 0;
  for (const auto& [k, v] : t->model().state_dict()) EXPECT_EQ(v.to_double_vector(), saved[i++]) << k;
  // It keeps halving until the gradients fit, then trains.
  for (int s = 0; s < 40; ++s) t->step();
  EXPECT_LT(t->history().back().loss_scale, std::ldexp(1.0, 30));
  EXPECT_FALSE(std::isnan(t->history().back().grad_norm));
}

TEST(TrainerPrecision, F16ResumeContinuesTheLossScaleBitForBit) {
  const fs::path dir = fs::temp_directory_path() / ("mmalign_precision_resume_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  config::Config cfg = parse_config(kTiny);
  apply_override(cfg, "train.precision=f16");
  // Near the overflow level and growing every 2 clean steps: steps are skipped and taken in turn, so
  // the scale and the growth tracker both matter at the resume.
  apply_override(cfg, "train.loss_scale.init_scale=4194304");
  apply_override(cfg, "train.loss_scale.growth_interval=2");
  Trainer straight(cfg, ".", "");
  std::vector<double> a;
  for (int i = 0; i < 12; ++i) a.push_back(straight.step());
  Trainer first(cfg, ".", dir.string());
  std::vector<double> b;
  for (int i = 0; i < 6; ++i) b.push_back(first.step());
  const std::string ckpt = first.save_checkpoint();
  Trainer second(cfg, ".", "");
  second.resume(ckpt);
  for (int i = 0; i < 6; ++i) b.push_back(second.step());
  EXPECT_EQ(a, b);
  int skipped = 0, taken = 0;
  for (const StepLog& s : straight.history()) (std::isnan(s.grad_norm) ? skipped : taken) += 1;
  EXPECT_GT(skipped, 0);
  EXPECT_GT(taken, 0);
  for (size_t i = 0; i < 6; ++i)
    EXPECT_EQ(straight.history()[6 + i].loss_scale, second.history()[i].loss_scale) << "step " << 7 + i;
  const auto pa = straight.model().state_dict(), pb = second.model().state_dict();
  for (size_t k = 0; k < pa.size(); ++k) EXPECT_EQ(pa[k].second.to_double_vector(), pb[k].second.to_double_vector()) << pa[k].first;
  fs::remove_all(dir);
}

TEST(TrainerPrecision, F64ParametersAndBadCombinations) {
  Trainer* t = nullptr;
  run({"train.dtype=f64"}, 2, &t);
  std::unique_ptr<Trainer> owner(t);
  for (const Tensor& p : t->model().parameters()) EXPECT_EQ(p.dtype(), DType::F64);
  const nlohmann::json e = t->evaluate("val");
  EXPECT_GE(e["i2t_r10"].get<double>(), 0.0);
  config::Config both = parse_config(kTiny);
  apply_override(both, "train.dtype=f64");
  apply_override(both, "train.precision=bf16");
  EXPECT_ERROR_CONTAINS(Trainer(both, ".", ""), ErrorKind::Value, "does not combine with train.dtype");
  config::Config bad = parse_config(kTiny);
  apply_override(bad, "train.dtype=f16");
  EXPECT_ERROR_CONTAINS(Trainer(bad, ".", ""), ErrorKind::Value, "expected f32 or f64");
}

}  // namespace
}  // namespace mm::train
