// The ladder as the trainer's head and `mmalign ablate` (train/ablate.h): pair scores computed in
// chunks equal those of one pair at a time; a tiny two-rung ablation writes its table and files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "ops/creation.h"
#include "runtime/philox.h"
#include "train/ablate.h"
#include "train/alignment_model.h"

namespace mm::train {
namespace {

namespace fs = std::filesystem;

const char* kTinyLadder = R"(
model {
  image { resnet { layers: [1, 1, 1, 1] widths: [4, 8, 8, 16] } image_size: 32 }
  text { lstm { embed_dim: 8 hidden_size: 8 } max_length: 16 }
}
data { synthetic { num_train: 64 num_val: 12 num_test: 12 image_size: 32 } num_workers: 0 }
head { embed_dim: 16 ladder { rung: "v9" heads: 2 } }
optim { lr: 5e-3 }
train { steps: 3 batch_size: 16 seed: 2 threads: 1 }
)";

TEST(LadderHead, ChunkedPairScoresEqualOnePairAtATime) {
  config::Config cfg = parse_config(kTinyLadder);
  cfg.mutable_model()->mutable_text()->mutable_lstm()->set_vocab_size(30);
  manual_seed(4);
  auto model = build_dual_encoder(cfg);
  model->eval();
  const Tensor I = normalize(ops::randn({5, 16}), 2.0, -1), T = normalize(ops::randn({7, 16}), 2.0, -1);
  const std::vector<double> chunked = model->pair_scores(I, T, /*chunk=*/4).to_double_vector();
  NoGradGuard ng;
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 7; ++j) {
      const models::HeadOutput h = model->ladder->pair_fused(narrow(I, 0, i, 1), narrow(T, 0, j, 1));
      const double want = sum(mul(normalize(h.image, 2.0, -1), normalize(h.text, 2.0, -1))).to_double_vector()[0];
      EXPECT_NEAR(chunked[static_cast<size_t>(i * 7 + j)], want, 1e-5) << i << "," << j;
    }
  // Scores depend on the pair: not one value everywhere (v9 is not a degenerate rung).
  EXPECT_GT(std::abs(chunked[0] - chunked[1]) + std::abs(chunked[0] - chunked[7]), 1e-4);
}

TEST(Ablate, TwoRungsWriteTheTable) {
  const fs::path out = fs::temp_directory_path() / ("mmalign_ablate_test_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const auto rows = run_ablation(parse_config(kTinyLadder), ".", {"v0", "v9"}, out.string(), 4);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].rung, "v0");
  EXPECT_EQ(rows[0].head_parameters, 1);  // v0 has no parameters: only the head's temperature
  EXPECT_GT(rows[1].head_parameters, 100);
  for (const AblationRow& r : rows) {
    EXPECT_TRUE(std::isfinite(r.final_loss));
    for (double v : {r.i2t_r1, r.i2t_r5, r.t2i_r1, r.t2i_r5, r.probe_top1}) {
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }
    EXPECT_TRUE(fs::exists(out / r.rung / "latest"));
  }
  std::ifstream md(out / "ablation.md");
  std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("| v0 |"), std::string::npos) << text;
  EXPECT_NE(text.find("| v9 |"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(out / "ablation.json"));
  EXPECT_THROW(run_ablation(parse_config(kTinyLadder), ".", {"v10"}, out.string()), Error);  // not a rung
  fs::remove_all(out);
}

}  // namespace
}  // namespace mm::train
