// Gradient-check cases of max_pool2d, avg_pool2d and adaptive_avg_pool2d. Max pooling inputs hold
// distinct values at least 0.1 apart, so no window has a tie for the maximum that the ±eps finite
// differences could flip.
#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"

namespace mm {
namespace {

// Distinct values: a permutation of {0, 0.1, 0.2, ...} (37 is coprime with every size used here).
Tensor distinct(const Shape& shape, double shift) {
  int64_t n = shape_numel(shape);
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>((i * 37 + 11) % n) * 0.1 - shift;
  return Tensor::from_vector(v, shape);
}

using PoolFn = std::function<Tensor(const Tensor&)>;

void pool_case(const std::string& op, const std::string& name, const Shape& shape, bool distinct_values, PoolFn f,
               uint64_t seed) {
  register_gradcheck_case({op, name,
                           [=] {
                             return TensorList{leaf(distinct_values ? distinct(shape, 1.0) : case_randn(shape, seed))};
                           },
                           [f](const TensorList& in) { return TensorList{f(in[0])}; }});
}

const bool registered = [] {
  pool_case("max_pool2d", "2x2 stride 2", {2, 3, 6, 6}, true, [](const Tensor& x) { return max_pool2d(x, {2, 2}); }, 0);
  pool_case("max_pool2d", "3x3 stride 2 padding 1 (ResNet stem)", {1, 2, 7, 7}, true,
            [](const Tensor& x) { return max_pool2d(x, {3, 3}, {2, 2}, {1, 1}); }, 0);
  pool_case("max_pool2d", "dilation 2, stride (2,1), ceil_mode, overlapping windows", {2, 2, 7, 8}, true,
            [](const Tensor& x) { return max_pool2d(x, {2, 3}, {2, 1}, {1, 1}, {2, 2}, true); }, 0);
  pool_case("max_pool2d", "unbatched, strided (transposed) input", {3, 5, 6}, true,
            [](const Tensor& x) { return max_pool2d(transpose(x, 1, 2), {2, 2}, {1, 1}); }, 0);

  pool_case("avg_pool2d", "2x2 stride 2", {2, 3, 6, 6}, false, [](const Tensor& x) { return avg_pool2d(x, {2, 2}); }, 601);
  pool_case("avg_pool2d", "3x3 stride 2 padding 1, count_include_pad", {2, 2, 7, 6}, false,
            [](const Tensor& x) { return avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}); }, 602);
  pool_case("avg_pool2d", "3x2 stride (2,1) padding 1, exclude padding, ceil_mode", {1, 2, 6, 5}, false,
            [](const Tensor& x) { return avg_pool2d(x, {3, 2}, {2, 1}, {1, 1}, true, false); }, 603);
  pool_case("avg_pool2d", "unbatched, strided input, ceil_mode", {2, 5, 7}, false,
            [](const Tensor& x) { return avg_pool2d(transpose(x, 1, 2), {2, 2}, {2, 2}, {0, 0}, true); }, 604);

  pool_case("adaptive_avg_pool2d", "global (1,1)", {2, 3, 5, 4}, false,
            [](const Tensor& x) { return adaptive_avg_pool2d(x, {1, 1}); }, 611);
  pool_case("adaptive_avg_pool2d", "7x9 -> (3,4): overlapping bins", {2, 2, 7, 9}, false,
            [](const Tensor& x) { return adaptive_avg_pool2d(x, {3, 4}); }, 612);
  pool_case("adaptive_avg_pool2d", "unbatched 3x3 -> (5,2): output larger than input", {2, 3, 3}, false,
            [](const Tensor& x) { return adaptive_avg_pool2d(x, {5, 2}); }, 613);
  return true;
}();

}  // namespace
}  // namespace mm
