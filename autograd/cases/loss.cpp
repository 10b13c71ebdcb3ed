// Gradient-check cases of the losses and distances. Integer targets are constants built inside the
// checked function (they take no gradient); probability targets, pos_weight and both cdist operands
// are checked like any input.
#include <limits>

#include "autograd/functions.h"
#include "autograd/grad/loss.h"
#include "autograd/gradcheck_cases.h"

namespace mm {
namespace {

Tensor targets(const std::vector<int64_t>& v, const Shape& s) { return Tensor::from_vector<int64_t>(v, s); }

void add(const std::string& op, const std::string& name, std::function<TensorList()> inputs, GradcheckFn fn) {
  register_gradcheck_case({op, name, std::move(inputs), std::move(fn)});
}

const bool registered = [] {
  add("cross_entropy", "[4,5] indices, mean", [] { return TensorList{leaf(case_randn({4, 5}, 501, 2.0))}; },
      [](const TensorList& in) { return TensorList{cross_entropy(in[0], targets({1, 0, 4, 2}, {4}))}; });
  add("cross_entropy", "ignore_index 3 + label smoothing 0.1, mean",
      [] { return TensorList{leaf(case_randn({4, 5}, 502, 2.0))}; },
      [](const TensorList& in) {
        return TensorList{cross_entropy(in[0], targets({1, 3, 4, 3}, {4}), Reduction::Mean, 3, 0.1)};
      });
  add("cross_entropy", "spatial [2,3,4], ignore -100, smoothing 0.2, none (strided logits)",
      [] { return TensorList{leaf(case_randn({2, 4, 3}, 503))}; },
      [](const TensorList& in) {
        return TensorList{cross_entropy(transpose(in[0], 1, 2), targets({0, 1, 2, -100, 2, 2, 0, 1}, {2, 4}),
                                        Reduction::None, -100, 0.2)};
      });
  add("cross_entropy", "class probabilities (gradient to both), smoothing 0.1, sum",
      [] { return TensorList{leaf(case_randn({3, 4}, 504)), leaf(case_uniform({3, 4}, 505, 0.0, 1.0))}; },
      [](const TensorList& in) { return TensorList{cross_entropy(in[0], in[1], Reduction::Sum, -100, 0.1)}; });

  add("nll_loss", "[4,5] ignore_index 0, mean", [] { return TensorList{leaf(case_uniform({4, 5}, 506, -3.0, 0.0))}; },
      [](const TensorList& in) { return TensorList{nll_loss(in[0], targets({1, 0, 4, 2}, {4}), Reduction::Mean, 0)}; });
  add("nll_loss", "spatial [2,3,2], none", [] { return TensorList{leaf(case_uniform({2, 3, 2}, 507, -3.0, 0.0))}; },
      [](const TensorList& in) { return TensorList{nll_loss(in[0], targets({2, 0, 1, 1}, {2, 2}), Reduction::None)}; });

  add("binary_cross_entropy_with_logits", "x and y, mean",
      [] { return TensorList{leaf(case_uniform({3, 4}, 508, -4.0, 4.0)), leaf(case_uniform({3, 4}, 509, 0.0, 1.0))}; },
      [](const TensorList& in) { return TensorList{binary_cross_entropy_with_logits(in[0], in[1])}; });
  add("binary_cross_entropy_with_logits", "pos_weight [4] broadcast, none",
      [] {
        return TensorList{leaf(case_uniform({2, 4}, 510, -3.0, 3.0)), leaf(case_uniform({2, 4}, 511, 0.0, 1.0)),
                          leaf(case_uniform({4}, 512, 0.5, 3.0))};
      },
      [](const TensorList& in) {
        return TensorList{binary_cross_entropy_with_logits(in[0], in[1], Reduction::None, in[2])};
      });

  add("mse_loss", "mean", [] { return TensorList{leaf(case_randn({3, 4}, 513)), leaf(case_randn({3, 4}, 514))}; },
      [](const TensorList& in) { return TensorList{mse_loss(in[0], in[1])}; });
  add("mse_loss", "none, strided input", [] { return TensorList{leaf(case_randn({4, 3}, 515)), leaf(case_randn({3, 4}, 516))}; },
      [](const TensorList& in) { return TensorList{mse_loss(transpose(in[0], 0, 1), in[1], Reduction::None)}; });

  add("normalize", "p=2 dim=1", [] { return TensorList{leaf(case_randn({3, 4}, 517))}; },
      [](const TensorList& in) { return TensorList{normalize(in[0])}; });
  add("normalize", "p=1 dim=0, strided input", [] { return TensorList{leaf(nudge_off(case_randn({4, 3}, 518), {0}))}; },
      [](const TensorList& in) { return TensorList{normalize(transpose(in[0], 0, 1), 1.0, 0)}; });
  add("normalize", "p=3 dim=-1", [] { return TensorList{leaf(nudge_off(case_randn({2, 2, 3}, 519), {0}))}; },
      [](const TensorList& in) { return TensorList{normalize(in[0], 3.0, -1)}; });
  add("normalize", "p=inf dim=1", [] { return TensorList{leaf(case_randn({3, 4}, 520))}; },
      [](const TensorList& in) { return TensorList{normalize(in[0], std::numeric_limits<double>::infinity(), 1)}; });

  add("cosine_similarity", "dim 1", [] { return TensorList{leaf(case_randn({3, 4}, 521)), leaf(case_randn({3, 4}, 522))}; },
      [](const TensorList& in) { return TensorList{cosine_similarity(in[0], in[1])}; });
  add("cosine_similarity", "broadcast [1,4] with [3,4], dim 0 of [3,4]",
      [] { return TensorList{leaf(case_randn({1, 4}, 523)), leaf(case_randn({3, 4}, 524))}; },
      [](const TensorList& in) { return TensorList{cosine_similarity(in[0], in[1], 0)}; });

  for (double p : {2.0, 1.0, 3.0, 0.7, std::numeric_limits<double>::infinity()}) {
    add("cdist", "p=" + std::to_string(p) + " [3,4] [5,4]",
        [] { return TensorList{leaf(case_randn({3, 4}, 525)), leaf(case_randn({5, 4}, 526))}; },
        [p](const TensorList& in) { return TensorList{cdist(in[0], in[1], p)}; });
  }
  add("cdist", "p=2 matmul form (P=27 > 25), batch broadcast [2,27,3] [1,4,3]",
      [] { return TensorList{leaf(case_randn({2, 27, 3}, 527)), leaf(case_randn({1, 4, 3}, 528))}; },
      [](const TensorList& in) { return TensorList{cdist(in[0], in[1], 2.0)}; });
  return true;
}();

}  // namespace
}  // namespace mm
