// The training loop of `mmalign train` (SPEC §7): a config's towers in a dual encoder, its data through
// the loader, its losses, the optimizer and LR schedule, periodic logging (stdout, train.log,
// metrics.jsonl) and evaluation, checkpoints, resume, and the stop conditions.
//
// One step (train/trainer_step.cpp): the loader's next batch (images [B, 3, S, S] transformed with
// randomness keyed by (seed, epoch, sample), captions tokenized) → DualEncoder::forward → Σ weight·loss
// → backward → NaN/Inf guard → optional global-norm clipping → optimizer step at the scheduled lr →
// clamp_logit_scale. Determinism: the same config, seed and thread count give the same losses (the
// loader's order and every random draw are keyed, never timed), and a resumed run continues bit for
// bit (train/trainer_state.cpp saves the loader position and the global RNG with the tensors).
//
// Under `mpirun -np W` (docs/DISTRIBUTED.md) every rank builds the same trainer: the loader hands rank r
// the r-th slice of each global batch, the model is wrapped in nn::DistributedDataParallel (gradients
// averaged over ranks while backward runs), the contrastive losses are the global ones
// (nn/losses/global.h: each rank's gradients equal the single-process gradients of the global batch),
// BatchNorm statistics are per rank (the running statistics averaged over ranks after each step) or
// global with train.sync_batch_norm, evaluation embeds a shard of the split per rank and gathers, and
// rank 0 alone writes the run directory. Stop signals and early stopping are agreed by all ranks.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image/pipeline.h"
#include "data/loader.h"
#include "models/dual_encoder.h"
#include "nn/ddp.h"
#include "runtime/dist/communicator.h"
#include "train/alignment_model.h"
#include "train/config.h"
#include "train/image_text_data.h"
#include "train/mixed_precision.h"
#include "train/ema.h"
#include "train/optim.h"
#include "train/progress.h"
#include "train/schedule.h"
#include "train/tensorboard.h"

namespace mm::train {

struct StepLog {
  int64_t step = 0;
  double loss = 0, lr = 0, logit_scale = 0, pairs_per_second = 0, grad_norm = 0;
  // Payload bytes this rank handed to each kind of collective during the step (0 in one process).
  std::array<int64_t, dist::kNumCollectives> comm_bytes{};
  double loss_scale = 1;  // f16's dynamic loss scale after the step (1 without one)
  // With several losses: each term before its weight ("loss_clip", "loss_triplet", ...).
  std::vector<std::pair<std::string, double>> loss_terms;
};

// Why run() returned.
enum class StopReason { Finished, EarlyStopped, Signal };

class Trainer {
 public:
  // config_dir: where relative paths in the config resolve; run_dir: created if missing (empty: no
  // files are written, no checkpoints).
  Trainer(config::Config config, std::string config_dir, std::string run_dir);
  ~Trainer();

  // Continues from a checkpoint directory (verified first): weights, optimizer state, step, loader
  // position and RNG. The config's model must match the checkpoint's (strict load).
  void resume(const std::string& checkpoint_dir);

  // Trains until config.train.steps, early stopping or SIGINT/SIGTERM (then a checkpoint is written);
  // evaluates every eval_every steps, checkpoints every checkpoint_every steps and at the end.
  StopReason run();
  // One optimisation step; returns its loss. Throws (naming the step and the tensor) on NaN/Inf.
  double step();
  // Retrieval metrics of the model on a split ("val" or "test"), as a JSON object.
  nlohmann::json evaluate(const std::string& split);
  // Writes RUN/step-NNNNNNN now; returns its path.
  std::string save_checkpoint();

  // The final evaluations (mmalign train's val/test): into the TensorBoard event file as well.
  void record_metrics(const nlohmann::json& metrics);
  // gallery.json in the run directory (train/eval/gallery.h): sample captions of a split with their
  // top-5 images as thumbnails, for `mmalign report`. Skipped for a ladder head, whose scores are not
  // cosines of embeddings.
  void write_gallery(const std::string& split);

  const std::vector<StepLog>& history() const { return history_; }
  models::DualEncoder& model() { return *bundle_.model; }
  AlignmentModel& bundle() { return bundle_; }
  int64_t steps_done() const { return step_; }
  double lr_at(int64_t step) const;
  int signal_received() const { return signal_; }
  // This process's place in an mpirun job (0 of 1 otherwise); rank 0 writes the run directory.
  int rank() const { return rank_; }
  int world() const { return world_; }
  Device device() const { return device_; }

