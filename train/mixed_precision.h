// Mixed precision from a config: train.precision ("f32" | "bf16" | "f16") and train.loss_scale.
//
//   f32   nothing changes (autocast off, scaler disabled).
//   bf16  the forward runs under AutocastGuard(BF16) (autograd/autocast.h); no loss scaling (bf16
//         has f32's exponent range), the scaler is disabled and passes everything through.
//   f16   AutocastGuard(F16) plus dynamic loss scaling (train/grad_scaler.h), configured by
//         train.loss_scale (defaults: 65536, ×2 every 2000 clean steps, ×0.5 on overflow).
// Parameters, gradients and optimizer state stay f32 in every mode (master weights).
//
// How the Trainer uses it (train/trainer.h / trainer_step.cpp; nothing there is changed by this
// file). Build once, next to the optimizer (the config is validated here):
//
//   MixedPrecision mp_;                                      // member (trainer.h)
//   mp_ = make_mixed_precision(config_.train());             // set-up (trainer.cpp)
//
// Trainer::step(), chunks == 1:
//
//   optimizer_->zero_grad();
//   Tensor image_raw, text_raw, image_embeds, text_embeds, loss;
//   {
//     AutocastGuard autocast(mp_.low);                       // the forward and the loss only
//     image_raw = model.project_image(b.images);  ...  loss = batch_loss(...);
//   }                                                        // loss is f32 (losses are on the f32 list)
//   value = loss.to_double_vector()[0];                      // the true loss, for logging
//   check_finite(value, image_embeds, text_embeds);
//   Tensor scaled = mp_.scaler.scale(loss);                  // = loss unless f16
//   if (ddp_) ddp_->backward(scaled); else scaled.backward();  // backward outside the guard
//   const bool overflow = mp_.scaler.unscale_(*optimizer_);  // before clipping: the true gradients
//   double grad_norm = std::numeric_limits<double>::quiet_NaN();
//   if (!overflow) grad_norm = clip_and_measure_gradients(); // its non-finite check must not run on an
//                                                            // overflow step: that is expected in f16
//   optimizer_->set_lr(lr);
//   const bool stepped = mp_.scaler.step(*optimizer_);       // skips opt.step() on overflow
//   mp_.scaler.update();                                     // backoff or growth
//   if (stepped) { model.clamp_logit_scale(); if (ema_) ema_->update(model); }  // nothing changed otherwise
//   ++step_;                                                 // torch counts skipped steps too (the LR
//                                                            // schedule moves on)
//
// With a disabled scaler (f32, bf16) scale() returns the loss, unscale_ returns false without touching
// the gradients and step() is opt.step(): one code path for every precision. Under DDP the gradients
// are averaged before unscale_, so every rank finds the same overflow and skips the same steps.
//
// Gradient caching (train.accumulation_chunks > 1): wrap the whole grad_cache_backward call in the
// guard (its internal backward runs under it too, which is harmless: backward formulas use raw ops,
// and the engine casts every gradient to its input's dtype) and pass a loss function that scales:
//   [&](const Tensor& i, const Tensor& t) { return mp_.scaler.scale(batch_loss(i, t)); }
// then value = r.loss / mp_.scaler.get_scale() (r.loss is the scaled loss); the rest is as above.
//
// Checkpoints: add mp_.scaler.state_dict() to the optimizer's tensors (keys "grad_scaler.scale",
// "grad_scaler.growth_tracker"; empty unless f16) and, on resume, hand the keys starting with
// "grad_scaler." to mp_.scaler.load_state_dict() — not to the optimizer, which rejects unknown keys.
// A checkpoint without them resumed with f16 is an error from load_state_dict (state empty); resuming
// an f16 checkpoint with f32/bf16 ignores them. Worth logging: mp_.scaler.get_scale() and !stepped.
#pragma once

#include <string>

#include "autograd/autocast.h"
#include "train/config.h"
#include "train/grad_scaler.h"

namespace mm::train {

struct MixedPrecision {
  std::string precision = "f32";  // as configured: "f32" | "bf16" | "f16"
  DType low = DType::F32;         // AutocastGuard's argument (F32: autocast off)
  GradScaler scaler{GradScalerOptions{.enabled = false}};
  bool scaling() const { return scaler.enabled(); }
};

// Reads train.precision (unset: "f32") and train.loss_scale. An unknown precision is a Value error
// naming the field and the value ("config: train.precision 'fp16' is unknown (f32 | bf16 | f16)");
// train.loss_scale with a precision other than f16 is an error too (it would be silently ignored), as
// is a bad loss_scale value (named as train.loss_scale.<field>).
MixedPrecision make_mixed_precision(const config::Train& train);

// The GradScaler options train.loss_scale describes (unset fields: torch's defaults), enabled.
GradScalerOptions loss_scale_options(const config::LossScale& ls);

}  // namespace mm::train
