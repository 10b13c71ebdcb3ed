// Gradient-check cases of matmul, bmm, linear and addmm: every 1-D/2-D/batched combination of
// torch.matmul, broadcast batch dims (the engine sums the gradient of a broadcast operand), the
// folded [B·M, K] @ [K, N] path, transposed operands (read by BLAS without a copy) and operands BLAS
// cannot read in place (made contiguous by the front end).
#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"

namespace mm {
namespace {

using Fn2 = std::function<Tensor(const Tensor&, const Tensor&)>;

void pair_case(const std::string& op, const std::string& name, Shape sa, Shape sb, uint64_t seed, Fn2 f) {
  register_gradcheck_case({op, name,
                           [=] { return TensorList{leaf(case_randn(sa, seed)), leaf(case_randn(sb, seed + 1))}; },
                           [f](const TensorList& in) { return TensorList{f(in[0], in[1])}; }});
}

const bool registered = [] {
  Fn2 mat = [](const Tensor& a, const Tensor& b) { return matmul(a, b); };
  pair_case("matmul", "2-D @ 2-D", {3, 4}, {4, 5}, 601, mat);
  pair_case("matmul", "1-D @ 1-D (dot)", {5}, {5}, 603, mat);
  pair_case("matmul", "1-D @ 2-D", {4}, {4, 3}, 605, mat);
  pair_case("matmul", "2-D @ 1-D", {3, 4}, {4}, 607, mat);
  pair_case("matmul", "1-D @ 3-D", {4}, {2, 4, 3}, 609, mat);
  pair_case("matmul", "3-D @ 1-D (folded)", {2, 3, 4}, {4}, 611, mat);
  pair_case("matmul", "3-D @ 2-D (folded into one GEMM)", {2, 3, 4}, {4, 5}, 613, mat);
  pair_case("matmul", "2-D @ 3-D (broadcast first operand)", {3, 4}, {2, 4, 5}, 615, mat);
  pair_case("matmul", "broadcast batch [2,1,3,4] @ [3,4,2]", {2, 1, 3, 4}, {3, 4, 2}, 617, mat);
  pair_case("matmul", "transposed operands (BLAS transpose flags)", {4, 3}, {5, 4}, 619,
            [](const Tensor& a, const Tensor& b) { return matmul(transpose(a, 0, 1), transpose(b, 0, 1)); });
  pair_case("matmul", "every other row and column (copied for BLAS)", {6, 8}, {8, 6}, 621,
            [](const Tensor& a, const Tensor& b) {
              return matmul(slice(slice(a, 0, 0, 6, 2), 1, 0, 8, 2), slice(slice(b, 0, 0, 8, 2), 1, 0, 6, 2));
            });
  pair_case("matmul", "batched transposed [2,4,3]ᵀ @ [2,4,3]", {2, 4, 3}, {2, 4, 3}, 623,
            [](const Tensor& a, const Tensor& b) { return matmul(transpose(a, 1, 2), b); });

  Fn2 bmm_fn = [](const Tensor& a, const Tensor& b) { return bmm(a, b); };
  pair_case("bmm", "[3,2,4] @ [3,4,5]", {3, 2, 4}, {3, 4, 5}, 631, bmm_fn);
  pair_case("bmm", "transposed second operand", {2, 3, 4}, {2, 5, 4}, 633,
            [](const Tensor& a, const Tensor& b) { return bmm(a, transpose(b, 1, 2)); });

  register_gradcheck_case({"linear", "3-D input with bias",
                           [] {
                             return TensorList{leaf(case_randn({2, 3, 4}, 641)), leaf(case_randn({5, 4}, 642)),
                                               leaf(case_randn({5}, 643))};
                           },
                           [](const TensorList& in) { return TensorList{linear(in[0], in[1], in[2])}; }});
  register_gradcheck_case({"linear", "2-D input without bias",
                           [] { return TensorList{leaf(case_randn({3, 4}, 644)), leaf(case_randn({2, 4}, 645))}; },
                           [](const TensorList& in) { return TensorList{linear(in[0], in[1])}; }});
  register_gradcheck_case({"linear", "1-D input, strided weight",
                           [] {
                             return TensorList{leaf(case_randn({4}, 646)), leaf(case_randn({4, 3}, 647)),
                                               leaf(case_randn({3}, 648))};
                           },
                           [](const TensorList& in) { return TensorList{linear(in[0], transpose(in[1], 0, 1), in[2])}; }});

  register_gradcheck_case({"addmm", "bias [N] broadcast, beta 0.5, alpha 2",
                           [] {
                             return TensorList{leaf(case_randn({5}, 651)), leaf(case_randn({3, 4}, 652)),
                                               leaf(case_randn({4, 5}, 653))};
                           },
                           [](const TensorList& in) { return TensorList{addmm(in[0], in[1], in[2], 0.5, 2.0)}; }});
  register_gradcheck_case({"addmm", "full bias, transposed operand",
                           [] {
                             return TensorList{leaf(case_randn({3, 5}, 654)), leaf(case_randn({4, 3}, 655)),
                                               leaf(case_randn({4, 5}, 656))};
                           },
                           [](const TensorList& in) { return TensorList{addmm(in[0], transpose(in[1], 0, 1), in[2])}; }});
  return true;
}();

}  // namespace
}  // namespace mm
