// Gradient accumulation that is exact for contrastive losses: gradient caching (Gao et al. 2021,
// "Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup").
//
// A contrastive loss couples every sample of the batch with every other, so summing the gradients of
// k independent chunk losses is NOT the gradient of the batch loss. Gradient caching computes the
// batch loss's gradient exactly while holding only one chunk's activations:
//   1. every chunk's embeddings without a graph (no activations kept), each chunk's random-number
//      offset recorded first;
//   2. the loss on the whole batch's embeddings (as leaves) → backward → the loss's gradient with
//      respect to every embedding, dL/dE, and the gradients of the loss's own parameters (logit
//      scale and bias) directly;
//   3. per chunk: the RNG rewound to its recorded offset (so dropout draws the same masks as in 1),
//      the chunk re-forwarded with a graph, and backward of Σ E_c · dL/dE_c, which accumulates
//      J_cᵀ · dL/dE_c into the parameters' gradients: the chain rule, chunk by chunk.
// The result equals one backward over the whole batch up to f32 rounding when the towers' outputs
// per sample do not depend on the other samples of the chunk.
//
// BatchNorm is the exception: in training mode it normalises by the statistics of the batch it
// sees, here each chunk of B/k samples (as in per-rank BatchNorm across data-parallel ranks). Its
// running statistics are updated once per step: every chunk's forward starts from the running
// statistics the step began with, and afterwards they are set to the mean over chunks of the
// updated values, which (the update being linear, r ← (1−m)r + m·s) is one update with the mean of
// the chunks' batch statistics. num_batches_tracked advances by one per step.
#pragma once

#include <functional>

#include "models/dual_encoder.h"

namespace mm::train {

struct GradCacheResult {
  double loss = 0;
  Tensor image_embeds, text_embeds;  // the whole batch's, detached (for logging and NaN checks)
};

// loss_fn(image_embeds, text_embeds) → scalar loss of the whole batch (it may use the model's
// logit_scale / logit_bias, whose gradients it then receives directly). Gradients are accumulated
// into the parameters' .grad; the caller zeroes them before. chunks must divide the batch.
GradCacheResult grad_cache_backward(models::DualEncoder& model, const Tensor& images, const Tensor& input_ids,
                                    const Tensor& attention_mask, int64_t chunks,
                                    const std::function<Tensor(const Tensor&, const Tensor&)>& loss_fn);

}  // namespace mm::train
