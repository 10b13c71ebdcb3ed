// Differentiable reductions. dims empty = all dimensions.
#pragma once

#include "autograd/record.h"
#include "ops/reduce.h"

namespace mm {

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);

}  // namespace mm
