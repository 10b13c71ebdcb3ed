// Recording ops into the graph. A differentiable function (autograd/grad/<family>.cpp) computes its
// forward with the raw op, then — only if grad mode is on and some input requires a gradient —
// records a Node whose backward is written with framework ops:
//
//   Tensor exp(const Tensor& x) {
//     Tensor y = ops::unary(OpId::exp, x);
//     if (needs_grad({x}))
//       record("exp", {x}, {y}, [x = saved(x), y = saved(y)](const GradContext& c) {
//         return TensorList{ops::unary_backward(OpId::exp, c.grad(), x, y)};
//       });
//     return y;
//   }
#pragma once

#include <initializer_list>

#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace mm {

// True when grad mode is on and any defined input requires a gradient.
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const TensorList& inputs);

// Creates the node and attaches it to `outputs` (which become non-leaf tensors requiring grad).
void record(const char* name, const TensorList& inputs, const TensorList& outputs, BackwardFn backward);

// A tensor to capture in a backward closure: same storage, no autograd state (no cycles).
inline Tensor saved(const Tensor& t) { return t.defined() ? t.detach() : Tensor(); }

}  // namespace mm
