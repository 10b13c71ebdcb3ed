// Gradient checks of the fusion modules (`mmalign gradcheck --module fusion.<name>`): f64, tiny
// widths, features and token inputs (with a text padding mask); the inputs and every parameter are
// checked.
#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"
#include "models/fusion.h"

namespace mm::models {
namespace {

ModuleGradcheck make_case(const std::string& name, bool tokens, uint64_t seed) {
  std::shared_ptr<Fusion> m = make_fusion(name, 4, 2);
  m->to(DType::F64);
  m->train(false);
  TensorList inputs;
  Tensor mask;
  if (tokens) {
    inputs = {leaf(case_randn({2, 3, 4}, seed)), leaf(case_randn({2, 3, 4}, seed + 1))};
    mask = Tensor::from_vector<int64_t>({1, 1, 0, 1, 1, 1}, {2, 3});
  } else {
    inputs = {leaf(case_randn({3, 4}, seed)), leaf(case_randn({3, 4}, seed + 1))};
  }
  for (const Tensor& p : m->parameters()) inputs.push_back(p);  // leaves already; perturbed in place
  return {inputs, [m, mask](const TensorList& in) { return TensorList{m->fuse({in[0], in[1], mask})}; }};
}

const bool registered = [] {
  uint64_t seed = 7100;
  for (const char* name : {"concat", "weighted_sum", "attention", "hierarchical", "perceiver"})
    for (bool tokens : {false, true}) {
      register_module_gradcheck_case({std::string("fusion.") + name, "fusion",
                                      tokens ? "tokens [2,3,4] with a text padding mask" : "features [3,4]",
                                      [=] { return make_case(name, tokens, seed); }});
      seed += 10;
    }
  return true;
}();

}  // namespace
}  // namespace mm::models
