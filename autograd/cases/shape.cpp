// Gradient-check cases of the shape family: every view (its backward maps the gradient back onto
// the input's geometry) and the copying ops cat, stack, pad and repeat. Views are linear maps, so
// finite differences are exact up to rounding; the cases exist to catch wrong index bookkeeping
// (negative dims and indices, steps, offsets, strided inputs, empty pieces).
#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"

namespace mm {
namespace {

// One input of `shape`; fn maps it to the outputs checked.
void one(const std::string& op, const std::string& name, const Shape& shape, std::function<TensorList(const Tensor&)> fn) {
  register_gradcheck_case({op, name, [shape] { return TensorList{leaf(case_randn(shape, 41))}; },
                           [fn](const TensorList& in) { return fn(in[0]); }});
}

// Shorthand for ops with one output.
void one1(const std::string& op, const std::string& name, const Shape& shape, std::function<Tensor(const Tensor&)> fn) {
  one(op, name, shape, [fn](const Tensor& x) { return TensorList{fn(x)}; });
}

// Several inputs of the given shapes.
void many(const std::string& op, const std::string& name, const std::vector<Shape>& shapes, GradcheckFn fn) {
  register_gradcheck_case({op, name,
                           [shapes] {
                             TensorList in;
                             for (size_t k = 0; k < shapes.size(); ++k) in.push_back(leaf(case_randn(shapes[k], 50 + k)));
                             return in;
                           },
                           std::move(fn)});
}

void views() {
  one1("reshape", "[2,3,4] -> [4,-1]", {2, 3, 4}, [](const Tensor& x) { return reshape(x, {4, -1}); });
  one1("reshape", "transposed input (copy path)", {3, 4}, [](const Tensor& x) { return reshape(transpose(x, 0, 1), {2, 6}); });
  one1("permute", "(2,0,1)", {2, 3, 4}, [](const Tensor& x) { return permute(x, {2, 0, 1}); });
  one1("permute", "negative dims (-1,0,-2)", {2, 3, 4}, [](const Tensor& x) { return permute(x, {-1, 0, -2}); });
  one1("transpose", "dims (0,-1) of [2,3,4]", {2, 3, 4}, [](const Tensor& x) { return transpose(x, 0, -1); });
  one1("slice", "step 2", {5, 4}, [](const Tensor& x) { return slice(x, 0, 1, 5, 2); });
  one1("slice", "negative start/end", {5, 4}, [](const Tensor& x) { return slice(x, -1, -3, -1); });
  one1("slice", "of a transposed input", {3, 6}, [](const Tensor& x) { return slice(transpose(x, 0, 1), 0, 1, 6, 3); });
  one1("slice", "narrow", {4, 5}, [](const Tensor& x) { return narrow(x, 1, 1, 3); });
  one1("select", "negative index", {3, 4, 2}, [](const Tensor& x) { return select(x, 1, -2); });
  one1("select", "dim -1", {3, 4}, [](const Tensor& x) { return select(x, -1, 0); });
  one1("expand", "[3,1] -> [2,3,4] (the engine sums)", {3, 1}, [](const Tensor& x) { return expand(x, {2, 3, 4}); });
  one1("squeeze", "dim 1", {3, 1, 2}, [](const Tensor& x) { return squeeze(x, 1); });
  one1("squeeze", "all", {1, 3, 1}, [](const Tensor& x) { return squeeze(x); });
  one1("unsqueeze", "dim -1", {3, 2}, [](const Tensor& x) { return unsqueeze(x, -1); });
  one1("flatten", "dims 1..2", {2, 3, 2}, [](const Tensor& x) { return flatten(x, 1, 2); });
  one1("flatten", "of a transposed input", {2, 3}, [](const Tensor& x) { return flatten(transpose(x, 0, 1)); });
  one1("diagonal", "offset 0", {4, 4}, [](const Tensor& x) { return diagonal(x); });
  one1("diagonal", "offset 1", {4, 5}, [](const Tensor& x) { return diagonal(x, 1); });
  one1("diagonal", "offset -1, dims (2,1) of [2,3,4]", {2, 3, 4}, [](const Tensor& x) { return diagonal(x, -1, 2, 1); });
  // A view of a view that overlaps the same elements twice: the gradients must add up.
  one("diagonal", "overlapping views", {3, 3}, [](const Tensor& x) {
    return TensorList{add(diagonal(x, 0), select(x, 0, 1))};
  });
}

void splits() {
  one("split", "by 2 (last piece smaller)", {5, 3}, [](const Tensor& x) { return split(x, 2, 0); });
  one("split", "sizes (1,0,3) along dim -1", {2, 4}, [](const Tensor& x) { return split(x, std::vector<int64_t>{1, 0, 3}, -1); });
  one("chunk", "3 chunks", {7, 2}, [](const Tensor& x) { return chunk(x, 3); });
  // Only some pieces used: the others contribute no gradient.
  one("chunk", "only the middle piece is used", {2, 6}, [](const Tensor& x) { return TensorList{chunk(x, 3, 1)[1]}; });
}

void copies() {
  many("cat", "dim 0", {{2, 3}, {1, 3}, {3, 3}}, [](const TensorList& in) { return TensorList{cat(in, 0)}; });
  many("cat", "dim -1, strided inputs", {{3, 2}, {4, 2}},
       [](const TensorList& in) { return TensorList{cat({transpose(in[0], 0, 1), transpose(in[1], 0, 1)}, -1)}; });
  many("cat", "the same tensor twice", {{2, 2}}, [](const TensorList& in) { return TensorList{cat({in[0], in[0]}, 1)}; });
  register_gradcheck_case({"cat", "one input without grad",
                           [] { return TensorList{leaf(case_randn({2, 3}, 61)), case_randn({2, 2}, 62)}; },
                           [](const TensorList& in) { return TensorList{cat(in, 1)}; }});

  many("stack", "dim 0", {{2, 3}, {2, 3}, {2, 3}}, [](const TensorList& in) { return TensorList{stack(in, 0)}; });
  many("stack", "dim -1", {{3, 2}, {3, 2}}, [](const TensorList& in) { return TensorList{stack(in, -1)}; });

  one1("pad", "last dim (1,2)", {2, 3}, [](const Tensor& x) { return pad(x, {1, 2}); });
  one1("pad", "two dims (2,0,1,1) value 3", {2, 3, 2}, [](const Tensor& x) { return pad(x, {2, 0, 1, 1}, 3.0); });
  one1("pad", "negative pads crop (-1,2,1,-2)", {4, 5}, [](const Tensor& x) { return pad(x, {-1, 2, 1, -2}); });
  one1("pad", "strided input", {3, 2}, [](const Tensor& x) { return pad(transpose(x, 0, 1), {1, 1, 0, 2}); });

  one1("repeat", "(2,1,3) adds a leading dim", {2, 3}, [](const Tensor& x) { return repeat(x, {2, 1, 3}); });
  one1("repeat", "(3,2)", {2, 2}, [](const Tensor& x) { return repeat(x, {3, 2}); });
  one1("repeat", "strided input (1,2)", {3, 2}, [](const Tensor& x) { return repeat(transpose(x, 0, 1), {1, 2}); });
}

const bool registered = [] {
  views();
  splits();
  copies();
  return true;
}();

}  // namespace
}  // namespace mm
