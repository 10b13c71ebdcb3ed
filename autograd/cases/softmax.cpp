// Gradient-check cases of softmax and log_softmax (each runs the op's fused backward kernel).
#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"

namespace mm {
namespace {

void add(const std::string& op, const std::string& name, Shape shape, uint64_t seed,
         std::function<Tensor(const Tensor&)> fn) {
  register_gradcheck_case({op, name, [=] { return TensorList{leaf(case_randn(shape, seed, 2.0))}; },
                           [fn](const TensorList& in) { return TensorList{fn(in[0])}; }});
}

const bool registered = [] {
  for (bool log : {false, true}) {
    const std::string op = log ? "log_softmax" : "softmax";
    auto f = [log](int64_t dim) {
      return [=](const Tensor& x) { return log ? log_softmax(x, dim) : softmax(x, dim); };
    };
    add(op, "[3,5] dim -1", {3, 5}, 701, f(-1));
    add(op, "[3,4,5] dim 1 (strided slices)", {3, 4, 5}, 702, f(1));
    add(op, "[4,3] dim 0", {4, 3}, 703, f(0));
    add(op, "transposed input, last dim", {5, 3}, 704, [log](const Tensor& x) {
      Tensor t = transpose(x, 0, 1);
      return log ? log_softmax(t, -1) : softmax(t, -1);
    });
    add(op, "0-d", {}, 705, f(0));
  }
  return true;
}();

}  // namespace
}  // namespace mm
