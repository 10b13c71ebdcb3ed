#include "nn/losses/distill.h"

#include "autograd/functions.h"
#include "nn/losses/common.h"

namespace mm::nn {

using namespace losses_detail;

namespace {

// H(teacher, student) = −mean_i Σ_j softmax(teacher)_ij · log_softmax(student)_ij.
Tensor soft_cross_entropy(const Tensor& teacher_logits, const Tensor& student_logits) {
  return neg(mean(sum(mul(softmax(teacher_logits, 1), log_softmax(student_logits, 1)), {1})));
}

}  // namespace

Tensor DistillationLoss::total() const { return add(contrastive, distill); }

DistillationLoss distillation_loss(const Tensor& image, const Tensor& text, const Tensor& logit_scale,
                                   const Tensor& teacher_image, const Tensor& teacher_text,
                                   const Tensor& teacher_logit_scale, const ClipLossOptions& options) {
  const char* op = "distillation_loss";
  check_paired_embeddings(op, image, text);
  check_paired_embeddings(op, teacher_image, teacher_text, "teacher_image", "teacher_text");
  MM_CHECK(teacher_image.size(0) == image.size(0), Shape, op,
           "teacher and student must see the same batch: teacher_image ", shape_str(teacher_image.shape()),
           " vs image ", shape_str(image.shape()));
  MM_CHECK(teacher_image.device() == image.device(), Device, op, "teacher and student are on different devices");
  check_scalar_param(op, logit_scale, "logit_scale", image);
  check_scalar_param(op, teacher_logit_scale, "teacher_logit_scale", image);
  Tensor student = clip_logits(image, text, logit_scale);
  Tensor teacher = clip_logits(teacher_image, teacher_text, teacher_logit_scale);
  DistillationLoss r;
  r.contrastive = clip_loss_from_logits(student, options);
  r.distill = mul(add(soft_cross_entropy(teacher, student),
                      soft_cross_entropy(transpose(teacher, 0, 1), transpose(student, 0, 1))),
                  0.5);
  return r;
}

}  // namespace mm::nn
