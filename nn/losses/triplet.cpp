#include "nn/losses/triplet.h"

#include <limits>

#include "autograd/functions.h"
#include "nn/losses/common.h"

namespace mm::nn {

using namespace losses_detail;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Per-anchor hinge losses [B] of one direction. sim [B, B]: row i = anchor i, column j = candidate j
// of the other modality; the diagonal holds the positives.
Tensor direction_loss(const Tensor& sim, const TripletLossOptions& o) {
  const int64_t b = sim.size(0);
  Tensor diag = eye_mask(b, sim);
  Tensor pos = unsqueeze(diagonal(sim), 1);  // [B, 1] sim(a, p)
  if (o.negatives == TripletNegatives::All) {
    Tensor hinge = relu(add(sub(sim, pos), o.margin));  // [B, B] m − sim(a,p) + sim(a,n_j)
    return sum(masked_fill(hinge, diag, 0.0), {1});
  }
  // Hardest and semi-hard pick one negative per anchor. The pick is made on detached values and the
  // picked similarity gathered from `sim`, so the gradient reaches that negative only (as VSE++'s
  // max(1)[0] and TF's masked minimum do).
  Tensor values = sim.detach();
  Tensor pick;
  if (o.negatives == TripletNegatives::Hardest) {
    pick = argmax(masked_fill(values, diag, -kInf), 1, /*keepdim=*/true);
  } else {
    Tensor semi = logical_and(logical_not(diag), lt(values, pos.detach()));  // less similar than the positive
    Tensor semi_values = masked_fill(values, logical_not(semi), -kInf);
    Tensor has_semi = gt(sum(to(semi, DType::I64), {1}, /*keepdim=*/true), 0.0);
    Tensor hardest_semi = argmax(semi_values, 1, true);
    Tensor easiest = argmin(masked_fill(values, diag, kInf), 1, true);  // TF Addons' fallback
    pick = where(has_semi, hardest_semi, easiest);
  }
  Tensor negative = gather(sim, 1, pick);  // [B, 1] sim(a, n)
  return squeeze(relu(add(sub(negative, pos), o.margin)), 1);
}

}  // namespace

Tensor triplet_loss(const Tensor& image, const Tensor& text, const TripletLossOptions& o) {
  const char* op = "triplet_loss";
  check_paired_embeddings(op, image, text);
  MM_CHECK(o.margin >= 0, Value, op, "margin must be non-negative, got ", o.margin);
  // sim[i, j] = sim(image i, text j); the text→image direction reads it transposed (both similarities
  // are symmetric in their arguments).
  Tensor sim = o.similarity == TripletSimilarity::Cosine
                   ? matmul(normalize(image, 2.0, 1), transpose(normalize(text, 2.0, 1), 0, 1))
                   : neg(cdist(image, text, 2.0));
  const int64_t b = image.size(0);
  // No negatives in a batch of one: zero, still connected to the inputs so backward() works.
  if (b == 1) return mul(sum(sim), 0.0);
  Tensor per_anchor;
  if (o.directions != LossDirections::TextToImage) per_anchor = direction_loss(sim, o);
  if (o.directions != LossDirections::ImageToText) {
    Tensor t2i = direction_loss(transpose(sim, 0, 1), o);
    per_anchor = per_anchor.defined() ? add(per_anchor, t2i) : t2i;
  }
  return o.sum_over_anchors ? sum(per_anchor) : mean(per_anchor);
}

}  // namespace mm::nn
