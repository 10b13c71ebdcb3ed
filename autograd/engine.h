// Reverse-mode differentiation over the recorded graph (see engine.cpp for the algorithm).
#pragma once

#include "autograd/node.h"

namespace mm {

// Backpropagates root_grads[i] from roots[i] into the leaves' .grad.
void run_backward(const TensorList& roots, const TensorList& root_grads, bool retain_graph = false);

// d(outputs)/d(inputs) contracted with grad_outputs, returned instead of accumulated into .grad
// (used by gradcheck). Inputs must be leaves that require grad.
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                bool retain_graph = false);

}  // namespace mm
