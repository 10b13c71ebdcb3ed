// Per-tensor autograd state, attached to TensorImpl::autograd on first use.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "autograd/node.h"

namespace mm {

// Called with the incoming gradient before it is accumulated; may return a replacement (or the same).
using GradHook = std::function<Tensor(const Tensor& grad)>;
// Called with the leaf after its .grad has been updated (DDP launches bucket all-reduces here).
using PostAccumulateHook = std::function<void(const Tensor& leaf)>;

struct AutogradMeta {
  bool requires_grad = false;         // leaves: set by the user; non-leaves: grad_fn != null
  Tensor grad;                        // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;      // producer of a non-leaf
  uint32_t output_nr = 0;             // which output of grad_fn this tensor is
  std::weak_ptr<Node> grad_accumulator;  // a leaf's AccumulateGrad, shared by all its uses
  std::vector<GradHook> hooks;
  std::vector<PostAccumulateHook> post_accumulate_hooks;
};

AutogradMeta* autograd_meta(const Tensor& t);          // null when none
AutogradMeta& ensure_autograd_meta(const Tensor& t);

// Hooks on leaf gradients.
void register_hook(const Tensor& leaf, GradHook hook);
void register_post_accumulate_hook(const Tensor& leaf, PostAccumulateHook hook);

// The edge through which a gradient flows into `t` (its grad_fn, or its leaf accumulator).
Edge gradient_edge(const Tensor& t);

}  // namespace mm
