// The gradient-check cases of every differentiable op, registered by family in autograd/cases/.
// `mmalign gradcheck --op NAME | --all`, the gradcheck test suite and the registry test (which fails
// when a differentiable op of ops/op_table.h has no case here) all read this one list.
#pragma once

#include <string>
#include <vector>

#include "autograd/gradcheck.h"

namespace mm {

struct GradcheckCase {
  std::string op;    // name in the op table
  std::string name;  // what this case exercises, e.g. "broadcast" or "strided input"
  std::function<TensorList()> make_inputs;  // f64 CPU inputs; those to check require grad
  GradcheckFn fn;
  GradcheckOptions options = {};
};

void register_gradcheck_case(GradcheckCase c);
const std::vector<GradcheckCase>& gradcheck_cases();
std::vector<const GradcheckCase*> gradcheck_cases_for(const std::string& op);

// Deterministic f64 inputs for cases (Philox, keyed by seed).
Tensor case_randn(const Shape& shape, uint64_t seed, double scale = 1.0);
Tensor case_uniform(const Shape& shape, uint64_t seed, double lo, double hi);
// Moves every value within `margin` of a kink point to kink ± margin (away from non-differentiable
// points, where finite differences are meaningless).
Tensor nudge_off(const Tensor& t, const std::vector<double>& kinks, double margin = 1e-2);
// Shorthand: the tensor as a leaf requiring grad.
inline Tensor leaf(const Tensor& t) { return t.detach().set_requires_grad(true); }

}  // namespace mm
