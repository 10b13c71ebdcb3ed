// Differentiable softmax and log_softmax along one dimension (negative dims count from the end).
#pragma once

#include "autograd/record.h"
#include "ops/softmax.h"

namespace mm {

// exp(x_i − max x) / Σ_j exp(x_j − max x): the max is subtracted so large inputs do not overflow.
Tensor softmax(const Tensor& x, int64_t dim);
// (x_i − max x) − log Σ_j exp(x_j − max x): more accurate than log(softmax(x)) for small probabilities.
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace mm
