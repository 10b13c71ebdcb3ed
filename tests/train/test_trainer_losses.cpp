// The trainer's label-based and ranking losses (loss.kind triplet | cmpm | cmpc | intra_class;
// docs/TRAINING.md "Losses"): each trains on a tiny CUHK-PEDES-format set whose identities span two
// images with two captions each (so labels are shared inside a batch and intra_class is not trivially
// 0); CMPC's classifier W is a model parameter (state dict, optimizer, checkpoints, bitwise resume);
// identity labels are renumbered densely, and data without identities uses the image index; the
// combinations that cannot work are config errors that say why.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "data/synthetic.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "runtime/safetensors.h"
#include "tests/common/expect_error.h"
#include "train/trainer.h"

namespace mm::train {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kImages = 32;      // 16 identities (ids 100, 102, ...: sparse on purpose)
constexpr int64_t kIdentities = 16;  // × 2 images × 2 captions = 64 training pairs

// The synthetic set written as PNGs, with a pedes reid_raw.json over its training images: image i is
// identity 100 + 2·(i / 2), with its caption and a rephrasing of it.
const fs::path& pedes_dir() {
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("mmalign_trainer_losses_pedes_" + std::to_string(::getpid()));
    fs::remove_all(d);
    data::SyntheticOptions o;
    o.num_train = kImages;
    o.num_val = 4;
    o.num_test = 4;
    o.image_size = 32;
    const data::SyntheticSet set(o);
    data::write_synthetic(set, d.string());
    nlohmann::json entries = nlohmann::json::array();
    for (int64_t i = 0; i < kImages; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "images/%06lld.png", static_cast<long long>(i));
      const std::string caption = set.samples(data::Split::Train)[static_cast<size_t>(i)].caption;
      entries.push_back({{"split", "train"},
                         {"file_path", name},
                         {"id", 100 + 2 * (i / 2)},
                         {"captions", {caption, "there is " + caption}}});
    }
    std::ofstream(d / "train" / "reid_raw.json") << entries.dump();
    return d;
  }();
  return dir;
}

config::Config tiny(const std::string& losses) {
  config::Config c = parse_config(R"(
model {
  image { resnet { layers: [1, 1, 1, 1] widths: [4, 8, 8, 16] } image_size: 32 }
  text { lstm { embed_dim: 8 hidden_size: 8 } max_length: 16 }
}
data { num_workers: 0 }
head { embed_dim: 16 }
optim { lr: 5e-3 warmup_steps: 2 }
train { steps: 16 batch_size: 16 seed: 3 threads: 1 }
)" + losses);
  config::Dataset* train = c.mutable_data()->mutable_train();
  train->set_format("pedes");
  train->set_path((pedes_dir() / "train" / "reid_raw.json").string());
  train->set_split("train");
  return c;
}

std::vector<double> train_steps(const config::Config& cfg, int n) {
  Trainer t(cfg, ".", "");
  std::vector<double> losses;
  for (int i = 0; i < n; ++i) losses.push_back(t.step());
  return losses;
}

Tensor copy_of(const Tensor& t) {
  Tensor c = Tensor::empty(t.shape(), t.dtype(), t.device());
  ops::copy_(c, t);
  return c;
}

Tensor param(models::DualEncoder& m, const std::string& name) {
  for (auto& [n, p] : m.named_parameters())
    if (n == name) return p;
  ADD_FAILURE() << "no parameter " << name;
  return Tensor();
}

class LossKind : public ::testing::TestWithParam<std::string> {};

// The test names of the cases below, in order (gtest names cannot hold the configs' punctuation).
std::string loss_case_name(size_t i) {
  const char* names[] = {"triplet", "triplet_euclidean_semi_hard", "cmpm", "cmpc", "intra_class", "cmpm_cmpc"};
  return names[i];
}

