// Resume exactness (SPEC §7): N steps straight and N/2 + checkpoint + resume in a fresh trainer + N/2
// give bitwise-identical parameters on the CPU — with a text tower that uses dropout (the global RNG
// must be restored), loader threads prefetching, and an epoch boundary inside the second half. Also
// the NaN/Inf guard, best/early stopping bookkeeping and checkpoint rotation of Trainer::run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "ops/copy.h"
#include "tests/common/expect_error.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace mm::train {
namespace {

namespace fs = std::filesystem;

// 96 training pairs in batches of 16: 6 steps per epoch, so 8 steps cross an epoch boundary.
const char* kTinyBert = R"(
model {
  image { resnet { layers: [1, 1, 1, 1] widths: [4, 8, 8, 16] } image_size: 32 }
  text { bert { hidden_size: 16 num_layers: 1 num_heads: 2 intermediate_size: 32 max_position_embeddings: 32
                dropout: 0.1 pooling: "mean" } max_length: 16 }
}
data { synthetic { num_train: 96 num_val: 16 num_test: 16 image_size: 32 } num_workers: 1 }
head { embed_dim: 16 }
optim { lr: 5e-3 warmup_steps: 2 }
train { steps: 8 batch_size: 16 seed: 5 threads: 1 augment: true }
)";

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("mmalign_trainer_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  return d;
}

void expect_bitwise_equal(models::DualEncoder& a, models::DualEncoder& b) {
  auto pa = a.state_dict(), pb = b.state_dict();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    ASSERT_EQ(pa[i].first, pb[i].first);
    const Tensor x = ops::contiguous(pa[i].second), y = ops::contiguous(pb[i].second);
    ASSERT_EQ(x.shape(), y.shape()) << pa[i].first;
    const size_t bytes = static_cast<size_t>(x.numel()) * dtype_size(x.dtype());
    EXPECT_EQ(std::memcmp(x.raw_data(), y.raw_data(), bytes), 0) << pa[i].first << " differs";
  }
}

void half_plus_resume_plus_half(const config::Config& cfg) {
  Trainer straight(cfg, ".", "");
  std::vector<double> losses;
  for (int i = 0; i < 8; ++i) losses.push_back(straight.step());

  const fs::path run = fresh_dir("resume");
  std::string ckpt;
  {
    Trainer first(cfg, ".", run.string());
    for (int i = 0; i < 4; ++i) EXPECT_EQ(first.step(), losses[static_cast<size_t>(i)]);
    ckpt = first.save_checkpoint();
    first.step();  // work after the checkpoint is lost, as in a crash
  }
  Trainer second(cfg, ".", run.string());
  second.resume(ckpt);
  EXPECT_EQ(second.steps_done(), 4);
  for (int i = 4; i < 8; ++i) EXPECT_EQ(second.step(), losses[static_cast<size_t>(i)]) << "step " << i + 1;
  expect_bitwise_equal(straight.model(), second.model());
  fs::remove_all(run);
}

TEST(TrainerResume, HalfPlusResumePlusHalfIsBitwiseIdentical) { half_plus_resume_plus_half(parse_config(kTinyBert)); }

// SGD with Nesterov momentum, an EMA of the weights (in the checkpoint too) and a text tower frozen for
// the first 6 steps (it joins the optimizer after the resume at step 4).
TEST(TrainerResume, WithSgdEmaAndAFrozenTower) {
  config::Config cfg = parse_config(kTinyBert);
  config::Optim* o = cfg.mutable_optim();
  o->set_kind("sgd");
  o->set_momentum(0.9);
  o->set_nesterov(true);
  o->set_lr(0.05);
  o->set_ema_decay(0.9);
  o->add_freeze_prefix("text");
  o->set_freeze_steps(6);
  half_plus_resume_plus_half(cfg);
}

TEST(TrainerResume, ResumingADifferentModelIsAnError) {
  const fs::path run = fresh_dir("mismatch");
  config::Config cfg = parse_config(kTinyBert);
  std::string ckpt;
  {
    Trainer t(cfg, ".", run.string());
    t.step();
    ckpt = t.save_checkpoint();
  }
  cfg.mutable_head()->set_embed_dim(8);
  Trainer other(cfg, ".", "");
  EXPECT_ERROR_CONTAINS(other.resume(ckpt), ErrorKind::Value, "its model differs", "mis-shaped");
  fs::remove_all(run);
}

TEST(TrainerGuard, NonFiniteParameterIsNamed) {
  Trainer t(parse_config(kTinyBert), ".", "");
  for (auto& [name, p] : t.model().named_parameters())
    if (name == "text_projection.0.weight") {
      NoGradGuard ng;
      ops::fill_(p, std::nan(""));
    }
  EXPECT_ERROR_CONTAINS(t.step(), ErrorKind::Runtime, "step 1", "text_embeds", "text_projection.0.weight");
}

TEST(TrainerRun, CheckpointsRotateAndBestIsKept) {
  const fs::path run = fresh_dir("rotate");
  config::Config cfg = parse_config(kTinyBert);
  cfg.mutable_train()->set_checkpoint_every(2);
  cfg.mutable_train()->set_keep_checkpoints(2);
  cfg.mutable_train()->set_eval_every(3);
  Trainer t(cfg, ".", run.string());
  EXPECT_EQ(t.run(), StopReason::Finished);
  std::vector<int64_t> steps;
  for (const auto& [s, p] : list_checkpoints(run.string())) steps.push_back(s);
  // every 2 steps + the evaluations' new bests (3, 6 when they improved) + the end (8), newest 2 kept
  // plus the best.
  ASSERT_GE(steps.size(), 2u);
  EXPECT_EQ(steps.back(), 8);
  EXPECT_EQ(fs::read_symlink(run / "latest"), "step-0000008");
  ASSERT_TRUE(fs::exists(run / "best"));
  EXPECT_TRUE(fs::exists(run / fs::read_symlink(run / "best") / "state.pb"));
  const ckpt::State st = verify_checkpoint((run / "latest").string());
  EXPECT_EQ(st.step(), 8);
  EXPECT_TRUE(st.best_step() == 3 || st.best_step() == 6) << st.best_step();
  EXPECT_TRUE(fs::exists(run / "metrics.jsonl"));
  EXPECT_TRUE(fs::exists(run / "train.log"));
  fs::remove_all(run);
}

TEST(TrainerRun, EarlyStoppingStopsAfterPatienceEvaluations) {
  config::Config cfg = parse_config(kTinyBert);
  cfg.mutable_train()->set_steps(40);
  cfg.mutable_train()->set_eval_every(1);
  cfg.mutable_train()->set_early_stopping_patience(1);
  cfg.mutable_train()->set_best_metric("i2t_r1");
  cfg.mutable_optim()->set_lr(0.0);
  Trainer t(cfg, ".", "");
  // Zero projections make every embedding zero, every score a tie and the metrics constant (BatchNorm's
  // running statistics still move in training mode; with lr 0 the projections stay zero).
  for (auto& [name, p] : t.model().named_parameters())
    if (name == "image_projection.0.weight" || name == "text_projection.0.weight") {
      NoGradGuard ng;
      ops::fill_(p, 0.0);
    }
  EXPECT_EQ(t.run(), StopReason::EarlyStopped);
  EXPECT_EQ(t.steps_done(), 2);
}

}  // namespace
}  // namespace mm::train
