// The trainer's checkpoints and resume (train/checkpoint.h has the directory format), and the
// best-checkpoint / early-stopping bookkeeping that rides along in state.pb.
#include <filesystem>
#include <iostream>

#include "runtime/philox.h"
#include "runtime/safetensors.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace mm::train {

namespace fs = std::filesystem;

std::string Trainer::save_checkpoint() {
  MM_CHECK(!run_dir_.empty(), Value, "train", "no run directory: checkpoints need --out");
  if (rank_ != 0) return "";  // the replicas are identical: rank 0 writes for all
  CheckpointData d;
  d.model = bundle_.model->state_dict();
  d.optimizer = optimizer_->state_dict();
  if (ema_)
    for (auto& [k, v] : ema_->state_dict()) d.optimizer.emplace(k, v);  // "ema.<name>", "ema_num_updates"
  for (auto& [k, v] : mp_.scaler.state_dict()) d.optimizer.emplace(k, v);  // "grad_scaler.*" (f16 only)
  ckpt::State& st = d.state;
  st.set_step(step_);
  const data::LoaderPosition pos = loader_->position();
  st.set_epoch(pos.epoch);
  st.set_batch_in_epoch(pos.step);
  st.mutable_rng()->set_seed(default_generator().seed());
  st.mutable_rng()->set_offset(default_generator().offset());
  // The saved config names the tokenizer's files as copied into the checkpoint directory.
  config::Config saved = config_;
  config::Tokenizer* tok = saved.mutable_model()->mutable_text()->mutable_tokenizer();
  if (!tok->has_kind()) tok->set_kind("word");
  tok->set_vocab(tokenizer_files_.at(0).first);
  if (tokenizer_files_.size() > 1) tok->set_merges(tokenizer_files_.at(1).first);
  st.set_config(saved.DebugString());
  st.set_metrics_json(last_eval_.is_null() ? "" : last_eval_.dump());
  st.set_best_metric(best_metric_);
  st.set_best_value(best_value_);
  st.set_best_step(best_step_);
  st.set_evals_without_improvement(evals_without_improvement_);
  st.set_world_size(world_);
  d.text_files = tokenizer_files_;
  d.text_files.emplace_back("config.pbtxt", saved.DebugString());
  const std::string path = train::save_checkpoint(run_dir_, std::move(d));
  const int64_t keep = config_.train().has_keep_checkpoints() ? config_.train().keep_checkpoints() : 3;
  prune_checkpoints(run_dir_, keep, best_step_);
  return path;
}

void Trainer::resume(const std::string& checkpoint_dir) {
  const ckpt::State st = verify_checkpoint(checkpoint_dir);
  MM_CHECK(st.step() <= steps_, Value, "train", "the checkpoint ", checkpoint_dir, " is at step ", st.step(),
           ", past train.steps = ", steps_);
  auto weights = safetensors::load_all((fs::path(checkpoint_dir) / "model.safetensors").string());
  try {
    bundle_.model->load_state_dict(nn::NamedTensors(weights.begin(), weights.end()), /*strict=*/true);
  } catch (const Error& e) {
    fail(ErrorKind::Value, "train", "cannot resume from ", checkpoint_dir, ": its model differs from the config's: ",
         e.what());
  }
  step_ = st.step();
  build_optimizer();  // past optim.freeze_steps the frozen parameters are back in
  std::map<std::string, Tensor> opt, ema, scaler;
  for (auto& [k, v] : safetensors::load_all((fs::path(checkpoint_dir) / "optimizer.safetensors").string()))
    (k.rfind("ema", 0) == 0 ? ema : k.rfind("grad_scaler.", 0) == 0 ? scaler : opt).emplace(k, v);
  optimizer_->load_state_dict(opt);
  // The loss scale carries over between f16 runs; a change of train.precision at a resume is allowed
  // (the scaler then starts fresh, or the saved one is not needed) and said in the log.
  if (mp_.scaling() && !scaler.empty()) {
    mp_.scaler.load_state_dict(scaler);
  } else if (mp_.scaling() || !scaler.empty()) {
    log_text(std::string("note: train.precision is ") + mp_.precision + " and the checkpoint " +
             (scaler.empty() ? "has no loss scale: starting at the configured one" : "has an f16 loss scale: not used"));
  }
  MM_CHECK(ema.empty() == (ema_ == nullptr), Value, "train", "cannot resume from ", checkpoint_dir, ": optim.ema_decay is ",
           ema_ ? "set" : "not set", " but the checkpoint ", ema.empty() ? "has no" : "has an", " EMA of the weights");
  if (ema_) ema_->load_state_dict(ema);
  loader_->start_epoch(st.epoch(), st.batch_in_epoch());
  // The checkpoint holds rank 0's generator; every rank derives its own from it (rank_seed).
  default_generator().manual_seed(rank_seed(st.rng().seed(), rank_));
  default_generator().set_offset(st.rng().offset());
  if (!st.metrics_json().empty()) last_eval_ = nlohmann::json::parse(st.metrics_json());
  if (st.best_step() > 0 && st.best_metric() == best_metric_) {
    best_value_ = st.best_value();
    best_step_ = st.best_step();
    evals_without_improvement_ = st.evals_without_improvement();
  }
  log_text("resumed from " + checkpoint_dir + " at step " + std::to_string(step_));
}

void Trainer::after_eval(const nlohmann::json& metrics) {
  last_eval_ = metrics;
  MM_CHECK(metrics.contains(best_metric_) && metrics[best_metric_].is_number(), Value, "config", "train.best_metric '",
           best_metric_, "' is not one of the evaluation's metrics: ", metrics.dump());
  const double v = metrics[best_metric_].get<double>();
  if (v > best_value_) {
    best_value_ = v;
    best_step_ = step_;
    evals_without_improvement_ = 0;
    if (writes_files()) {
      const std::string path = save_checkpoint();
      const fs::path link = fs::path(run_dir_) / ".best.tmp";
      fs::remove(link);
      fs::create_directory_symlink(fs::path(path).filename(), link);
      fs::rename(link, fs::path(run_dir_) / "best");
    }
  } else {
    ++evals_without_improvement_;
  }
}

}  // namespace mm::train
