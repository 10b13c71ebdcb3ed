// The trainer's set-up and its loop; one step is in trainer_step.cpp, checkpoints and resume in
// trainer_state.cpp, evaluation in trainer_eval.cpp.
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>

#include "data/sample_rng.h"
#include "data/tokenizers/word_vocab.h"
#include "runtime/parallel.h"
#include "runtime/philox.h"
#include "runtime/safetensors.h"
#include "train/optim_config.h"
#include "train/signals.h"
#include "train/towers.h"

namespace mm::train {

namespace fs = std::filesystem;

namespace {

std::string absolute(const std::string& p, const std::string& base) {
  if (p.empty()) return p;
  return fs::absolute(fs::path(p).is_absolute() ? fs::path(p) : fs::path(base) / p).lexically_normal().string();
}

// The run's config with every path made absolute, so the copy saved in the run directory and in each
// checkpoint means the same wherever it is read from.
void absolutize_paths(config::Config& c, const std::string& base) {
  config::Data* d = c.mutable_data();
  for (config::Dataset* ds : {d->has_train() ? d->mutable_train() : nullptr, d->has_val() ? d->mutable_val() : nullptr,
                              d->has_test() ? d->mutable_test() : nullptr}) {
    if (ds == nullptr) continue;
    if (ds->has_path()) ds->set_path(absolute(ds->path(), base));
    if (ds->has_images()) ds->set_images(absolute(ds->images(), base));
  }
  for (config::Pretrained* p : {c.mutable_model()->mutable_image()->mutable_pretrained(),
                                c.mutable_model()->mutable_text()->mutable_pretrained()})
    if (p->has_path()) p->set_path(absolute(p->path(), base));
  if (!c.model().image().pretrained().has_path()) c.mutable_model()->mutable_image()->clear_pretrained();
  if (!c.model().text().pretrained().has_path()) c.mutable_model()->mutable_text()->clear_pretrained();
  config::Tokenizer* t = c.mutable_model()->mutable_text()->mutable_tokenizer();
  if (t->has_vocab()) t->set_vocab(absolute(t->vocab(), base));
  if (t->has_merges()) t->set_merges(absolute(t->merges(), base));
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  MM_CHECK(f.good(), Runtime, "train", "cannot read ", path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

Trainer::Trainer(config::Config config, std::string config_dir, std::string run_dir)
    : config_(std::move(config)), run_dir_(std::move(run_dir)) {
  const config::Train& t = config_.train();
  steps_ = t.has_steps() ? t.steps() : 1000;
  batch_size_ = t.has_batch_size() ? t.batch_size() : 64;
  seed_ = t.has_seed() ? t.seed() : 0;
  MM_CHECK(steps_ >= 1 && batch_size_ >= 2, Value, "config", "train.steps must be >= 1 and train.batch_size >= 2");
  if (t.has_threads()) set_num_threads(t.threads());
  if (t.has_best_metric()) best_metric_ = t.best_metric();
  MM_CHECK(config_.has_data(), Value, "config", "no data section");
  MM_CHECK(config_.model().has_image() && config_.model().has_text(), Value, "config",
           "training needs model.image and model.text");
  set_up_devices_and_ranks();
  mp_ = make_mixed_precision(t);
  MM_CHECK(mp_.precision == "f32" || !t.has_dtype() || t.dtype() == "f32", Value, "config", "train.precision ",
           mp_.precision, " casts f32 parameters' computations down; it does not combine with train.dtype ", t.dtype());
  check_losses();
  absolutize_paths(config_, config_dir);
  sources_ = data_sources(config_.data(), config_dir);
  train_data_ = std::make_unique<ImageTextData>(sources_, "train");
  // CMPC's classifier W has a column per identity class of the training data; the count goes into the
  // resolved config (so checkpoints rebuild the same model) unless the config names it.
  for (config::Loss& l : *config_.mutable_loss())
    if (l.kind() == "cmpc") {
      const int64_t k = train_data_->num_labels();
      if (!l.has_num_classes()) l.set_num_classes(k);
      MM_CHECK(l.num_classes() >= k, Value, "config", "loss.num_classes = ", l.num_classes(), " (cmpc) is below the ",
               k, " identity classes of the training data (",
               train_data_->has_identity_labels() ? "its identity labels" : "one per image: it has no identity labels",
               ")");
    }

  // The tokenizer first: a vocabulary built from the captions sets the text tower's vocab_size. Its
  // files travel with every checkpoint (tokenizer_files_), which names them relative to itself.
  config::TextTower* text = config_.mutable_model()->mutable_text();
  const config::Tokenizer& tc = text->tokenizer();
  if (tc.has_vocab()) {
    bundle_.tokenizer = load_config_tokenizer(config_, config_dir);
    tokenizer_files_.emplace_back(fs::path(tc.vocab()).filename().string(), read_text(tc.vocab()));
    if (tc.has_merges()) tokenizer_files_.emplace_back(fs::path(tc.merges()).filename().string(), read_text(tc.merges()));
  } else {
    MM_CHECK(!tc.has_kind() || tc.kind() == "word", Value, "config", "model.text.tokenizer: kind ", tc.kind(),
             " needs a vocab file");
    bundle_.tokenizer = std::make_unique<data::WordTokenizer>(
        data::build_word_vocab(train_data_->all_captions(nullptr), tc.has_min_count() ? tc.min_count() : 1),
        "training captions");
    std::string vocab;
    for (int64_t i = 0; i < bundle_.tokenizer->vocab_size(); ++i) vocab.append(bundle_.tokenizer->id_to_token(i)).push_back('\n');
    tokenizer_files_.emplace_back("vocab.txt", vocab);
  }
  bundle_.max_length = text->has_max_length() ? text->max_length() : 32;
  if (text->has_lstm() && !text->lstm().has_vocab_size()) text->mutable_lstm()->set_vocab_size(bundle_.tokenizer->vocab_size());
  if (text->has_bert() && !text->bert().has_vocab_size() && !tc.has_vocab())
    text->mutable_bert()->set_vocab_size(bundle_.tokenizer->vocab_size());

  manual_seed(seed_);  // parameter initialisation (identical on every rank; DDP broadcasts rank 0's anyway)
  bundle_.model = build_dual_encoder(config_);
  const config::Model& mc = config_.model();
  if (mc.image().has_pretrained())
    load_image_tower_weights(*bundle_.model->image, mc.image().pretrained().path(),
                             mc.image().pretrained().has_format() ? mc.image().pretrained().format() : "torchvision");
  if (mc.text().has_pretrained())
    load_text_tower_weights(*bundle_.model->text, mc.text().pretrained().path(),
                            mc.text().pretrained().has_format() ? mc.text().pretrained().format() : "hf");
  bundle_.dtype = config_dtype(config_);
  bundle_.model->to(bundle_.dtype);
  bundle_.model->to(device_);
  bundle_.device = device_;
  bundle_.model->train();
  bundle_.eval_transform = make_eval_transform(config_);
  bundle_.config = config_;

  schedule_ = std::make_unique<LrSchedule>(config_.optim(), steps_);
  build_optimizer();
  // Each rank draws its own dropout masks: rank r's generator is keyed by (seed, r).
  default_generator().manual_seed(rank_seed(seed_, rank_));
  if (config_.optim().ema_decay() > 0)
    ema_ = std::make_unique<Ema>(*bundle_.model, Ema::Options{config_.optim().ema_decay(), /*warmup=*/true});

  data::TransformOptions to = bundle_.eval_transform->options();
  to.flip_p = 0.0;  // captions say "left of": a mirrored image would contradict its caption
  to.crop.scale_min = 0.6;
  train_transform_ = std::make_unique<data::TransformPipeline>(to, t.augment());

  data::LoaderOptions lo;
  lo.batch_size = batch_size_;
  lo.seed = seed_;
  lo.num_workers = sources_.num_workers;
  lo.bad_samples = sources_.bad_samples;
  lo.rank = rank_;  // this rank's slice of every global batch
  lo.world = world_;
  auto make = [this](int64_t index, uint64_t epoch) {
    const auto [img, cap] = train_data_->pairs()[static_cast<size_t>(index)];
    data::SampleRng rng(seed_, epoch, static_cast<uint64_t>(index));
    data::Example e;
    e.image = train_transform_->apply(train_data_->image(img), rng);
    e.caption = train_data_->captions(img)[static_cast<size_t>(cap)];
    e.image_index = img;
    e.label = train_data_->label(img);  // identity class (image index for data without identities)
    return e;
  };
  auto collate = [this](data::Batch& b) {
    std::vector<Tensor> images;
    std::vector<std::string> caps;
    for (const auto& e : b.examples) {
      images.push_back(e.image);
      caps.push_back(e.caption);
    }
    b.images = stack_images(images);
    data::BatchEncoding enc = bundle_.tokenizer->encode_batch(caps, bundle_.max_length);
    b.input_ids = enc.input_ids;
    b.attention_mask = enc.attention_mask;
  };
  loader_ = std::make_unique<data::Loader>(static_cast<int64_t>(train_data_->pairs().size()), make, lo, collate);
  loader_->start_epoch(0);

  if (writes_files()) {
    fs::create_directories(run_dir_);
    std::ofstream(fs::path(run_dir_) / "config.pbtxt") << config_.DebugString();  // the resolved config
    std::ofstream(fs::path(run_dir_) / "vocab.txt") << tokenizer_files_.front().second;
  }
}

Trainer::~Trainer() = default;

void Trainer::set_up_devices_and_ranks() {
  const config::Train& t = config_.train();
  const std::string dev = t.has_device() ? t.device() : "cpu";
  try {
    device_ = parse_device(dev);
  } catch (const Error&) {
    fail(ErrorKind::Value, "config", "train.device '", dev, "': expected cpu, cuda or cuda:N");
  }
  host_comm_ = &dist::world_communicator(kCPU);  // collective under mpirun: every rank gets here
  rank_ = host_comm_->rank();
  world_ = host_comm_->world();
  // One GPU per process: "cuda" under mpirun is the GPU of the local rank (as torchrun's LOCAL_RANK).
  if (device_.is_cuda() && world_ > 1 && dev == "cuda") device_ = cuda_device(host_comm_->local_rank());
  comm_ = &dist::world_communicator(device_);
  MM_CHECK(batch_size_ % world_ == 0, Value, "config", "train.batch_size = ", batch_size_,
           " (the global batch) does not split evenly over ", world_, " ranks; use a multiple of ", world_);
  const int64_t local = batch_size_ / world_, chunks = std::max<int64_t>(1, t.accumulation_chunks());
  MM_CHECK(local % chunks == 0, Value, "config", "train.accumulation_chunks = ", chunks, " does not divide the ",
           local, " pairs per rank (train.batch_size ", batch_size_, " over ", world_, " ranks)");
  MM_CHECK(local >= 2 || world_ == 1, Value, "config", "train.batch_size = ", batch_size_, " gives ", local,
           " pair per rank over ", world_, " ranks; BatchNorm and the losses need at least 2");
}

uint64_t Trainer::rank_seed(uint64_t seed, int rank) {
  if (rank == 0) return seed;
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(rank);  // splitmix64 of (seed, rank)
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

int Trainer::agree_max(int value) {
  if (world_ == 1) return value;
  Tensor t = Tensor::from_vector<int32_t>({value}, {1});
  host_comm_->all_reduce(t, dist::ReduceOp::Max);
  return static_cast<int>(t.to_double_vector()[0]);
}

std::string Trainer::comm_summary(const StepLog& s) {
  int64_t total = 0;
  std::string parts;
  for (int c = 0; c < dist::kNumCollectives; ++c) {
    if (s.comm_bytes[c] == 0) continue;
    total += s.comm_bytes[c];
    parts += (parts.empty() ? "" : ", ") + std::string(dist::collective_name(static_cast<dist::Collective>(c))) + " " +
             std::to_string(s.comm_bytes[c]);
  }
  return "this rank handed " + std::to_string(total) + " bytes to collectives (" + parts + ")";
}

double Trainer::lr_at(int64_t step) const { return schedule_->lr_at(step); }

void Trainer::build_optimizer() {
  const config::Optim& o = config_.optim();
  const bool frozen = o.freeze_prefix_size() > 0 && (o.freeze_steps() <= 0 || step_ < o.freeze_steps());
  std::map<std::string, Tensor> state;
  if (optimizer_) state = optimizer_->state_dict();
  std::vector<ParamGroup> groups = make_param_groups(*bundle_.model, o, /*include_frozen=*/!frozen);
  // Frozen parameters need no gradient: backward then skips the frozen part of a tower.
  std::set<const void*> optimised;
  for (const ParamGroup& g : groups)
    for (const auto& [name, p] : g.params) optimised.insert(p.raw_data());
  for (const Tensor& p : bundle_.model->parameters()) p.set_requires_grad(optimised.count(p.raw_data()) > 0);
  optimizer_ = make_optimizer(o, std::move(groups));
  if (!state.empty()) optimizer_->load_state_dict(state);
  // DDP reduces the parameters that require grad when it is built: rebuilt when that set changes.
  if (world_ > 1) {
    ddp_.reset();
    // The logit scale (and SigLIP's bias) take no part in a triplet-only objective: reduce them as
    // zeros rather than call them missing (find_unused_parameters).
    bool scores_with_scale = config_.loss().empty();
    for (const config::Loss& l : config_.loss()) scores_with_scale |= l.kind() != "triplet";
    nn::DdpOptions ddp_options;
    ddp_options.find_unused_parameters = !scores_with_scale;
    ddp_ = std::make_unique<nn::DistributedDataParallel>(bundle_.model, *comm_, ddp_options);
  }
  if (frozen_ && !frozen) log_text("step " + std::to_string(step_) + ": optim.freeze_steps reached, frozen parameters join the optimizer");
  frozen_ = frozen;
}

void Trainer::log_line(const nlohmann::json& j) {
  if (!writes_files()) return;
  if (events_) events_->add_metrics(j);
  std::ofstream f(fs::path(run_dir_) / "metrics.jsonl", std::ios::app);
  f << j.dump() << "\n";
}

void Trainer::log_text(const std::string& line) {
  if (rank_ != 0) return;  // one voice per job
  if (progress_) {  // printed above the bar, and appended to train.log
    progress_->message(line);
    return;
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  if (!writes_files()) return;
  std::ofstream f(fs::path(run_dir_) / "train.log", std::ios::app);
  f << line << "\n";
}

StopReason Trainer::run() {
  const config::Train& t = config_.train();
  const int64_t log_every = t.has_log_every() ? t.log_every() : 20;
  const int64_t checkpoint_every = t.checkpoint_every();
  const bool has_val = sources_.synthetic.has_value() || config_.data().has_val();
  const auto start = std::chrono::steady_clock::now();
  const int64_t first_step = step_;
  StopSignalGuard signals;
  StopReason reason = StopReason::Finished;
  ProgressOptions po;
  po.total_steps = steps_;
  po.first_step = step_;
  po.log_every = log_every;
  if (writes_files()) {
    po.log_path = (fs::path(run_dir_) / "train.log").string();
    if (!events_) events_ = std::make_unique<EventWriter>(run_dir_);
  }
  if (rank_ == 0) progress_ = std::make_unique<ProgressReporter>(po);
  if (world_ > 1)
    log_text("data parallel: " + std::to_string(world_) + " ranks (" + comm_->backend() + "), " +
             std::to_string(batch_size_ / world_) + " of the " + std::to_string(batch_size_) +
             " pairs of each global batch per rank, device " + device_.str() + ", " +
             (config_.train().sync_batch_norm() ? "SyncBatchNorm" : "per-rank BatchNorm"));
  while (step_ < steps_) {
    if ((signal_ = agree_max(stop_requested())) != 0) {
      reason = StopReason::Signal;
      break;
    }
    step();
    const StepLog& s = history_.back();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (progress_) progress_->update({s.step, s.loss, s.lr, s.logit_scale, s.pairs_per_second, elapsed});
    if (world_ > 1 && step_ == first_step + 1) log_text("step " + std::to_string(step_) + ": " + comm_summary(s));
    if (step_ % log_every == 0 || step_ == steps_) {
      nlohmann::json line = {{"step", s.step}, {"loss", s.loss}, {"lr", s.lr}, {"logit_scale", s.logit_scale},
                             {"grad_norm", s.grad_norm}, {"pairs_per_second", s.pairs_per_second},
                             {"elapsed_s", elapsed}, {"steps_this_session", step_ - first_step}};
      for (const auto& [name, v] : s.loss_terms) line[name] = v;
      if (mp_.scaling()) line["loss_scale"] = s.loss_scale;
      if (world_ > 1) {
        nlohmann::json bytes;
        for (int c = 0; c < dist::kNumCollectives; ++c)
          if (s.comm_bytes[c] > 0) bytes[dist::collective_name(static_cast<dist::Collective>(c))] = s.comm_bytes[c];
        line["comm_bytes"] = bytes;
      }
      log_line(line);
    }
    bool stop_early = false;
    if (t.eval_every() > 0 && step_ % t.eval_every() == 0 && step_ < steps_) {
      nlohmann::json e = evaluate(has_val ? "val" : "train");
      log_text("eval " + e.dump());
      log_line(e);
      after_eval(e);
      stop_early = t.early_stopping_patience() > 0 && evals_without_improvement_ >= t.early_stopping_patience();
    }
    if (!run_dir_.empty() && checkpoint_every > 0 && step_ % checkpoint_every == 0 && step_ < steps_) save_checkpoint();
    if (stop_early) {
      log_text("early stopping: no new best " + best_metric_ + " in " + std::to_string(evals_without_improvement_) +
               " evaluations (best at step " + std::to_string(best_step_) + ")");
      reason = StopReason::EarlyStopped;
      break;
    }
  }
  if (reason == StopReason::Signal)
    log_text(std::string("received ") + (signal_ == 2 ? "SIGINT" : "SIGTERM") + " at step " + std::to_string(step_) +
             ": writing a checkpoint, then stopping");
  if (progress_) progress_->finish();
  if (writes_files()) {
    const std::string path = save_checkpoint();
    if (reason == StopReason::Signal) log_text("checkpoint " + path + "; continue with --resume auto");
    std::optional<EmaSwap> swap;  // the final weights are the EMA's when there is one
    if (ema_) swap.emplace(*ema_, *bundle_.model);
    safetensors::save((fs::path(run_dir_) / "model.safetensors").string(), bundle_.model->state_dict());
  }
  progress_.reset();
  return reason;
}

}  // namespace mm::train
