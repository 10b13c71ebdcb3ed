// The global contrastive losses: local anchors against the candidates of the whole global batch (see
// global.h for the definitions, the normalisations and the byte counts).
#include "nn/losses/global.h"

#include <limits>

#include "autograd/dist.h"
#include "autograd/functions.h"
#include "nn/losses/common.h"

namespace mm::nn {

using namespace losses_detail;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The global rows of this rank's anchors: o + i for i < b, as i64 on x's device.
Tensor own_columns(const dist::Communicator& comm, int64_t b, const Tensor& x) {
  const double o = static_cast<double>(comm.rank()) * static_cast<double>(b);
  return arange(o, o + static_cast<double>(b), 1, DType::I64, x.device());
}

void check_comm(const char* loss, const dist::Communicator& comm, const Tensor& x) {
  MM_CHECK(comm.device_kind() == x.device().kind, Device, loss, "the embeddings are on ", x.device().str(),
           " but the communicator (", comm.backend(), ") works on ",
           comm.device_kind() == DeviceKind::CPU ? "CPU" : "CUDA", " tensors");
}

// Per-anchor hinge losses [b] of one direction. sim [b, B]: row i = local anchor i, column j = global
// candidate j; pos_index [b, 1] the positives' columns, pos_mask [b, B] true there. As triplet.cpp's
// direction_loss with the diagonal replaced by the positives' columns.
Tensor direction_loss(const Tensor& sim, const Tensor& pos_index, const Tensor& pos_mask,
                      const TripletLossOptions& o) {
  Tensor pos = gather(sim, 1, pos_index);  // [b, 1] sim(a, p)
  if (o.negatives == TripletNegatives::All) {
    Tensor hinge = relu(add(sub(sim, pos), o.margin));
    return sum(masked_fill(hinge, pos_mask, 0.0), {1});
  }
  Tensor values = sim.detach();
  Tensor pick;
  if (o.negatives == TripletNegatives::Hardest) {
    pick = argmax(masked_fill(values, pos_mask, -kInf), 1, /*keepdim=*/true);
  } else {
    Tensor semi = logical_and(logical_not(pos_mask), lt(values, pos.detach()));
    Tensor semi_values = masked_fill(values, logical_not(semi), -kInf);
    Tensor has_semi = gt(sum(to(semi, DType::I64), {1}, /*keepdim=*/true), 0.0);
    Tensor hardest_semi = argmax(semi_values, 1, true);
    Tensor easiest = argmin(masked_fill(values, pos_mask, kInf), 1, true);
    pick = where(has_semi, hardest_semi, easiest);
  }
  Tensor negative = gather(sim, 1, pick);
  return squeeze(relu(add(sub(negative, pos), o.margin)), 1);
}

}  // namespace

Tensor global_clip_loss(const Tensor& image, const Tensor& text, const Tensor& logit_scale, dist::Communicator& comm,
                        const ClipLossOptions& o) {
  const char* op = "global_clip_loss";
  check_paired_embeddings(op, image, text);
  check_scalar_param(op, logit_scale, "logit_scale", image);
  check_comm(op, comm, image);
  MM_CHECK(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0, Value, op, "label_smoothing must be in [0, 1], got ",
           o.label_smoothing);
  const int64_t b = image.size(0);
  Tensor all_image = dist::all_gather(image, comm), all_text = dist::all_gather(text, comm);
  Tensor s = exp(as_scalar(logit_scale));
  // Scale after the product, as clip_logits does ([b, B] logits, not B·D features).
  Tensor logits_per_image = mul(matmul(image, transpose(all_text, 0, 1)), s);
  Tensor logits_per_text = mul(matmul(text, transpose(all_image, 0, 1)), s);
  Tensor target = own_columns(comm, b, image);
  Tensor i2t = cross_entropy(logits_per_image, target, Reduction::Mean, -100, o.label_smoothing);
  Tensor t2i = cross_entropy(logits_per_text, target, Reduction::Mean, -100, o.label_smoothing);
  Tensor total = add(i2t, t2i);
  return o.reduction == ClipReduction::MeanOfDirections ? mul(total, 0.5) : total;
}

