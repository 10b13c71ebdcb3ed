// Gradient checking by central finite differences in float64.
//
// gradcheck(fn, inputs) contracts every output of fn with a fixed random cotangent v, so the
// checked scalar is L(x) = Σ_k <v_k, fn(x)_k>. The analytic gradient dL/dx comes from one backward
// pass; the numeric one from (L(x + eps·e_i) − L(x − eps·e_i)) / 2eps per input element. An element
// passes when |analytic − numeric| ≤ atol + rtol·|numeric|. For inputs larger than
// fast_threshold elements, random unit directions u replace the basis vectors e_i (the "fast mode":
// it checks <dL/dx, u> against a directional difference).
//
// Usable from users' own GoogleTest suites:
//   auto r = mm::gradcheck([](const mm::TensorList& in) { return mm::TensorList{mm::tanh(in[0])}; },
//                          {mm::randn({3, 4}, mm::DType::F64).set_requires_grad()});
//   EXPECT_TRUE(r.passed) << r.message;
#pragma once

#include <functional>
#include <string>

#include "autograd/node.h"

namespace mm {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  int64_t fast_threshold = 4096;  // inputs with more elements use random directions
  int fast_directions = 8;
  uint64_t seed = 1234;
};

struct GradcheckInputReport {
  size_t index = 0;
  int64_t numel = 0;
  double max_abs_error = 0;
  double max_rel_error = 0;  // over elements whose numeric gradient is at least 1e-6 in magnitude
  bool fast = false;
  bool passed = true;
};

struct GradcheckResult {
  bool passed = true;
  std::vector<GradcheckInputReport> inputs;  // one per input that requires grad
  std::string message;                       // first failure, human-readable
};

using GradcheckFn = std::function<TensorList(const TensorList&)>;

// inputs: CPU tensors; those that require grad must be f64 and contiguous.
GradcheckResult gradcheck(const GradcheckFn& fn, const TensorList& inputs, const GradcheckOptions& options = {});

}  // namespace mm