TEST_P(LossKind, TrainsWithFiniteDecreasingLoss) {
  const std::vector<double> l = train_steps(tiny(GetParam()), 16);
  for (double v : l) ASSERT_TRUE(std::isfinite(v)) << GetParam();
  const double first = (l[0] + l[1] + l[2] + l[3]) / 4, last = (l[12] + l[13] + l[14] + l[15]) / 4;
  EXPECT_LT(last, first) << GetParam() << ": first steps " << first << ", last steps " << last;
  EXPECT_GT(first, 0.0) << GetParam();  // every one of these losses is positive before training
}

INSTANTIATE_TEST_SUITE_P(
    Trainer, LossKind,
    ::testing::Values(R"(loss { kind: "triplet" })",
                      R"(loss { kind: "triplet" similarity: "euclidean" negatives: "semi_hard" margin: 0.5 })",
                      R"(loss { kind: "cmpm" })", R"(loss { kind: "cmpc" })", R"(loss { kind: "intra_class" })",
                      R"(loss { kind: "cmpm" } loss { kind: "cmpc" })"),
    [](const auto& info) { return loss_case_name(info.index); });

// The options reach the loss: on the same first batch and initial model, the sum over anchors of every
// negative's hinge is larger than the mean over anchors of the hardest one (all hinges are ≥ 0, and at
// initialisation with margin 0.2 most are positive).
TEST(TrainerLosses, TripletOptionsReachTheLoss) {
  const double hardest_mean = train_steps(tiny(R"(loss { kind: "triplet" })"), 1)[0];
  const double all_sum =
      train_steps(tiny(R"(loss { kind: "triplet" negatives: "all" sum_over_anchors: true })"), 1)[0];
  EXPECT_GT(all_sum, 4 * hardest_mean);
  const double weighted = train_steps(tiny(R"(loss { kind: "triplet" weight: 0.5 })"), 1)[0];
  EXPECT_NEAR(weighted, 0.5 * hardest_mean, 1e-6 * hardest_mean);
}

// Under gradient caching the loss sees only normalised embeddings: triplet needs nothing else.
TEST(TrainerLosses, TripletWorksWithGradientCaching) {
  config::Config cfg = tiny(R"(loss { kind: "triplet" })");
  cfg.mutable_train()->set_accumulation_chunks(2);
  for (double v : train_steps(cfg, 3)) EXPECT_TRUE(std::isfinite(v));
}

// With several losses every step logs each term before its weight, and the loss is their weighted sum.
TEST(TrainerLosses, EachTermOfTheObjectiveIsLogged) {
  Trainer t(tiny(R"(loss { kind: "clip" } loss { kind: "triplet" weight: 0.5 } loss { kind: "triplet" margin: 0.1 })"),
            ".", "");
  t.step();
  const StepLog& s = t.history().back();
  ASSERT_EQ(s.loss_terms.size(), 3u);
  EXPECT_EQ(s.loss_terms[0].first, "loss_clip");
  EXPECT_EQ(s.loss_terms[1].first, "loss_triplet_1");  // the kind repeats: the term's index
  EXPECT_EQ(s.loss_terms[2].first, "loss_triplet_2");
  const double weighted = s.loss_terms[0].second + 0.5 * s.loss_terms[1].second + s.loss_terms[2].second;
  EXPECT_NEAR(s.loss, weighted, 1e-6 * std::abs(weighted));
  EXPECT_NE(s.loss_terms[1].second, s.loss_terms[2].second);  // different margins
  // One loss: no separate terms (the loss is the term).
  Trainer single(tiny(R"(loss { kind: "triplet" })"), ".", "");
  single.step();
  EXPECT_TRUE(single.history().back().loss_terms.empty());
}