Tensor global_siglip_loss(const Tensor& image, const Tensor& text, const Tensor& logit_scale,
                          const Tensor& logit_bias, dist::Communicator& comm) {
  const char* op = "global_siglip_loss";
  check_paired_embeddings(op, image, text);
  check_scalar_param(op, logit_scale, "logit_scale", image);
  if (logit_bias.defined()) check_scalar_param(op, logit_bias, "logit_bias", image);
  check_comm(op, comm, image);
  const int64_t b = image.size(0);
  Tensor block = text;  // step k: the text block of rank (r − k) mod w
  Tensor total;
  for (int k = 0; k < comm.world(); ++k) {
    if (k > 0) block = dist::ring_shift(block, comm, 1);
    Tensor logits = clip_logits(image, block, logit_scale, logit_bias);
    // z = +1 only on the own block's diagonal (k = 0), −1 elsewhere.
    Tensor signed_logits = k == 0 ? where(eye_mask(b, logits), logits, neg(logits)) : neg(logits);
    Tensor part = sum(logsigmoid(signed_logits));
    total = total.defined() ? add(total, part) : part;
  }
  return div(neg(total), static_cast<double>(b));
}

Tensor global_triplet_loss(const Tensor& image, const Tensor& text, dist::Communicator& comm,
                           const TripletLossOptions& o) {
  const char* op = "global_triplet_loss";
  check_paired_embeddings(op, image, text);
  check_comm(op, comm, image);
  MM_CHECK(o.margin >= 0, Value, op, "margin must be non-negative, got ", o.margin);
  const int64_t b = image.size(0), n = b * comm.world();
  const bool cosine = o.similarity == TripletSimilarity::Cosine;
  const bool i2t = o.directions != LossDirections::TextToImage, t2i = o.directions != LossDirections::ImageToText;
  Tensor img = cosine ? normalize(image, 2.0, 1) : image;
  Tensor txt = cosine ? normalize(text, 2.0, 1) : text;
  // Only the candidates a direction needs are gathered (the same on every rank: the options are equal).
  Tensor all_txt = i2t ? dist::all_gather(txt, comm) : Tensor();
  Tensor all_img = t2i ? dist::all_gather(img, comm) : Tensor();
  auto similarity = [&](const Tensor& anchors, const Tensor& candidates) {
    return cosine ? matmul(anchors, transpose(candidates, 0, 1)) : neg(cdist(anchors, candidates, 2.0));
  };
  Tensor sim_i2t = i2t ? similarity(img, all_txt) : Tensor();
  Tensor sim_t2i = t2i ? similarity(txt, all_img) : Tensor();
  // A global batch of one has no negatives: zero, still connected to the inputs (as triplet_loss).
  if (n == 1) return mul(sum(i2t ? sim_i2t : sim_t2i), 0.0);
  Tensor columns = own_columns(comm, b, image);
  Tensor pos_index = unsqueeze(columns, 1);  // [b, 1]
  Tensor pos_mask = eq(pos_index, unsqueeze(arange(0, static_cast<double>(n), 1, DType::I64, image.device()), 0));
  Tensor per_anchor;
  if (i2t) per_anchor = direction_loss(sim_i2t, pos_index, pos_mask, o);
  if (t2i) {
    Tensor h = direction_loss(sim_t2i, pos_index, pos_mask, o);
    per_anchor = per_anchor.defined() ? add(per_anchor, h) : h;
  }
  // Mean over ranks of L_r = the global mean (or sum) over the B anchors.
  return o.sum_over_anchors ? mul(sum(per_anchor), static_cast<double>(comm.world())) : mean(per_anchor);
}

const char* global_loss_kind_name(GlobalLossKind kind) {
  switch (kind) {
    case GlobalLossKind::Clip: return "clip";
    case GlobalLossKind::Siglip: return "siglip";
    case GlobalLossKind::Triplet: return "triplet";
  }
  return "?";
}

int64_t global_loss_bytes_per_step(GlobalLossKind kind, int64_t b, int64_t d, int world, int64_t dtype_size) {
  MM_CHECK(b >= 1 && d >= 1 && world >= 1 && dtype_size >= 1, Value, "global_loss_bytes_per_step",
           "b, d, world and dtype_size must be ≥ 1, got b=", b, " d=", d, " world=", world,
           " dtype_size=", dtype_size, " (", global_loss_kind_name(kind), ")");
  const int64_t block = b * d * dtype_size, w = world;
  switch (kind) {
    case GlobalLossKind::Clip:
    case GlobalLossKind::Triplet:
      // forward: all_gather of the image and the text block; backward: reduce_scatter of both [B, D].
      return 2 * block + 2 * w * block;
    case GlobalLossKind::Siglip:
      // w − 1 ring sends of a text block forward, as many of its gradient backward.
      return 2 * (w - 1) * block;
  }
  return 0;
}

}  // namespace mm::nn
