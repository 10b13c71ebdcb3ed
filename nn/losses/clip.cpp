#include "nn/losses/clip.h"

#include "autograd/functions.h"
#include "nn/losses/common.h"

namespace mm::nn {

using namespace losses_detail;

Tensor clip_logits(const Tensor& image, const Tensor& text, const Tensor& logit_scale, const Tensor& bias) {
  const char* op = "clip_logits";
  MM_CHECK(image.defined() && text.defined(), Value, op, "image and text must be defined");
  MM_CHECK(image.dim() == 2 && text.dim() == 2 && image.size(1) == text.size(1), Shape, op,
           "image and text must be [B, D] with the same D, got image ", shape_str(image.shape()), " and text ",
           shape_str(text.shape()));
  MM_CHECK(is_floating(image.dtype()) && is_floating(text.dtype()), DType, op, "image and text must be floating");
  check_scalar_param(op, logit_scale, "logit_scale", image);
  // Scale after the product: exp(logit_scale) multiplies B² logits once instead of B·D features, and
  // it is the form open_clip computes (logit_scale * image @ text.T).
  Tensor logits = mul(matmul(image, transpose(text, 0, 1)), exp(as_scalar(logit_scale)));
  if (bias.defined()) {
    check_scalar_param(op, bias, "bias", image);
    logits = add(logits, as_scalar(bias));
  }
  return logits;
}

Tensor clip_loss_from_logits(const Tensor& logits, const ClipLossOptions& o) {
  const char* op = "clip_loss";
  MM_CHECK(logits.defined() && logits.dim() == 2 && logits.size(0) == logits.size(1) && logits.size(0) > 0, Shape,
           op, "logits must be a square [B, B] matrix (image rows, text columns; B ≥ 1), got ",
           logits.defined() ? shape_str(logits.shape()) : std::string("undefined"));
  MM_CHECK(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0, Value, op, "label_smoothing must be in [0, 1], got ",
           o.label_smoothing);
  Tensor target = diagonal_targets(logits.size(0), logits);
  Tensor i2t = cross_entropy(logits, target, Reduction::Mean, -100, o.label_smoothing);
  Tensor t2i = cross_entropy(transpose(logits, 0, 1), target, Reduction::Mean, -100, o.label_smoothing);
  Tensor total = add(i2t, t2i);
  return o.reduction == ClipReduction::MeanOfDirections ? mul(total, 0.5) : total;
}

Tensor clip_loss(const Tensor& image, const Tensor& text, const Tensor& logit_scale, const ClipLossOptions& o) {
  check_paired_embeddings("clip_loss", image, text);
  check_scalar_param("clip_loss", logit_scale, "logit_scale", image);
  return clip_loss_from_logits(clip_logits(image, text, logit_scale), o);
}

}  // namespace mm::nn