TEST(TrainerLosses, CmpcClassifierIsAParameterOfTheModel) {
  Trainer t(tiny(R"(loss { kind: "cmpm" } loss { kind: "cmpc" })"), ".", "");
  // The class count comes from the training labels and is written into the resolved config.
  ASSERT_EQ(t.bundle().config.loss_size(), 2);
  EXPECT_EQ(t.bundle().config.loss(1).num_classes(), kIdentities);
  ASSERT_TRUE(t.model().cmpc);
  bool in_state_dict = false;
  for (const auto& [name, v] : t.model().state_dict())
    if (name == "cmpc.W") {
      in_state_dict = true;
      EXPECT_EQ(v.shape(), (Shape{16, kIdentities}));
    }
  EXPECT_TRUE(in_state_dict);
  const Tensor before = copy_of(param(t.model(), "cmpc.W"));
  t.step();
  const Tensor after = param(t.model(), "cmpc.W");
  EXPECT_GT(amax(abs(sub(after, before))).to_double_vector()[0], 0.0) << "the optimizer did not update cmpc.W";
}

TEST(TrainerLosses, CmpcResumesBitwiseWithItsOptimizerState) {
  const config::Config cfg = tiny(R"(loss { kind: "cmpm" } loss { kind: "cmpc" })");
  Trainer straight(cfg, ".", "");
  std::vector<double> losses;
  for (int i = 0; i < 8; ++i) losses.push_back(straight.step());

  const fs::path run = fs::temp_directory_path() / ("mmalign_trainer_losses_resume_" + std::to_string(::getpid()));
  fs::remove_all(run);
  std::string ckpt;
  {
    Trainer first(cfg, ".", run.string());
    for (int i = 0; i < 4; ++i) EXPECT_EQ(first.step(), losses[static_cast<size_t>(i)]);
    ckpt = first.save_checkpoint();
  }
  bool w_state = false;
  for (const auto& [k, v] : safetensors::load_all((fs::path(ckpt) / "optimizer.safetensors").string()))
    w_state = w_state || k.rfind("cmpc.W.", 0) == 0;
  EXPECT_TRUE(w_state) << "no optimizer state for cmpc.W in the checkpoint";
  Trainer second(cfg, ".", run.string());
  second.resume(ckpt);
  for (int i = 4; i < 8; ++i) EXPECT_EQ(second.step(), losses[static_cast<size_t>(i)]) << "step " << i + 1;
  auto a = straight.model().state_dict(), b = second.model().state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].first, b[i].first);
    const Tensor x = ops::contiguous(a[i].second), y = ops::contiguous(b[i].second);
    const size_t bytes = static_cast<size_t>(x.numel()) * dtype_size(x.dtype());
    EXPECT_EQ(std::memcmp(x.raw_data(), y.raw_data(), bytes), 0) << a[i].first << " differs";
  }
  // A checkpoint's config rebuilds the model with its classifier (mmalign eval --checkpoint).
  const AlignmentModel loaded = load_alignment_model(ckpt);
  ASSERT_TRUE(loaded.model->cmpc);
  EXPECT_EQ(loaded.model->cmpc->num_classes, kIdentities);
  fs::remove_all(run);
}

TEST(TrainerLosses, IdentityLabelsAreDenseAndUnlabeledDataUsesTheImageIndex) {
  const config::Config pedes = tiny("");
  const ImageTextData d(data_sources(pedes.data(), "."), "train");
  EXPECT_TRUE(d.has_identity_labels());
  EXPECT_EQ(d.num_labels(), kIdentities);
  for (int64_t i = 0; i < kImages; ++i) EXPECT_EQ(d.label(i), i / 2) << "image " << i;

  config::Config synth = tiny("");
  synth.mutable_data()->clear_train();
  synth.mutable_data()->mutable_synthetic()->set_num_train(12);
  const ImageTextData s(data_sources(synth.data(), "."), "train");
  EXPECT_FALSE(s.has_identity_labels());
  EXPECT_EQ(s.num_labels(), 12);
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(s.label(i), i);
}

