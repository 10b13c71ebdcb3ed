#include "nn/losses/cmpm.h"

#include <cmath>

#include "autograd/functions.h"
#include "nn/init.h"
#include "nn/losses/common.h"

namespace mm::nn {

using namespace losses_detail;

namespace {

// mean_i Σ_j p_ij (log p_ij − log(q_ij + ε)) for logits [B, B] and log(q + ε) [B, B].
Tensor matching_kl(const Tensor& logits, const Tensor& log_q) {
  Tensor log_p = log_softmax(logits, 1);
  return mean(sum(mul(exp(log_p), sub(log_p, log_q)), {1}));
}

}  // namespace

Tensor cmpm_loss(const Tensor& image, const Tensor& text, const Tensor& labels, double epsilon) {
  const char* op = "cmpm_loss";
  check_paired_embeddings(op, image, text);
  check_labels(op, labels, image.size(0), image);
  MM_CHECK(epsilon > 0, Value, op, "epsilon must be positive, got ", epsilon);
  Tensor mask = to(same_label_mask(labels), image.dtype());
  Tensor q = div(mask, sum(mask, {1}, /*keepdim=*/true));  // row sums ≥ 1 (the diagonal)
  Tensor log_q = log(add(q, epsilon));
  Tensor i2t = matching_kl(matmul(image, transpose(normalize(text, 2.0, 1), 0, 1)), log_q);
  Tensor t2i = matching_kl(matmul(text, transpose(normalize(image, 2.0, 1), 0, 1)), log_q);
  return add(i2t, t2i);
}

Tensor cmpc_loss(const Tensor& image, const Tensor& text, const Tensor& labels, const Tensor& W) {
  const char* op = "cmpc_loss";
  check_paired_embeddings(op, image, text);
  check_labels(op, labels, image.size(0), image);
  MM_CHECK(W.defined() && W.dim() == 2 && W.size(0) == image.size(1), Shape, op,
           "W must be [D, C] with D = the embedding size ", image.size(1), ", got W ",
           W.defined() ? shape_str(W.shape()) : std::string("undefined"), " for embeddings ",
           shape_str(image.shape()));
  MM_CHECK(W.device() == image.device(), Device, op, "W is not on the embeddings' device");
  Tensor w_norm = div(W, norm(W, 2.0, {0}, /*keepdim=*/true));  // unit-norm class columns
  Tensor image_dir = normalize(image, 2.0, 1), text_dir = normalize(text, 2.0, 1);
  // (Iᵢ·T̂ᵢ)T̂ᵢ: each image embedding projected onto its pair's text direction, and vice versa.
  Tensor image_proj = mul(sum(mul(image, text_dir), {1}, true), text_dir);
  Tensor text_proj = mul(sum(mul(text, image_dir), {1}, true), image_dir);
  return add(cross_entropy(matmul(image_proj, w_norm), labels), cross_entropy(matmul(text_proj, w_norm), labels));
}

CMPCLoss::CMPCLoss(int64_t features, int64_t classes)
    : Module("CMPCLoss"), feature_size(features), num_classes(classes) {
  MM_CHECK(features > 0 && classes > 0, Value, "CMPCLoss", "feature_size and num_classes must be positive, got ",
           features, ", ", classes);
  W = Tensor::empty({features, classes});
  init::xavier_uniform_(W);
  register_parameter("W", &W);
}

Tensor CMPCLoss::forward(const Tensor& image, const Tensor& text, const Tensor& labels) {
  return cmpc_loss(image, text, labels, W);
}

std::string CMPCLoss::extra_repr() const {
  return "feature_size=" + std::to_string(feature_size) + ", num_classes=" + std::to_string(num_classes);
}

}  // namespace mm::nn
