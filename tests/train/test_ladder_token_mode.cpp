// The cross-attention ladder in token mode (head.ladder.mode "token", SPEC §5.3 "Two modes") through
// the trainer: the towers' token sequences, projected per token, go through the rung; evaluation
// scores every (image, caption) pair of token sequences through the rung (DualEncoder::
// token_pair_scores), the same in the trainer and from a checkpoint; the combinations token mode
// cannot serve are config errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "autograd/functions.h"
#include "tests/common/expect_error.h"
#include "train/alignment_model.h"
#include "train/trainer.h"

namespace mm::train {
namespace {

namespace fs = std::filesystem;

std::string tiny(const std::string& extra_head, const std::string& extra = "") {
  return R"(
model {
  image { vit { patch_size: 8 num_layers: 1 num_heads: 2 hidden_dim: 16 mlp_dim: 32 dropout: 0 } image_size: 32 }
  text { lstm { embed_dim: 16 hidden_size: 16 } max_length: 12 }
}
data { synthetic { num_train: 64 num_val: 8 num_test: 8 image_size: 32 } num_workers: 0 }
head { embed_dim: 16 ladder { rung: "v8" heads: 2 dropout: 0 )" +
         extra_head + R"( } }
loss { kind: "clip" }
optim { lr: 3e-3 }
train { steps: 20 batch_size: 16 seed: 5 threads: 1 }
)" + extra;
}

TEST(LadderTokenMode, TrainsAndEvaluatesTheSameFromACheckpoint) {
  const fs::path run = fs::temp_directory_path() / ("mmalign_token_mode_" + std::to_string(::getpid()));
  fs::remove_all(run);
  Trainer t(parse_config(tiny(R"(mode: "token")")), ".", run.string());
  ASSERT_TRUE(t.model().token_mode());
  std::vector<double> losses;
  for (int i = 0; i < 20; ++i) losses.push_back(t.step());
  for (double l : losses) EXPECT_TRUE(std::isfinite(l));
  EXPECT_LT((losses[17] + losses[18] + losses[19]) / 3, (losses[0] + losses[1] + losses[2]) / 3);
  const nlohmann::json in_trainer = t.evaluate("val");
  const std::string ckpt = t.save_checkpoint();
  AlignmentModel loaded = load_alignment_model(ckpt);
  ASSERT_TRUE(loaded.model->token_mode());
  const nlohmann::json from_checkpoint = evaluate_split(loaded, ImageTextData(data_sources(loaded.config.data(), "."), "val")).to_json();
  for (const char* k : {"i2t_r1", "i2t_r5", "t2i_r1", "t2i_r5", "i2t_mean_rank", "t2i_mean_rank"})
    EXPECT_EQ(in_trainer[k], from_checkpoint[k]) << k << ": " << in_trainer.dump() << " vs " << from_checkpoint.dump();
  fs::remove_all(run);
}

// Each score of token_pair_scores is the pair run through the rung alone.
TEST(LadderTokenMode, PairScoresAreOnePairThroughTheRungAtATime) {
  Trainer t(parse_config(tiny(R"(mode: "token")")), ".", "");
  models::DualEncoder& m = t.model();
  m.eval();
  NoGradGuard ng;
  manual_seed(1);
  const Tensor images = randn({3, 3, 32, 32});
  const Tensor ids = Tensor::from_vector<int64_t>({2, 5, 7, 3, 0, 0, 4, 4, 9, 6, 3, 0, 8, 2, 2, 2, 2, 3}, {3, 6});
  const Tensor mask = gt(ids, 0.0);
  const models::Tokens it = m.image_tokens(images), tt = m.text_tokens(ids, to(mask, DType::I64));
  const Tensor scores = m.token_pair_scores(it, tt, /*chunk=*/4);  // chunks that cut rows
  ASSERT_EQ(scores.shape(), (Shape{3, 3}));
  const std::vector<double> s = scores.to_double_vector();
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      const Tensor ti = narrow(it.values, 0, i, 1), tj = narrow(tt.values, 0, j, 1);
      const Tensor mj = narrow(tt.mask, 0, j, 1);
      const models::HeadOutput h = m.ladder->token(ti, tj, mj);
      const double want = sum(mul(normalize(h.image, 2.0, -1), normalize(h.text, 2.0, -1))).to_double_vector()[0];
      EXPECT_NEAR(s[static_cast<size_t>(i * 3 + j)], want, 1e-5) << i << "," << j;
    }
}

TEST(LadderTokenMode, CombinationsItCannotServeAreConfigErrors) {
  EXPECT_ERROR_CONTAINS(Trainer(parse_config(tiny(R"(mode: "token")", R"(loss { kind: "triplet" })")), ".", ""),
                        ErrorKind::Value, "token mode");
  config::Config chunked = parse_config(tiny(R"(mode: "token")"));
  apply_override(chunked, "train.accumulation_chunks=2");
  EXPECT_ERROR_CONTAINS(Trainer(chunked, ".", ""), ErrorKind::Value, "accumulation_chunks 1");
  EXPECT_ERROR_CONTAINS(Trainer(parse_config(tiny(R"(mode: "tokens")")), ".", ""), ErrorKind::Value,
                        "expected pair_fused | token");
}

}  // namespace
}  // namespace mm::train