TEST(TrainerLosses, ProjectedEmbeddingsAreTheUnnormalisedOnes) {
  Trainer t(tiny(R"(loss { kind: "cmpm" })"), ".", "");
  NoGradGuard ng;
  t.model().eval();
  const Tensor images = ops::randn({3, 3, 32, 32});
  const Tensor raw = t.model().project_image(images), unit = t.model().encode_image(images);
  EXPECT_LT(amax(abs(sub(unit, normalize(raw, 2.0, -1)))).to_double_vector()[0], 1e-6);
  // Not unit rows already (else CMPM/CMPC would see no norms): some row's norm is off 1.
  EXPECT_GT(amax(abs(sub(norm(raw, 2.0, {1}), 1.0))).to_double_vector()[0], 1e-3);
}

// Scaling both (bias-free, linear) projections scales the unnormalised embeddings and leaves the
// normalised ones as they are: the first loss changes for cmpm and cmpc, not for clip and triplet.
TEST(TrainerLosses, SeedFourLossesSeeTheEmbeddingsBeforeNormalisation) {
  for (const std::string kind : {"clip", "triplet", "cmpm", "cmpc"}) {
    const config::Config cfg = tiny("loss { kind: \"" + kind + "\" }");
    Trainer plain(cfg, ".", ""), scaled(cfg, ".", "");
    {
      NoGradGuard ng;
      for (const char* name : {"image_projection.0.weight", "text_projection.0.weight"}) {
        Tensor w = param(scaled.model(), name);
        ops::copy_(w, mul(w.detach(), 3.0));
      }
    }
    const double a = plain.step(), b = scaled.step();
    if (kind == "clip" || kind == "triplet")
      EXPECT_NEAR(a, b, 1e-5 * std::abs(a)) << kind;
    else
      EXPECT_GT(std::abs(a - b), 1e-3 * std::abs(a)) << kind << ": the loss did not see the embeddings' norms";
  }
}

TEST(TrainerLosses, ConfigErrorsAreNamed) {
  EXPECT_ERROR_CONTAINS(Trainer(tiny(R"(loss { kind: "hinge" })"), ".", ""), ErrorKind::Value, "loss.kind 'hinge'",
                        "unknown", "cmpc");
  EXPECT_ERROR_CONTAINS(Trainer(tiny(R"(loss { kind: "triplet" negatives: "hard" })"), ".", ""), ErrorKind::Value,
                        "loss.negatives 'hard'", "semi_hard");
  EXPECT_ERROR_CONTAINS(Trainer(tiny(R"(loss { kind: "triplet" similarity: "dot" })"), ".", ""), ErrorKind::Value,
                        "loss.similarity 'dot'");
  EXPECT_ERROR_CONTAINS(Trainer(tiny(R"(loss { kind: "cmpc" } loss { kind: "cmpc" })"), ".", ""), ErrorKind::Value,
                        "at most one loss of kind cmpc");
  EXPECT_ERROR_CONTAINS(Trainer(tiny(R"(loss { kind: "cmpc" num_classes: 5 })"), ".", ""), ErrorKind::Value,
                        "loss.num_classes = 5", "below the 16 identity classes");
  config::Config chunked = tiny(R"(loss { kind: "cmpm" })");
  chunked.mutable_train()->set_accumulation_chunks(2);
  EXPECT_ERROR_CONTAINS(Trainer(chunked, ".", ""), ErrorKind::Value, "loss.kind cmpm", "gradient caching",
                        "accumulation_chunks = 2");
  config::Config ladder = tiny(R"(loss { kind: "triplet" })");
  ladder.mutable_head()->mutable_ladder()->set_rung("v0");
  ladder.mutable_head()->mutable_ladder()->set_heads(2);
  EXPECT_ERROR_CONTAINS(Trainer(ladder, ".", ""), ErrorKind::Value, "head.ladder is trained through a clip loss");
  // A model built outside the trainer needs the class count the trainer would have filled in.
  EXPECT_ERROR_CONTAINS(build_dual_encoder(tiny(R"(loss { kind: "cmpc" })")), ErrorKind::Value,
                        "loss.kind cmpc needs loss.num_classes");
}

}  // namespace
}  // namespace mm::train
