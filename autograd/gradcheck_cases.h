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

// Gradient checks of composite modules: losses, cross-attention rungs, fusion modules. The layer
// that defines a module registers its cases (nn/, models/ — autograd only keeps the list), and
// `mmalign gradcheck --module NAME`, `--all` and the gradcheck test suite run them. A case builds
// a fresh module in f64 each time it is made; its parameters may be among the checked inputs (the
// checker perturbs inputs in place, so the module sees the perturbation through the shared storage).
struct ModuleGradcheck {
  TensorList inputs;  // f64 CPU; those to check require grad
  GradcheckFn fn;     // usually captures the module
};
struct ModuleGradcheckCase {
  std::string module;  // "loss.clip", "ladder.v3", "fusion.concat": what --module selects
  std::string family;  // "loss", "ladder", "fusion"
  std::string name;    // what this case exercises
  std::function<ModuleGradcheck()> make;
  GradcheckOptions options = {};
};

void register_module_gradcheck_case(ModuleGradcheckCase c);
const std::vector<ModuleGradcheckCase>& module_gradcheck_cases();
std::vector<const ModuleGradcheckCase*> module_gradcheck_cases_for(const std::string& module);
// Every registered module name, in registration order, each once.
std::vector<std::string> gradcheck_module_names();

// Deterministic f64 inputs for cases (Philox, keyed by seed).
Tensor case_randn(const Shape& shape, uint64_t seed, double scale = 1.0);
Tensor case_uniform(const Shape& shape, uint64_t seed, double lo, double hi);
// Moves every value within `margin` of a kink point to kink ± margin (away from non-differentiable
// points, where finite differences are meaningless).
Tensor nudge_off(const Tensor& t, const std::vector<double>& kinks, double margin = 1e-2);
// Shorthand: the tensor as a leaf requiring grad.
inline Tensor leaf(const Tensor& t) { return t.detach().set_requires_grad(true); }

}  // namespace mm
