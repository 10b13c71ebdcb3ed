// One optimisation step of the trainer, and the NaN/Inf guard.
#include <chrono>
#include <cmath>

#include "autograd/functions.h"
#include "nn/losses/clip.h"
#include "nn/losses/siglip.h"
#include "train/grad_cache.h"
#include "train/trainer.h"

namespace mm::train {

namespace {

bool all_finite(const Tensor& t) {
  NoGradGuard ng;
  // sum(x·0) is 0 for finite x and NaN as soon as one element is Inf or NaN.
  return std::isfinite(sum(mul(t.detach(), 0.0)).to_double_vector()[0]);
}

}  // namespace

// Σ weight · loss over the config's losses, from the batch's embeddings.
Tensor Trainer::batch_loss(const Tensor& image_embeds, const Tensor& text_embeds) {
  models::DualEncoder& model = *bundle_.model;
  Tensor loss;
  auto accumulate = [&](const Tensor& l, double w) { loss = loss.defined() ? add(loss, mul(l, w)) : mul(l, w); };
  if (config_.loss().empty()) accumulate(nn::clip_loss_from_logits(model.logits(image_embeds, text_embeds)), 1.0);
  for (const config::Loss& l : config_.loss()) {
    const double w = l.has_weight() ? l.weight() : 1.0;
    if (l.kind() == "siglip") {
      accumulate(nn::siglip_loss(image_embeds, text_embeds, model.logit_scale, model.logit_bias), w);
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
    const Tensor image_embeds = model.encode_image(b.images);
    const Tensor text_embeds = model.encode_text(b.input_ids, b.attention_mask);
    Tensor loss = batch_loss(image_embeds, text_embeds);
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
