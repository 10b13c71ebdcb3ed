// One optimisation step of the trainer, its losses, and the NaN/Inf guard.
#include <chrono>
#include <cmath>

#include "autograd/functions.h"
#include "nn/losses/clip.h"
#include "nn/losses/cmpm.h"
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
  // The losses other than clip score the embeddings directly: with them alone the rung would not learn.
  MM_CHECK(!config_.head().has_ladder() || has_clip, Value, "config",
           "head.ladder is trained through a clip loss; add loss { kind: \"clip\" }");
}

Tensor Trainer::batch_loss(const Tensor& image_embeds, const Tensor& text_embeds, const Tensor& image_raw,
                           const Tensor& text_raw, const Tensor& labels) {
  models::DualEncoder& model = *bundle_.model;
  Tensor loss;
  auto accumulate = [&](const Tensor& l, double w) { loss = loss.defined() ? add(loss, mul(l, w)) : mul(l, w); };
  if (config_.loss().empty()) accumulate(nn::clip_loss_from_logits(model.logits(image_embeds, text_embeds)), 1.0);
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
      accumulate(nn::clip_loss_from_logits(model.logits(image_embeds, text_embeds), co), w);
    }
  }
  return loss;
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
  if (chunks == 1) {
    // encode_image/encode_text, keeping the embeddings before normalisation for seed 004's losses.
    const Tensor image_raw = model.project_image(b.images);
    const Tensor text_raw = model.project_text(b.input_ids, b.attention_mask);
    const Tensor image_embeds = normalize(image_raw, 2.0, -1), text_embeds = normalize(text_raw, 2.0, -1);
    Tensor loss = batch_loss(image_embeds, text_embeds, image_raw, text_raw, batch_labels(b));
    value = loss.to_double_vector()[0];
    check_finite(value, image_embeds, text_embeds);
    loss.backward();
  } else {  // exact for the batch loss: train/grad_cache.h
    const GradCacheResult r = grad_cache_backward(model, b.images, b.input_ids, b.attention_mask, chunks,
                                                  [this](const Tensor& i, const Tensor& t) { return batch_loss(i, t); });
    value = r.loss;
    check_finite(value, r.image_embeds, r.text_embeds);
  }
  const double grad_norm = clip_and_measure_gradients();
  const double lr = lr_at(step_);
  optimizer_->set_lr(lr);
  optimizer_->step();
  model.clamp_logit_scale();
  if (ema_) ema_->update(model);
  ++step_;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  history_.push_back({step_, value, lr, model.scale(), static_cast<double>(b.examples.size()) / secs, grad_norm});
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
