#include "nn/losses/siglip.h"

#include "autograd/functions.h"
#include "nn/losses/clip.h"
#include "nn/losses/common.h"

namespace mm::nn {

using namespace losses_detail;

Tensor siglip_loss(const Tensor& image, const Tensor& text, const Tensor& logit_scale, const Tensor& logit_bias) {
  const char* op = "siglip_loss";
  check_paired_embeddings(op, image, text);
  check_scalar_param(op, logit_scale, "logit_scale", image);
  if (logit_bias.defined()) check_scalar_param(op, logit_bias, "logit_bias", image);
  Tensor logits = clip_logits(image, text, logit_scale, logit_bias);
  const int64_t b = image.size(0);
  // z·logits with z = ±1 is where(diagonal, logits, −logits): no ±1 matrix to build and multiply.
  Tensor signed_logits = where(eye_mask(b, logits), logits, neg(logits));
  return div(neg(sum(logsigmoid(signed_logits))), static_cast<double>(b));
}

}  // namespace mm::nn