 private:
  void log_line(const nlohmann::json& j);
  void log_text(const std::string& line);
  // Σ weight · loss over config_.loss(). image_embeds/text_embeds: L2-normalised (clip, siglip,
  // triplet); image_raw/text_raw: the same before normalisation, and labels [B] i64 the samples'
  // identity classes (cmpm, cmpc, intra_class; undefined under gradient caching, which check_losses
  // then rules out).
  // ladder_logits: a token-mode ladder's logits (DualEncoder::token_logits), which the clip losses
  // then use instead of scoring the embeddings.
  Tensor batch_loss(const Tensor& image_embeds, const Tensor& text_embeds, const Tensor& image_raw = Tensor(),
                    const Tensor& text_raw = Tensor(), const Tensor& labels = Tensor(),
                    const Tensor& ladder_logits = Tensor());
  // batch_loss under mpirun: this rank's share of the global losses (nn/losses/global.h).
  Tensor global_batch_loss(const Tensor& image_embeds, const Tensor& text_embeds);
  void add_loss_term(Tensor& loss, const Tensor& term, double weight);
  void note_loss_term(size_t index, const Tensor& value);
  std::vector<std::pair<std::string, Tensor>> loss_terms_;  // of the current step's batch_loss
  // Validates config_.loss(): kinds, triplet options, and the combinations that cannot work.
  void check_losses();
  void check_finite(double loss, const Tensor& image_embeds, const Tensor& text_embeds) const;
  double clip_and_measure_gradients();
  void after_eval(const nlohmann::json& metrics);
  // (Re)builds the optimizer for the current step: frozen prefixes are left out (and need no
  // gradient) until optim.freeze_steps; the state of parameters already optimised carries over.
  void build_optimizer();
  // Under mpirun: the BatchNorm running statistics averaged over ranks (per-rank BatchNorm), so every
  // replica holds the same buffers — one update with the mean of the ranks' batch statistics.
  void average_batch_norm_statistics();
  // The largest of the ranks' values (stop signals: every rank stops at the same step).
  int agree_max(int value);
  bool writes_files() const { return !run_dir_.empty() && rank_ == 0; }
  // train.device and the mpirun world: device_, rank_, world_, the communicators; checks that the
  // global batch splits evenly.
  void set_up_devices_and_ranks();
  // "this rank handed N bytes to collectives: all_reduce A, all_gather B, ..." for the log.
  static std::string comm_summary(const StepLog& s);
  // The dropout generator's seed of a rank: rank 0 keeps the config's seed, so one process and rank 0
  // of a job draw alike; the others get distinct streams. Resume re-derives it from rank 0's seed.
  static uint64_t rank_seed(uint64_t seed, int rank);

  config::Config config_;
  std::string run_dir_;
  int64_t batch_size_ = 64, steps_ = 1000;
  uint64_t seed_ = 0;
  std::unique_ptr<ImageTextData> train_data_;
  DataSources sources_;
  AlignmentModel bundle_;
  std::unique_ptr<data::TransformPipeline> train_transform_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  std::unique_ptr<Ema> ema_;  // when optim.ema_decay > 0
  bool frozen_ = false;       // parameters under optim.freeze_prefix are still out of the optimizer
  std::unique_ptr<data::Loader> loader_;
  int64_t step_ = 0;
  std::vector<StepLog> history_;
  std::vector<std::pair<std::string, std::string>> tokenizer_files_;  // for checkpoints
  nlohmann::json last_eval_;
  // best checkpoint / early stopping
  std::string best_metric_ = "rsum";
  double best_value_ = -1e300;
  int64_t best_step_ = 0, evals_without_improvement_ = 0;
  int signal_ = 0;
  std::unique_ptr<ProgressReporter> progress_;  // while run() runs
  std::unique_ptr<EventWriter> events_;         // TensorBoard scalars (with a run directory)
  // Device and data parallelism (train.device; mpirun).
  Device device_ = kCPU;
  int rank_ = 0, world_ = 1;
  dist::Communicator* comm_ = nullptr;       // the parameters' device kind (NCCL for CUDA under mpirun)
  dist::Communicator* host_comm_ = nullptr;  // CPU tensors: loss values, stop flags, evaluation shards
  std::unique_ptr<nn::DistributedDataParallel> ddp_;  // world_ > 1
  // train.precision: autocast's low dtype and f16's loss scaler (train/mixed_precision.h).
  MixedPrecision mp_;
  int64_t skipped_steps_ = 0;  // f16 overflow steps (parameters unchanged)
};

}  // namespace mm::train
