// Gradient-check cases of the reductions. Random inputs have no ties, so max/min/amax/amin are
// differentiable there; cases with deliberate ties would have no derivative to check against.
#include <limits>

#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"

namespace mm {
namespace {

// A one-input case: fn(x) on a leaf built by make.
void add(const std::string& op, const std::string& name, std::function<Tensor()> make,
         std::function<Tensor(const Tensor&)> fn) {
  register_gradcheck_case({op, name, [make] { return TensorList{leaf(make())}; },
                           [fn](const TensorList& in) { return TensorList{fn(in[0])}; }});
}

Tensor randn_(const Shape& s, uint64_t seed) { return case_randn(s, seed); }

constexpr double inf = std::numeric_limits<double>::infinity();

const bool registered = [] {

  add("sum", "[3,4,5] dims (0,2)", [] { return randn_({3, 4, 5}, 601); }, [](const Tensor& x) { return sum(x, {0, 2}); });
  add("sum", "all, keepdim, strided input", [] { return randn_({4, 3}, 602); },
      [](const Tensor& x) { return sum(transpose(x, 0, 1), {}, true); });
  add("mean", "[3,4,5] dim -1 keepdim", [] { return randn_({3, 4, 5}, 603); },
      [](const Tensor& x) { return mean(x, {-1}, true); });

  add("max", "[4,5] dim 1", [] { return randn_({4, 5}, 611); }, [](const Tensor& x) { return max(x, 1).first; });
  add("max", "[3,4,5] dim 0 keepdim, strided input", [] { return randn_({5, 4, 3}, 612); },
      [](const Tensor& x) { return max(permute(x, {2, 1, 0}), 0, true).first; });
  add("max", "all elements", [] { return randn_({3, 4}, 613); }, [](const Tensor& x) { return max(x); });
  add("min", "[4,5] dim -1", [] { return randn_({4, 5}, 614); }, [](const Tensor& x) { return min(x, -1).first; });
  add("min", "all elements", [] { return randn_({3, 4}, 615); }, [](const Tensor& x) { return min(x); });
  add("amax", "[3,4,5] dims (0,2) keepdim", [] { return randn_({3, 4, 5}, 616); },
      [](const Tensor& x) { return amax(x, {0, 2}, true); });
  add("amax", "outer dim, strided input", [] { return randn_({5, 6}, 617); },
      [](const Tensor& x) { return amax(transpose(x, 0, 1), {0}); });
  add("amin", "[3,4,5] dim 1", [] { return randn_({3, 4, 5}, 618); }, [](const Tensor& x) { return amin(x, {1}); });

  add("logsumexp", "[3,5] dim 1", [] { return randn_({3, 5}, 621); }, [](const Tensor& x) { return logsumexp(x, {1}); });
  add("logsumexp", "[3,4,5] dims (0,2) keepdim, strided", [] { return randn_({5, 4, 3}, 622); },
      [](const Tensor& x) { return logsumexp(permute(x, {2, 1, 0}), {0, 2}, true); });
  add("logsumexp", "large values", [] { return case_uniform({3, 4}, 623, 300, 303); },
      [](const Tensor& x) { return logsumexp(x, {-1}); });

  add("var", "[4,6] dim 1 unbiased", [] { return randn_({4, 6}, 631); }, [](const Tensor& x) { return var(x, {1}); });
  add("var", "[3,4,5] dims (0,2) population keepdim, strided", [] { return randn_({5, 4, 3}, 632); },
      [](const Tensor& x) { return var(permute(x, {2, 1, 0}), {0, 2}, 0, true); });
  add("std", "[4,6] dim 0", [] { return randn_({4, 6}, 633); }, [](const Tensor& x) { return std(x, {0}); });
  add("std", "all elements, correction 2", [] { return randn_({3, 5}, 634); },
      [](const Tensor& x) { return std(x, {}, 2); });

  add("norm", "p=2 dim 1", [] { return randn_({4, 5}, 641); }, [](const Tensor& x) { return norm(x, 2, {1}); });
  // The gradient at a zero norm is the subgradient 0, which is also what the symmetric finite
  // difference of ‖·‖ at 0 gives.
  add("norm", "p=2 with an all-zero row", [] { return randn_({3, 4}, 642); },
      [](const Tensor& x) { return norm(mul(x, Tensor::from_vector<double>({1, 0, 1}, {3, 1})), 2, {1}); });
  add("norm", "p=1 all, strided", [] { return nudge_off(randn_({4, 3}, 643), {0}); },
      [](const Tensor& x) { return norm(transpose(x, 0, 1), 1); });
  add("norm", "p=inf dim 0 keepdim", [] { return randn_({4, 5}, 644); },
      [](const Tensor& x) { return norm(x, inf, {0}, true); });
  add("norm", "p=-inf dim 1", [] { return randn_({4, 5}, 645); }, [](const Tensor& x) { return norm(x, -inf, {1}); });
  add("norm", "p=3 dims (0,2)", [] { return randn_({3, 4, 2}, 646); }, [](const Tensor& x) { return norm(x, 3, {0, 2}); });
  add("norm", "p=1.5 dim 1", [] { return nudge_off(randn_({3, 4}, 647), {0}, 0.1); },
      [](const Tensor& x) { return norm(x, 1.5, {1}); });
  add("norm", "p=0.5 dim 1", [] { return nudge_off(randn_({3, 4}, 648), {0}, 0.1); },
      [](const Tensor& x) { return norm(x, 0.5, {1}); });
  add("norm", "p=0 (zero gradient)", [] { return randn_({3, 4}, 649); }, [](const Tensor& x) { return norm(x, 0, {1}); });
  return true;
}();

}  // namespace
}  // namespace mm
