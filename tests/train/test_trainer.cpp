// The trainer (train/trainer.h) on a tiny synthetic run: the loss is finite and goes down, two runs
// with one seed give identical losses, the schedule is warmup then cosine, evaluation reports
// recalls in [0, 1]; and `--set` overrides (train/config.h).
#include <gtest/gtest.h>

#include <cmath>

#include "tests/common/expect_error.h"
#include "train/trainer.h"

namespace mm::train {
namespace {

const char* kTiny = R"(
model {
  image { resnet { layers: [1, 1, 1, 1] widths: [4, 8, 8, 16] } image_size: 32 }
  text { lstm { embed_dim: 8 hidden_size: 8 } max_length: 16 }
}
data { synthetic { num_train: 96 num_val: 16 num_test: 16 image_size: 32 } num_workers: 0 }
head { embed_dim: 16 }
optim { lr: 5e-3 warmup_steps: 2 }
train { steps: 12 batch_size: 16 seed: 3 threads: 1 }
)";

TEST(Trainer, LossGoesDownAndRunsAreReproducible) {
  config::Config cfg = parse_config(kTiny);
  Trainer a(cfg, ".", ""), b(cfg, ".", "");
  std::vector<double> la, lb;
  for (int i = 0; i < 12; ++i) {
    la.push_back(a.step());
    lb.push_back(b.step());
  }
  EXPECT_EQ(la, lb);  // same seed, same threads: the same losses, bit for bit
  for (double l : la) EXPECT_TRUE(std::isfinite(l));
  EXPECT_LT((la[9] + la[10] + la[11]) / 3, (la[0] + la[1] + la[2]) / 3);
  EXPECT_EQ(a.steps_done(), 12);
  nlohmann::json e = a.evaluate("test");
  for (const char* k : {"i2t_r1", "t2i_r1", "t2i_r10"}) {
    ASSERT_TRUE(e.contains(k)) << e.dump();
    EXPECT_GE(e[k].get<double>(), 0.0);
    EXPECT_LE(e[k].get<double>(), 1.0);
  }
}

TEST(Trainer, WarmupThenCosine) {
  Trainer t(parse_config(kTiny), ".", "");
  EXPECT_NEAR(t.lr_at(0), 5e-3 / 2, 1e-12);
  EXPECT_NEAR(t.lr_at(1), 5e-3, 1e-12);
  EXPECT_NEAR(t.lr_at(2), 5e-3, 1e-12);                                      // cosine starts at the peak
  EXPECT_NEAR(t.lr_at(7), 0.5 * 5e-3 * (1 + std::cos(M_PI * 5.0 / 10.0)), 1e-12);  // halfway
  EXPECT_NEAR(t.lr_at(12), 0.0, 1e-12);
}

TEST(Config, SetOverridesScalarsAndNamesBadPaths) {
  config::Config cfg = parse_config(kTiny);
  apply_override(cfg, "train.steps=40");
  apply_override(cfg, "optim.lr=0.25");
  apply_override(cfg, "model.text.tokenizer.kind=word");
  apply_override(cfg, "data.synthetic.seed=9");
  EXPECT_EQ(cfg.train().steps(), 40);
  EXPECT_EQ(cfg.optim().lr(), 0.25);
  EXPECT_EQ(cfg.model().text().tokenizer().kind(), "word");
  EXPECT_EQ(cfg.data().synthetic().seed(), 9u);
  EXPECT_ERROR_CONTAINS(apply_override(cfg, "train.stepz=1"), ErrorKind::Value, "train.stepz", "no field 'stepz'");
  EXPECT_ERROR_CONTAINS(apply_override(cfg, "train.steps=many"), ErrorKind::Value, "'many' is not a valid int64");
  EXPECT_ERROR_CONTAINS(apply_override(cfg, "train=1"), ErrorKind::Value, "is a message");
  EXPECT_ERROR_CONTAINS(apply_override(cfg, "loss.kind=clip"), ErrorKind::Value, "repeated");
  EXPECT_ERROR_CONTAINS(apply_override(cfg, "steps"), ErrorKind::Value, "expected path.to.field=value");
}

TEST(Trainer, ConfigErrorsAreNamed) {
  config::Config cfg = parse_config(kTiny);
  cfg.clear_data();
  EXPECT_ERROR_CONTAINS(Trainer(cfg, ".", ""), ErrorKind::Value, "no data section");
  cfg = parse_config(kTiny);
  cfg.add_loss()->set_kind("hinge");
  EXPECT_ERROR_CONTAINS(Trainer(cfg, ".", ""), ErrorKind::Value, "loss.kind 'hinge'");
}

}  // namespace
}  // namespace mm::train
