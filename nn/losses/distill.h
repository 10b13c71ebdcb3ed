// Contrastive distillation from a teacher dual encoder (SPEC §5.2).
//
//   distillation: contrastive loss + ½[H(softmax(teacher), log_softmax(student))] both directions
//
// Source: open_clip's DistillClipLoss (src/open_clip/loss.py), which tools/golden/losses.py runs as
// the oracle. With student logits S = clip_logits(I, T, logit_scale) and teacher logits
// Q = clip_logits(I_t, T_t, teacher_logit_scale), both [B, B]:
//   contrastive = clip_loss_from_logits(S, options)            (open_clip: options' defaults)
//   distill     = ½[H(Q, S) + H(Qᵀ, Sᵀ)],  H(Q, S) = −(1/B) Σᵢ Σⱼ softmax(Qᵢ)ⱼ · log_softmax(Sᵢ)ⱼ
// (cross entropy between the teacher's and the student's row distributions, image→text rows and
// text→image rows). Both parts are returned, to be weighted by the config; total() adds them.
// Nothing is detached: pass teacher embeddings computed without gradient (or .detach() them) for the
// usual frozen teacher, as open_clip does.
#pragma once

#include "nn/losses/clip.h"
#include "runtime/tensor.h"

namespace mm::nn {

struct DistillationLoss {
  Tensor contrastive;
  Tensor distill;
  Tensor total() const;
};

// image, text [B, D] (student); teacher_image, teacher_text [B, D_t] (D_t may differ from D);
// logit scales: one value each, the log of the scale (as clip_logits).
DistillationLoss distillation_loss(const Tensor& image, const Tensor& text, const Tensor& logit_scale,
                                   const Tensor& teacher_image, const Tensor& teacher_text,
                                   const Tensor& teacher_logit_scale, const ClipLossOptions& options = {});

}  // namespace mm::nn
