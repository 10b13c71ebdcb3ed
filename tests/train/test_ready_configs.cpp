// The ready configs of SPEC §7.2 (configs/*.pbtxt): each parses, builds its model and runs one
// training step on a small synthetic set. What the test swaps, because this machine has neither the
// data sets nor the pretrained weights: the data section (→ synthetic, 8 training pairs), the
// pretrained weight files (→ random initialisation), a tokenizer that needs vocabulary files (→ a word
// vocabulary built from the synthetic captions) and the batch size (→ 4). Everything else — towers,
// head, losses, optimizer, schedule — is the config's own. Label-based losses (cmpm_pedes) get the
// synthetic set's labels: one identity per image.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "train/trainer.h"

namespace mm::train {
namespace {

namespace fs = std::filesystem;

class ReadyConfig : public ::testing::TestWithParam<std::string> {};

TEST_P(ReadyConfig, ParsesBuildsAndStepsOnce) {
  const fs::path path = fs::path(MMALIGN_SOURCE_DIR) / "configs" / (GetParam() + ".pbtxt");
  config::Config cfg = load_config(path.string());
  config::Data* d = cfg.mutable_data();
  d->Clear();
  d->mutable_synthetic()->set_num_train(8);
  d->mutable_synthetic()->set_num_val(4);
  d->mutable_synthetic()->set_num_test(4);
  d->set_num_workers(0);
  config::Model* m = cfg.mutable_model();
  m->mutable_image()->clear_pretrained();
  m->mutable_text()->clear_pretrained();
  if (m->text().tokenizer().has_vocab()) m->mutable_text()->clear_tokenizer();
  cfg.mutable_train()->set_batch_size(4);
  cfg.mutable_train()->set_threads(2);
  Trainer t(cfg, path.parent_path().string(), "");
  const double loss = t.step();
  EXPECT_TRUE(std::isfinite(loss)) << GetParam() << ": loss " << loss;
  EXPECT_EQ(t.steps_done(), 1);
}

INSTANTIATE_TEST_SUITE_P(Configs, ReadyConfig,
                         ::testing::Values("demo", "clip_rn50_roberta", "clip_vit_b32", "ladder_synth", "ladder_flickr8k",
                                           "cmpm_pedes"),
                         [](const auto& info) { return info.param; });

TEST(ReadyConfigs, EveryConfigFileIsCovered) {
  // A new config must join the list above.
  const std::set<std::string> tested{"demo",         "clip_rn50_roberta", "clip_vit_b32",
                                     "ladder_synth", "ladder_flickr8k",   "cmpm_pedes"};
  for (const auto& e : fs::directory_iterator(fs::path(MMALIGN_SOURCE_DIR) / "configs"))
    if (e.path().extension() == ".pbtxt") {
      EXPECT_TRUE(tested.count(e.path().stem().string())) << e.path();
    }
}

}  // namespace
}  // namespace mm::train
