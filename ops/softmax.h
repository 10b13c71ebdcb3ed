// softmax and log_softmax along one dimension (no autograd; see autograd/grad/softmax.h), with
// their fused backward kernels.
//
// Kernels see a contiguous tensor as [outer, n, inner] where n is the softmax dim: inner == 1 is
// the common case (softmax over the last dim: each row is contiguous); inner > 1 is a softmax over
// an earlier dim, whose slices are strided by `inner` (kernels then work on blocks of columns).
#pragma once

#include "ops/kernels.h"

namespace mm {

struct SoftmaxGeometry {
  int64_t outer = 1, n = 1, inner = 1;
};

// out = softmax or log_softmax (op) of x; x and out contiguous, f32 or f64, one shape.
using SoftmaxKernel = void (*)(OpId op, const Tensor& x, Tensor& out, const SoftmaxGeometry& geo);
// out = input gradient of softmax (op = softmax_backward) or log_softmax (log_softmax_backward)
// from the output gradient g and the forward output y; all contiguous, one dtype and shape.
using SoftmaxBackwardKernel = void (*)(OpId op, const Tensor& g, const Tensor& y, Tensor& out,
                                       const SoftmaxGeometry& geo);

namespace ops {
// Floating inputs only (f16/bf16 computed in f32, returned in their dtype). A slice of all −inf
// gives NaN, as in PyTorch (there is no distribution over an empty support).
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// Gradients with respect to x, from the output gradient g and the forward output y.
Tensor softmax_backward(const Tensor& g, const Tensor& y, int64_t dim);
Tensor log_softmax_backward(const Tensor& g, const Tensor& y, int64_t dim);
}  // namespace ops

}  // namespace mm
