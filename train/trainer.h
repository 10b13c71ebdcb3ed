// The training loop of `mmalign train` (SPEC §7): a config's towers in a dual encoder, its data through
// the loader, its losses, AdamW with a warmup + cosine schedule and the logit-scale clamp, periodic
// logging (stdout and metrics.jsonl in the run directory) and retrieval evaluation.
//
// One step: the loader's next batch (images [B, 3, S, S] transformed with randomness keyed by (seed,
// epoch, sample), captions tokenized) → DualEncoder::forward → Σ weight·loss → backward → optional
// global-norm clipping → AdamW.step at the scheduled lr → clamp_logit_scale. Determinism: the same
// config, seed and thread count give the same losses (the loader's order and every random draw are
// keyed, never timed).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image/pipeline.h"
#include "data/loader.h"
#include "data/tokenizers/tokenizer.h"
#include "models/dual_encoder.h"
#include "train/config.h"
#include "train/image_text_data.h"
#include "train/optim.h"

namespace mm::train {

struct StepLog {
  int64_t step = 0;
  double loss = 0, lr = 0, logit_scale = 0, pairs_per_second = 0;
};

class Trainer {
 public:
  // config_dir: where relative paths in the config resolve; run_dir: created if missing (empty: no
  // files are written).
  Trainer(config::Config config, std::string config_dir, std::string run_dir);

  // Trains for config.train.steps steps; evaluates every eval_every steps and at the end.
  void run();
  // One optimisation step; returns its loss.
  double step();
  // Retrieval metrics of the model on a split ("val" or "test"), as a JSON object.
  nlohmann::json evaluate(const std::string& split);

  const std::vector<StepLog>& history() const { return history_; }
  models::DualEncoder& model() { return *model_; }
  int64_t steps_done() const { return step_; }
  double lr_at(int64_t step) const;

 private:
  void log_line(const nlohmann::json& j);
  Tensor embed_images(const ImageTextData& d);
  Tensor embed_texts(const std::vector<std::string>& captions);

  config::Config config_;
  std::string run_dir_;
  int64_t max_length_ = 32, batch_size_ = 64, steps_ = 1000;
  uint64_t seed_ = 0;
  std::unique_ptr<ImageTextData> train_data_;
  DataSources sources_;
  std::unique_ptr<data::Tokenizer> tokenizer_;
  std::unique_ptr<data::TransformPipeline> train_transform_, eval_transform_;
  std::shared_ptr<models::DualEncoder> model_;
  std::unique_ptr<AdamW> optimizer_;
  std::unique_ptr<data::Loader> loader_;
  uint64_t epoch_ = 0;
  int64_t step_ = 0;
  std::vector<StepLog> history_;
};

}  // namespace mm::train
