// Global contrastive losses for data-parallel training (SPEC §8, issue 8): each rank holds its slice of
// the global batch and the result equals the single-process loss on the whole global batch.
//
// Setting. w ranks; rank r holds the b rows [r·b, (r+1)·b) of the global batch of B = w·b pairs
// (L2-normalised image and text embeddings I, T [B, D]; every rank the same b). The global batch is the
// same samples whatever w, so a run on w ranks is comparable sample-for-sample with one process.
//
// Local-loss semantics (open_clip's ClipLoss(local_loss=True, gather_with_grad=True)). Rank r computes
// a local loss L_r over ITS anchors (rows) against ALL candidates (columns) of the global batch, with
// every loss here defined so that
//     (1/w) Σ_r L_r = L_global   (the single-process loss nn::clip_loss / siglip_loss / triplet_loss
//                                 on the B global pairs; exact when all ranks have b rows).
// Gradients. The candidates come from dist::all_gather (backward: reduce-scatter(sum) of the gathered
// gradients) or dist::ring_shift (backward: the reverse shift), so rank r's backward leaves on its
// embeddings x_r the gradient Σ_s ∂L_s/∂x_r = w · ∂L_global/∂x_r. Parameters θ upstream of the
// embeddings then hold Σ_s ∂L_s/∂θ|_(through x_r), and DDP's average over ranks (or an all_reduce(avg)
// of the parameter gradients without DDP) gives exactly ∂L_global/∂θ on every rank. The logit scale
// and bias are used locally only: rank r's ∂L_r/∂s averaged over ranks is ∂L_global/∂s. The loss
// itself communicates nothing for them (DDP reduces them with the other parameters).
//
// 1. global_clip_loss (InfoNCE). s = exp(logit_scale), o = r·b:
//      L_r = ½[ (1/b) Σ_{i<b} CE(s·I_i·T_allᵀ, o+i) + (1/b) Σ_{i<b} CE(s·T_i·I_allᵀ, o+i) ]
//    (ClipReduction::Sum: without the ½; label smoothing ε as PyTorch's, spread over the B columns, the
//    same classes as in one process). Mean over local rows of per-row terms → mean over ranks = global.
//    Memory per rank: gathered features 2·B·D, logits 2·b·B.
// 2. global_siglip_loss (Zhai et al. 2023; open_clip's SigLipLoss with world_size > 1, here with a
//    one-directional ring). Step k = 0..w−1 scores the local images against the text block of rank
//    (r − k) mod w, received by k chained dist::ring_shift(·, 1) calls; z = +1 only on the diagonal
//    of the own block (k = 0), −1 everywhere else:
//      L_r = −(1/b) Σ_k Σ_{i,j<b} log σ(z_ij^(k) (s·I_i·T_j^(k) + bias))
//    so (1/w) Σ_r L_r = −(1/B) Σ_{i,j<B} log σ(z_ij(s·I_i·T_j + bias)), siglip.h's normalisation.
//    No rank ever forms the B×B matrix: one b×b logit block and one b×D text block per step (the
//    autograd graph keeps each step's b×b block and text block for the backward: b·B + B·D in all).
// 3. global_triplet_loss (VSE++ / FaceNet hinge, triplet.h). Anchors = local rows, candidates = all
//    gathered rows of the other modality, the positive of local anchor i at column o+i; negatives All,
//    Hardest (max violation) or SemiHard chosen among all B − 1 global negatives, both directions:
//      L_r = (1/b) Σ_{i<b} [h_i2t(i) + h_t2i(i)]   (sum_over_anchors: w · Σ_{i<b} [...])
//    the factor w making (1/w) Σ_r L_r the global sum too. Cosine similarity normalises the local rows
//    before gathering (as triplet_loss does); Euclidean uses −‖a − c‖₂ against the gathered rows.
//
// Bytes (global_loss_bytes_per_step): the payload this rank hands to the communicator in one forward +
// backward (the sum of Communicator::stats bytes of AllGather, ReduceScatter and Send; Recv mirrors
// Send), e = dtype size, both embeddings requiring grad:
//   Clip, Triplet (both directions): 2 all_gathers of b·D·e + 2 reduce_scatters of B·D·e = 2·b·D·e·(1 + w)
//   Siglip: (w − 1) ring sends of b·D·e forward + (w − 1) backward                    = 2·(w − 1)·b·D·e
// docs/DISTRIBUTED.md ("Global losses") gives what a ring algorithm puts on the wire.
//
// Rules: collective calls, so every rank calls the same loss with the same options, shapes and dtype,
// in the same order (dist.h); logit_scale / logit_bias must be equal on all ranks (DDP broadcasts
// them). A world of one (LocalCommunicator) gives the single-process loss.
#pragma once

#include <cstdint>

#include "nn/losses/clip.h"
#include "nn/losses/triplet.h"
#include "runtime/dist/communicator.h"
#include "runtime/tensor.h"

namespace mm::nn {

// image, text: this rank's [b, D] L2-normalised embeddings; logit_scale the log scale (one value).
// Returns the 0-d local loss L_r (see above).
Tensor global_clip_loss(const Tensor& image, const Tensor& text, const Tensor& logit_scale, dist::Communicator& comm,
                        const ClipLossOptions& options = {});

// image, text [b, D]; logit_scale and logit_bias one value each; logit_bias may be undefined (none).
Tensor global_siglip_loss(const Tensor& image, const Tensor& text, const Tensor& logit_scale,
                          const Tensor& logit_bias, dist::Communicator& comm);

// image, text [b, D]; every option of TripletLossOptions (negatives All, Hardest, SemiHard; both or one
// direction; mean or sum over anchors).
Tensor global_triplet_loss(const Tensor& image, const Tensor& text, dist::Communicator& comm,
                           const TripletLossOptions& options = {});

enum class GlobalLossKind { Clip, Siglip, Triplet };
const char* global_loss_kind_name(GlobalLossKind kind);

// The bytes formula above: b rows per rank, D features, `world` ranks, `dtype_size` bytes per element.
int64_t global_loss_bytes_per_step(GlobalLossKind kind, int64_t b, int64_t d, int world, int64_t dtype_size);

}  // namespace mm::nn
