// Differentiable collectives (SPEC §8, global contrastive loss): the building blocks that let each rank
// compute a loss over the whole global batch while holding only its slice of it.
//
// Each rank runs its own backward; the gradient of a collective's output on every rank flows back
// to the inputs of every rank, so the backward of a collective is itself a collective:
//   all_gather(x):  y_s = [x_0; ...; x_{w−1}] on every rank s, so dL/dx_r = Σ_s dL_s/dy_s[block r]
//                   = reduce_scatter(sum) of the output gradients.
//   all_reduce(x):  y_s = Σ_r x_r (Avg: /w), so dL/dx_r = Σ_s dL_s/dy_s (Avg: /w) = all_reduce of them.
//   ring_shift(x, k): rank r receives x of rank r−k (mod w), so the gradient goes back by −k.
// where L_s is rank s's local loss. With DDP averaging the parameter gradients over ranks afterwards,
// every rank ends with (1/w)·Σ_s dL_s/dθ, the single-process gradient of the mean of the local losses
// ("local-loss semantics": L_s is the mean over rank s's rows against all columns, so for CLIP's
// InfoNCE the mean of the L_s is exactly the global loss).
//
// Rules: every rank must call the same collectives in the same order (forward and backward), and each
// collective's output must reach the loss on every rank or on none (a rank whose output got no
// gradient skips the backward collective while the others wait in it). The communicator must outlive
// the graph.
#pragma once

#include "runtime/dist/communicator.h"
#include "runtime/tensor.h"

namespace mm::dist {

// [n0, ...] on every rank → [world·n0, ...] (rank r's rows at [r·n0, (r+1)·n0)); differentiable.
Tensor all_gather(const Tensor& x, Communicator& comm);

// Sum (or Avg) over ranks, returned in a new tensor; differentiable. op must be Sum or Avg.
Tensor all_reduce(const Tensor& x, Communicator& comm, ReduceOp op = ReduceOp::Sum);

// Rank r gets rank (r − shift) mod world's x (same shape and dtype on every rank); differentiable.
// SigLIP's ring exchange of text blocks is world−1 calls with shift 1.
Tensor ring_shift(const Tensor& x, Communicator& comm, int shift = 1);

}  // namespace mm::dist
