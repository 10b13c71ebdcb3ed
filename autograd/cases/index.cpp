// Gradient-check cases of the differentiable indexing ops. Repeated indices are included on
// purpose: their gradients must accumulate, which is where scatter-based backwards go wrong.
#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"

namespace mm {
namespace {

Tensor i64(const std::vector<int64_t>& v, const Shape& shape) { return Tensor::from_vector<int64_t>(v, shape); }
Tensor i32(const std::vector<int32_t>& v, const Shape& shape) { return Tensor::from_vector<int32_t>(v, shape); }

const bool registered = [] {
  register_gradcheck_case({"index_select", "dim 0, repeated indices",
                           [] { return TensorList{leaf(case_randn({4, 3}, 401))}; },
                           [](const TensorList& in) { return TensorList{index_select(in[0], 0, i64({2, 0, 2, 3, 2}, {5}))}; }});
  register_gradcheck_case({"index_select", "dim 1, repeated i32 indices",
                           [] { return TensorList{leaf(case_randn({3, 5}, 402))}; },
                           [](const TensorList& in) { return TensorList{index_select(in[0], 1, i32({4, 1, 1, 0}, {4}))}; }});
  register_gradcheck_case({"index_select", "strided input, dim -1 of a 3-D tensor",
                           [] { return TensorList{leaf(case_randn({4, 2, 3}, 403))}; },
                           [](const TensorList& in) {
                             return TensorList{index_select(transpose(in[0], 0, 2), -1, i64({3, 3, 0}, {3}))};
                           }});

  register_gradcheck_case({"gather", "dim 1, repeated indices, index wider than the input",
                           [] { return TensorList{leaf(case_randn({3, 4}, 411))}; },
                           [](const TensorList& in) {
                             Tensor idx = i64({0, 3, 3, 1, 0, 0, 2, 2, 2, 2, 1, 3, 3, 0, 1, 1, 1, 2}, {3, 6});
                             return TensorList{gather(in[0], 1, idx)};
                           }});
  register_gradcheck_case({"gather", "dim 0, index smaller than the input",
                           [] { return TensorList{leaf(case_randn({4, 3}, 412))}; },
                           [](const TensorList& in) { return TensorList{gather(in[0], 0, i64({3, 0, 0, 3}, {2, 2}))}; }});

  register_gradcheck_case({"scatter_add", "dim 0, repeated indices, w.r.t. x and src (index smaller than src)",
                           [] { return TensorList{leaf(case_randn({3, 4}, 421)), leaf(case_randn({2, 5}, 422))}; },
                           [](const TensorList& in) {
                             Tensor idx = i64({2, 0, 2, 2, 2, 1, 0, 2}, {2, 4});
                             return TensorList{scatter_add(in[0], 0, idx, in[1])};
                           }});
  register_gradcheck_case({"scatter_add", "dim 1, repeated indices, strided src",
                           [] { return TensorList{leaf(case_randn({2, 3}, 423)), leaf(case_randn({4, 2}, 424))}; },
                           [](const TensorList& in) {
                             Tensor idx = i64({1, 1, 1, 0, 2, 0, 2, 2}, {2, 4});
                             return TensorList{scatter_add(in[0], 1, idx, transpose(in[1], 0, 1))};
                           }});

  // The padding row's gradient is zero BY DEFINITION (not the true derivative: the row is still
  // looked up), so finite differences cannot check it; tests/ops/test_index_errors.cpp does. Here the
  // outputs at padding ids are dropped, which checks that padding leaves every other row's gradient
  // — with repeated ids — exact.
  register_gradcheck_case({"embedding", "padding_idx (outputs at padding ids dropped), repeated ids",
                           [] { return TensorList{leaf(case_randn({5, 3}, 431))}; },
                           [](const TensorList& in) {
                             Tensor e = embedding(in[0], i64({1, 4, 1, 0, 4, 2}, {2, 3}), /*padding_idx=*/4);
                             return TensorList{index_select(reshape(e, {6, 3}), 0, i64({0, 2, 3, 5}, {4}))};
                           }});
  register_gradcheck_case({"embedding", "no padding, i32 ids",
                           [] { return TensorList{leaf(case_randn({4, 2}, 432))}; },
                           [](const TensorList& in) { return TensorList{embedding(in[0], i32({3, 3, 0}, {3}))}; }});
  return true;
}();

}  // namespace
}  // namespace mm
