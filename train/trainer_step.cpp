// One optimisation step of the trainer, its losses, and the NaN/Inf guard.
#include <chrono>
#include <cmath>
#include <limits>

#include "autograd/autocast.h"
#include "autograd/functions.h"
#include "ops/copy.h"
#include "nn/losses/clip.h"
#include "nn/losses/cmpm.h"
#include "nn/losses/global.h"
#include "nn/losses/intra_class.h"
#include "nn/losses/siglip.h"
#include "nn/losses/triplet.h"
#include "train/grad_cache.h"
#include "train/trainer.h"

namespace mm::train {

namespace {

bool all_finite(const Tensor& t) {
  NoGradGuard ng;
  // sum(x·0) is 0 for finite x and NaN as soon as one element is Inf or NaN.
  return std::isfinite(sum(mul(t.detach(), 0.0)).to_double_vector()[0]);
}

// Seed 004's losses read the embeddings' norms (nn/losses/cmpm.h) and identity labels.
bool uses_raw_embeddings(const std::string& kind) { return kind == "cmpm" || kind == "cmpc" || kind == "intra_class"; }

nn::TripletLossOptions triplet_options(const config::Loss& l) {
  nn::TripletLossOptions o;
  if (l.has_margin()) o.margin = l.margin();
  const std::string sim = l.has_similarity() ? l.similarity() : "cosine";
  MM_CHECK(sim == "cosine" || sim == "euclidean", Value, "config", "loss.similarity '", sim,
           "' (triplet): expected cosine | euclidean");
  o.similarity = sim == "cosine" ? nn::TripletSimilarity::Cosine : nn::TripletSimilarity::Euclidean;
  const std::string neg = l.has_negatives() ? l.negatives() : "hardest";
  MM_CHECK(neg == "all" || neg == "hardest" || neg == "semi_hard", Value, "config", "loss.negatives '", neg,
           "' (triplet): expected all | hardest | semi_hard");
  o.negatives = neg == "all" ? nn::TripletNegatives::All
                : neg == "hardest" ? nn::TripletNegatives::Hardest
                                   : nn::TripletNegatives::SemiHard;
  o.sum_over_anchors = l.sum_over_anchors();
  return o;
}

// The samples' identity classes, in batch order.
Tensor batch_labels(const data::Batch& b) {
  std::vector<int64_t> v;
  for (const data::Example& e : b.examples) v.push_back(e.label);
  return Tensor::from_vector<int64_t>(v, {static_cast<int64_t>(v.size())});
}

}  // namespace

void Trainer::check_losses() {
  const int64_t chunks = config_.train().accumulation_chunks();
  bool has_clip = config_.loss().empty();  // no losses: one clip loss
  int cmpc = 0;
  for (const config::Loss& l : config_.loss()) {
    const std::string kind = l.has_kind() ? l.kind() : "clip";
    MM_CHECK(kind == "clip" || kind == "siglip" || kind == "triplet" || uses_raw_embeddings(kind), Value, "config",
             "loss.kind '", kind, "' is unknown (clip | siglip | triplet | cmpm | cmpc | intra_class)");
    has_clip = has_clip || kind == "clip";
    if (kind == "triplet") triplet_options(l);  // throws on a bad option
    // Gradient caching (train/grad_cache.h) hands the loss the normalised embeddings only.
    MM_CHECK(!uses_raw_embeddings(kind) || chunks <= 1, Value, "config", "loss.kind ", kind,
             " needs the embeddings before L2 normalisation, which gradient caching (train.accumulation_chunks = ",
             chunks, ") does not provide; use train.accumulation_chunks 1 or a clip | siglip | triplet loss");
    if (kind == "cmpc") ++cmpc;
    MM_CHECK(cmpc <= 1, Value, "config", "at most one loss of kind cmpc (the model has one classifier W)");
  }
  // Under mpirun the losses see this rank's slice; those with a global form (nn/losses/global.h) use it.
  for (const config::Loss& l : config_.loss())
    MM_CHECK(world_ == 1 || !uses_raw_embeddings(l.kind()), Value, "config", "loss.kind ", l.kind(),
             " has no data-parallel (global) form yet; under mpirun use clip | siglip | triplet");
  MM_CHECK(world_ == 1 || !config_.head().has_ladder(), Value, "config",
           "head.ladder scores every (image, caption) pair of the batch through the rung, which has no "
           "data-parallel form yet; train it in one process");
  if (config_.head().ladder().mode() == "token") {
    for (const config::Loss& l : config_.loss())
      MM_CHECK(l.kind().empty() || l.kind() == "clip", Value, "config", "head.ladder.mode token trains through clip "
               "losses on the rung's logits; loss.kind ", l.kind(), " scores pooled embeddings, which token mode "
               "does not compute");
    MM_CHECK(config_.train().accumulation_chunks() <= 1, Value, "config",
             "head.ladder.mode token: gradient caching (train.accumulation_chunks) caches pooled embeddings, "
             "not token sequences; use accumulation_chunks 1");
  }
  // The losses other than clip score the embeddings directly: with them alone the rung would not learn.
  MM_CHECK(!config_.head().has_ladder() || has_clip, Value, "config",
           "head.ladder is trained through a clip loss; add loss { kind: \"clip\" }");
}

Tensor Trainer::batch_loss(const Tensor& image_embeds, const Tensor& text_embeds, const Tensor& image_raw,
                           const Tensor& text_raw, const Tensor& labels, const Tensor& ladder_logits) {
  models::DualEncoder& model = *bundle_.model;
  auto logits = [&] { return ladder_logits.defined() ? ladder_logits : model.logits(image_embeds, text_embeds); };
  if (world_ > 1) return global_batch_loss(image_embeds, text_embeds);
  Tensor loss;
  loss_terms_.clear();
  auto accumulate = [&](const Tensor& l, double w) { add_loss_term(loss, l, w); };
  if (config_.loss().empty()) accumulate(nn::clip_loss_from_logits(logits()), 1.0);
  for (const config::Loss& l : config_.loss()) {
    const double w = l.has_weight() ? l.weight() : 1.0;
    const std::string& kind = l.kind();
    MM_CHECK(!uses_raw_embeddings(kind) || (image_raw.defined() && labels.defined()), Value, "train", "loss.kind ",
             kind, " needs the unnormalised embeddings and the labels");
    if (kind == "siglip") {
      accumulate(nn::siglip_loss(image_embeds, text_embeds, model.logit_scale, model.logit_bias), w);
    } else if (kind == "triplet") {
      accumulate(nn::triplet_loss(image_embeds, text_embeds, triplet_options(l)), w);
    } else if (kind == "cmpm") {
      accumulate(nn::cmpm_loss(image_raw, text_raw, labels, l.has_epsilon() ? l.epsilon() : 1e-8), w);
    } else if (kind == "cmpc") {
      accumulate(model.cmpc->forward(image_raw, text_raw, labels), w);
    } else if (kind == "intra_class") {  // both modalities, as seed 004's constraints on images and text
      accumulate(add(nn::intra_class_loss(image_raw, labels), nn::intra_class_loss(text_raw, labels)), w);
    } else {
      nn::ClipLossOptions co;
      co.label_smoothing = l.label_smoothing();
      co.reduction = l.reduction() == "sum" ? nn::ClipReduction::Sum : nn::ClipReduction::MeanOfDirections;
      accumulate(nn::clip_loss_from_logits(logits(), co), w);
    }
  }
  return loss;
}

// Under mpirun: this rank's local loss L_r of each global loss (nn/losses/global.h), whose mean over
// ranks is the single-process loss of the global batch and whose gradients, averaged by DDP, are its
// gradients.
Tensor Trainer::global_batch_loss(const Tensor& image_embeds, const Tensor& text_embeds) {
  models::DualEncoder& model = *bundle_.model;
  Tensor loss;
  loss_terms_.clear();
  auto accumulate = [&](const Tensor& l, double w) { add_loss_term(loss, l, w); };
  if (config_.loss().empty()) accumulate(nn::global_clip_loss(image_embeds, text_embeds, model.logit_scale, *comm_), 1.0);
  for (const config::Loss& l : config_.loss()) {
    const double w = l.has_weight() ? l.weight() : 1.0;
    if (l.kind() == "siglip") {
      accumulate(nn::global_siglip_loss(image_embeds, text_embeds, model.logit_scale, model.logit_bias, *comm_), w);
    } else if (l.kind() == "triplet") {
      accumulate(nn::global_triplet_loss(image_embeds, text_embeds, *comm_, triplet_options(l)), w);
    } else {
      nn::ClipLossOptions co;
      co.label_smoothing = l.label_smoothing();
      co.reduction = l.reduction() == "sum" ? nn::ClipReduction::Sum : nn::ClipReduction::MeanOfDirections;
      accumulate(nn::global_clip_loss(image_embeds, text_embeds, model.logit_scale, *comm_, co), w);
    }
  }
  return loss;
}

// loss += weight · term; the term is noted for per-term logging.
void Trainer::add_loss_term(Tensor& loss, const Tensor& term, double weight) {
  note_loss_term(loss_terms_.size(), term);
  loss = loss.defined() ? add(loss, mul(term, weight)) : mul(term, weight);
}

// Term `index` of the objective (config order; one clip loss when the config has none), before its
// weight: logged as loss_<kind> (loss_<kind>_<index> when a kind repeats) when there are several.
void Trainer::note_loss_term(size_t index, const Tensor& value) {
  std::string kind = config_.loss().empty() ? "clip" : config_.loss(static_cast<int>(index)).kind();
  if (kind.empty()) kind = "clip";
  int same = 0;
  for (const config::Loss& l : config_.loss()) same += (l.kind().empty() ? "clip" : l.kind()) == kind;
  std::string name = "loss_" + kind;
  if (same > 1) name += "_" + std::to_string(index);
  loss_terms_.emplace_back(name, value.detach());
}

void Trainer::average_batch_norm_statistics() {
  NoGradGuard ng;
  for (auto& [name, buf] : bundle_.model->named_buffers()) {
    const bool stat = name.size() > 12 && (name.ends_with(".running_mean") || name.ends_with(".running_var"));
    if (!stat) continue;
    Tensor t = buf.is_contiguous() ? buf : ops::contiguous(buf);
    comm_->all_reduce(t, dist::ReduceOp::Avg);
    if (!t.same(buf)) ops::copy_(buf, t);
  }
}

double Trainer::step() {
  const auto t0 = std::chrono::steady_clock::now();
  data::Batch b;
  while (!loader_->next(b)) loader_->start_epoch(loader_->position().epoch + 1);
  if (frozen_ && config_.optim().freeze_steps() > 0 && step_ >= config_.optim().freeze_steps()) build_optimizer();
  optimizer_->zero_grad();
  models::DualEncoder& model = *bundle_.model;
  const int64_t chunks = std::max<int64_t>(1, config_.train().accumulation_chunks());
  double value = 0;
  std::array<int64_t, dist::kNumCollectives> bytes_before{};
  for (int c = 0; c < dist::kNumCollectives; ++c)
    bytes_before[c] = comm_->stats(static_cast<dist::Collective>(c)).bytes +
                      (host_comm_ != comm_ ? host_comm_->stats(static_cast<dist::Collective>(c)).bytes : 0);
  b.images = to(b.images, bundle_.dtype);
  if (!device_.is_cpu()) {
    b.images = to(b.images, device_);
    b.input_ids = to(b.input_ids, device_);
    b.attention_mask = to(b.attention_mask, device_);
  }
  // backward of the (loss-scaled, f16) loss; DDP averages the gradients over ranks while it runs.
  auto backward = [&](const Tensor& loss) {
    const Tensor scaled = mp_.scaler.scale(loss);
    if (ddp_) {
      ddp_->backward(scaled);
    } else {
      scaled.backward();
    }
  };
  if (model.token_mode()) {  // the ladder on token sequences: the rung's logits are the scores
    Tensor loss;
    models::Tokens it, tt;
    {
      AutocastGuard autocast(mp_.low);  // the forward and the loss only (train/mixed_precision.h)
      it = model.image_tokens(b.images);
      tt = model.text_tokens(b.input_ids, b.attention_mask);
      loss = batch_loss(Tensor(), Tensor(), Tensor(), Tensor(), Tensor(), model.token_logits(it, tt));
    }
    value = loss.to_double_vector()[0];
    check_finite(value, it.values, tt.values);
    backward(loss);
  } else if (chunks == 1) {
    // encode_image/encode_text, keeping the embeddings before normalisation for seed 004's losses.
    Tensor loss, image_embeds, text_embeds;
    {
      AutocastGuard autocast(mp_.low);
      const Tensor image_raw = model.project_image(b.images);
      const Tensor text_raw = model.project_text(b.input_ids, b.attention_mask);
      image_embeds = normalize(image_raw, 2.0, -1);
      text_embeds = normalize(text_raw, 2.0, -1);
      loss = batch_loss(image_embeds, text_embeds, image_raw, text_raw, batch_labels(b));
    }
    value = loss.to_double_vector()[0];
    check_finite(value, image_embeds, text_embeds);
    backward(loss);
  } else {  // exact for the batch loss: train/grad_cache.h
    // The chunks' forwards run under autocast; their backward passes do not (the engine turns it off).
    auto loss_fn = [this](const Tensor& i, const Tensor& t) { return mp_.scaler.scale(batch_loss(i, t)); };
    AutocastGuard autocast(mp_.low);
    GradCacheResult r;
    if (ddp_) {
      {  // every chunk's backward accumulates locally; the sum is averaged over ranks once
        auto local = ddp_->no_sync();
        r = grad_cache_backward(model, b.images, b.input_ids, b.attention_mask, chunks, loss_fn);
      }
      ddp_->sync_gradients();
    } else {
      r = grad_cache_backward(model, b.images, b.input_ids, b.attention_mask, chunks, loss_fn);
    }
    value = r.loss / mp_.scaler.get_scale();
    check_finite(value, r.image_embeds, r.text_embeds);
  }
  std::vector<double> values{value};  // the loss, then each term's value
  for (const auto& [name, t] : loss_terms_) values.push_back(t.to_double_vector()[0]);
  if (world_ > 1) {
    // The logged losses are the global batch's: the means of the ranks' local losses.
    Tensor v = Tensor::from_vector<double>(values, {static_cast<int64_t>(values.size())});
    host_comm_->all_reduce(v, dist::ReduceOp::Avg);
    values = v.to_double_vector();
    value = values[0];
    if (!config_.train().sync_batch_norm()) average_batch_norm_statistics();
  }
  // f16: the gradients divided by the loss scale before anything reads them; an overflow (expected
  // now and then while the scale searches for its level) skips the step and halves the scale.
  const bool overflow = mp_.scaler.unscale_(*optimizer_);
  const double grad_norm = overflow ? std::numeric_limits<double>::quiet_NaN() : clip_and_measure_gradients();
  const double lr = lr_at(step_);
  optimizer_->set_lr(lr);
  const bool stepped = mp_.scaler.step(*optimizer_);
  mp_.scaler.update();
  if (stepped) {
    model.clamp_logit_scale();
    if (ema_) ema_->update(model);
  } else {
    ++skipped_steps_;
    log_text("step " + std::to_string(step_ + 1) + ": non-finite f16 gradients, step skipped; loss scale now " +
             std::to_string(mp_.scaler.get_scale()));
  }
  ++step_;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  StepLog log;
  log.step = step_;
  log.loss = value;
  log.lr = lr;
  log.logit_scale = model.scale();
  log.pairs_per_second = static_cast<double>(b.examples.size() * static_cast<size_t>(world_)) / secs;
  log.grad_norm = grad_norm;
  log.loss_scale = mp_.scaler.get_scale();
  for (int c = 0; c < dist::kNumCollectives; ++c)
    log.comm_bytes[c] = comm_->stats(static_cast<dist::Collective>(c)).bytes +
                        (host_comm_ != comm_ ? host_comm_->stats(static_cast<dist::Collective>(c)).bytes : 0) -
                        bytes_before[c];
  if (loss_terms_.size() > 1)
    for (size_t k = 0; k < loss_terms_.size(); ++k) log.loss_terms.emplace_back(loss_terms_[k].first, values[k + 1]);
  history_.push_back(log);
  return value;
}

// Before backward: a non-finite loss halts training, naming the step and the first tensor on the way
// from the inputs to the loss that is not finite (so "image_embeds" points at the image tower).
void Trainer::check_finite(double loss, const Tensor& image_embeds, const Tensor& text_embeds) const {
  if (std::isfinite(loss)) return;
  std::string culprit = "the loss itself (its inputs are finite)";
  const std::pair<const char*, const Tensor*> chain[] = {{"image_embeds", &image_embeds}, {"text_embeds", &text_embeds}};
  for (const auto& [name, t] : chain)
    if (t->defined() && !all_finite(*t)) {
      culprit = name;
      break;
    }
  if (culprit == "image_embeds" || culprit == "text_embeds")
    for (const auto& [name, p] : bundle_.model->named_parameters())
      if (!all_finite(p)) {
        culprit += " (parameter " + name + " is not finite)";
        break;
      }
  fail(ErrorKind::Runtime, "train", "step ", step_ + 1, ": the loss is ", loss, "; first non-finite tensor: ", culprit,
       ". Training stopped (lower optim.lr, or set optim.grad_clip)");
}

// The global gradient norm (logged), clipped to optim.grad_clip when set. A non-finite norm halts
// training naming the first parameter whose gradient is not finite.
double Trainer::clip_and_measure_gradients() {
  NoGradGuard ng;
  double sq = 0;
  std::vector<std::pair<std::string, Tensor>> params = bundle_.model->named_parameters();
  for (const auto& [name, p] : params)
    if (p.grad().defined()) sq += sum(square(p.grad())).to_double_vector()[0];
  const double norm = std::sqrt(sq);
  if (!std::isfinite(norm)) {
    for (const auto& [name, p] : params)
      if (p.grad().defined() && !all_finite(p.grad()))
        fail(ErrorKind::Runtime, "train", "step ", step_ + 1, ": the gradient of ", name,
             " is not finite (the loss was finite). Training stopped (lower optim.lr, or set optim.grad_clip)");
  }
  const double clip = config_.optim().grad_clip();
  if (clip > 0 && norm > clip)
    for (const auto& [name, p] : params)
      if (p.grad().defined()) p.set_grad(mul(p.grad(), clip / (norm + 1e-6)));
  return norm;
}

}  // namespace mm::train
