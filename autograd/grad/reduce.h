// Differentiable reductions. dims empty = all dimensions; negative dims count from the end.
#pragma once

#include <utility>

#include "autograd/record.h"
#include "ops/reduce.h"

namespace mm {

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);

// (values, i64 indices) of the extreme along dim; the first occurrence wins ties, a NaN is the
// extreme. The gradient goes to the selected position only.
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
// Over all elements (0-d result); the gradient is split evenly among tied extremes (as in PyTorch).
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
// Extreme values over dims; the gradient is split evenly among tied extremes of each reduced slice.
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Positions (i64, no gradient); without dim: the index into the flattened tensor.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x);
Tensor argmin(const Tensor& x);

// log Σ exp(x), computed as m + log Σ exp(x − m) with m the (finite-clamped) maximum, so large
// inputs do not overflow. A slice of all −inf gives −inf; an empty slice gives −inf.
Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Σ (x − mean)² / max(N − correction, 0): correction 1 is the unbiased estimator, 0 the population
// variance. std = sqrt(var).
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1, bool keepdim = false);
// Vector p-norm over dims (torch.linalg.vector_norm): (Σ |x|^p)^(1/p); p = inf: max |x|,
// p = -inf: min |x|, p = 0: the number of non-zeros. The gradient at a zero norm is 0 (subgradient).
Tensor norm(const Tensor& x, double p = 2, const std::vector<int64_t>& dims = {}, bool keepdim = false);

}  // namespace mm
