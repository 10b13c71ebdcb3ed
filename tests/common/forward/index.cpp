// Forward cases of the indexing family, each with a naive double reference written with plain loops
// over row-major host values (std::stable_sort for the orderings).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

using Idx = std::vector<int64_t>;

Tensor i32_tensor(const std::vector<int32_t>& v, const Shape& shape) { return Tensor::from_vector<int32_t>(v, shape); }
Tensor f64_tensor(const std::vector<double>& v, const Shape& shape) { return Tensor::from_vector<double>(v, shape); }

// Row-major multi-index of linear position `lin` in `shape`, and back.
Idx unravel(int64_t lin, const Shape& shape) {
  Idx idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = lin % shape[d];
    lin /= shape[d];
  }
  return idx;
}
int64_t ravel(const Idx& idx, const Shape& shape) {
  int64_t r = 0;
  for (size_t d = 0; d < shape.size(); ++d) r = r * shape[d] + idx[d];
  return r;
}

// out[i] = x[i with coordinate dim replaced by index[i]] over index's shape.
Ref gather_ref(const HostTensor& x, int64_t dim, const HostTensor& index) {
  Ref r{index.shape, {}};
  for (int64_t e = 0; e < index.numel(); ++e) {
    Idx at = unravel(e, index.shape);
    at[dim] = static_cast<int64_t>(index.v[e]);
    r.values.push_back(x.v[ravel(at, x.shape)]);
  }
  return r;
}

Ref index_select_ref(const HostTensor& x, int64_t dim, const HostTensor& index) {
  Shape shape = x.shape;
  shape[dim] = index.numel();
  Ref r{shape, {}};
  for (int64_t e = 0; e < shape_numel(shape); ++e) {
    Idx at = unravel(e, shape);
    at[dim] = static_cast<int64_t>(index.v[at[dim]]);
    r.values.push_back(x.v[ravel(at, x.shape)]);
  }
  return r;
}

Ref scatter_add_ref(const HostTensor& x, int64_t dim, const HostTensor& index, const HostTensor& src) {
  Ref r{x.shape, x.v};
  for (int64_t e = 0; e < index.numel(); ++e) {
    Idx at = unravel(e, index.shape);
    double s = src.v[ravel(at, src.shape)];
    at[dim] = static_cast<int64_t>(index.v[e]);
    r.values[ravel(at, x.shape)] += s;
  }
  return r;
}

// Stable ordering with NaN as the largest value, then the first k along dim: {values, positions}.
std::vector<Ref> sort_ref(const HostTensor& x, int64_t dim, int64_t k, bool descending) {
  auto less = [](double a, double b) { return !std::isnan(a) && (std::isnan(b) || a < b); };
  Shape shape = x.shape;
  int64_t n = shape[dim];
  shape[dim] = k;
  Ref vals{shape, std::vector<double>(shape_numel(shape))}, pos{shape, std::vector<double>(shape_numel(shape))};
  for (int64_t e = 0; e < shape_numel(shape); ++e) {
    Idx at = unravel(e, shape);
    if (at[dim] != 0) continue;  // one row per position with coordinate 0 along dim
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    auto value = [&](int64_t i) {
      Idx a = at;
      a[dim] = i;
      return x.v[ravel(a, x.shape)];
    };
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return descending ? less(value(b), value(a)) : less(value(a), value(b));
    });
    for (int64_t i = 0; i < k; ++i) {
      Idx a = at;
      a[dim] = i;
      vals.values[ravel(a, shape)] = value(order[i]);
      pos.values[ravel(a, shape)] = static_cast<double>(order[i]);
    }
  }
  return {vals, pos};
}

Ref one_hot_ref(const HostTensor& index, int64_t classes) {
  Shape shape = index.shape;
  shape.push_back(classes);
  Ref r{shape, {}};
  for (double i : index.v)
    for (int64_t c = 0; c < classes; ++c) r.values.push_back(static_cast<int64_t>(i) == c ? 1.0 : 0.0);
  return r;
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Exactly representable values (in f32 too) with many ties: the order must be the stable one.
Tensor tied_values(int64_t rows, int64_t n, int64_t modulus) {
  std::vector<double> v;
  for (int64_t i = 0; i < rows * n; ++i) v.push_back(static_cast<double>((i * 7919) % modulus) - modulus / 2);
  return f64_tensor(v, {rows, n});
}

void index_select_cases() {
  struct C { std::string name; Shape shape; int64_t dim; Idx idx; bool i32; };
  for (const C& c : std::vector<C>{{"dim 0, repeated", {4, 5}, 0, {3, 0, 3, 1}, false},
                                   {"dim 1, i32 index", {3, 5}, 1, {4, 1, 1, 0, 2}, true},
                                   {"3-D, dim 1", {2, 3, 4}, 1, {2, 0}, false},
                                   {"dim -1 of 3-D", {2, 3, 4}, 2, {3, 3, 1, 0, 2}, false},
                                   {"empty index", {3, 4}, 0, {}, false}}) {
    register_forward_case({"index_select", c.name,
                           [c] {
                             Tensor idx = int_tensor(c.idx, {static_cast<int64_t>(c.idx.size())});
                             if (c.i32) idx = ops::to_dtype(idx, DType::I32);
                             return TensorList{randn(c.shape, 501), idx};
                           },
                           [c](const TensorList& in) { return TensorList{index_select(in[0], c.dim, in[1])}; },
                           [c](const std::vector<HostTensor>& h) { return std::vector<Ref>{index_select_ref(h[0], c.dim, h[1])}; }});
  }
}

void gather_scatter_cases() {
  struct C { std::string name; Shape shape; int64_t dim; Shape ishape; Idx idx; };
  std::vector<C> gathers{{"dim 1, index wider", {3, 4}, 1, {3, 6}, {0, 3, 3, 1, 0, 0, 2, 2, 2, 2, 1, 3, 3, 0, 1, 1, 1, 2}},
                         {"dim 0, index smaller", {4, 3}, 0, {2, 2}, {3, 0, 0, 3}},
                         {"3-D, dim 2", {2, 3, 4}, 2, {2, 2, 3}, {3, 0, 1, 2, 2, 2, 0, 0, 3, 1, 3, 1}}};
  for (const C& c : gathers)
    register_forward_case({"gather", c.name,
                           [c] { return TensorList{randn(c.shape, 511), int_tensor(c.idx, c.ishape)}; },
                           [c](const TensorList& in) { return TensorList{gather(in[0], c.dim, in[1])}; },
                           [c](const std::vector<HostTensor>& h) { return std::vector<Ref>{gather_ref(h[0], c.dim, h[1])}; }});

  struct S { std::string name; Shape shape; int64_t dim; Shape ishape; Idx idx; Shape sshape; };
  std::vector<S> scatters{{"dim 0, repeated, index smaller than src", {3, 4}, 0, {2, 4}, {2, 0, 2, 2, 2, 1, 0, 2}, {2, 5}},
                          {"dim 1, repeated", {2, 3}, 1, {2, 4}, {1, 1, 1, 0, 2, 0, 2, 2}, {2, 4}},
                          {"3-D, dim 1, all to one row", {2, 3, 2}, 1, {2, 4, 2}, Idx(16, 1), {2, 4, 3}}};
  for (const S& c : scatters)
    register_forward_case({"scatter_add", c.name,
                           [c] { return TensorList{randn(c.shape, 521), int_tensor(c.idx, c.ishape), randn(c.sshape, 522)}; },
                           [c](const TensorList& in) { return TensorList{scatter_add(in[0], c.dim, in[1], in[2])}; },
                           [c](const std::vector<HostTensor>& h) {
                             return std::vector<Ref>{scatter_add_ref(h[0], c.dim, h[1], h[2])};
                           }});
  register_forward_case({"scatter_add", "i64 values",
                         [] { return TensorList{int_tensor({1, 2, 3, 4, 5}, {5}), int_tensor({4, 4, 0, 4}, {4}), int_tensor({10, 20, 30, 40}, {4})}; },
                         [](const TensorList& in) { return TensorList{scatter_add(in[0], 0, in[1], in[2])}; },
                         [](const std::vector<HostTensor>& h) { return std::vector<Ref>{scatter_add_ref(h[0], 0, h[1], h[2])}; }});
}

void one_hot_cases() {
  register_forward_case({"one_hot", "2-D index, num_classes 5", [] { return TensorList{int_tensor({0, 4, 2, 2, 1, 0}, {2, 3})}; },
                         [](const TensorList& in) { return TensorList{one_hot(in[0], 5)}; },
                         [](const std::vector<HostTensor>& h) { return std::vector<Ref>{one_hot_ref(h[0], 5)}; }});
  register_forward_case({"one_hot", "inferred num_classes, i32 index",
                         [] { return TensorList{i32_tensor({3, 1, 3, 0}, {4})}; },
                         [](const TensorList& in) { return TensorList{one_hot(in[0])}; },
                         [](const std::vector<HostTensor>& h) { return std::vector<Ref>{one_hot_ref(h[0], 4)}; }});
}

void sort_cases() {
  struct C { std::string name; std::function<Tensor()> make; int64_t dim; int64_t k; bool descending; };
  auto ties_nan = [] { return f64_tensor({1, 3, kNaN, 3, 2, 1, 3, -2, kNaN, 0, -2, 0, 5, -2}, {2, 7}); };
  std::vector<C> sorts{{"ascending, dim -1", [] { return randn({3, 6}, 531); }, -1, 0, false},
                       {"descending, dim 0", [] { return randn({5, 3}, 532); }, 0, 0, true},
                       {"ties and NaN, ascending (stable)", ties_nan, 1, 0, false},
                       {"ties and NaN, descending (stable)", ties_nan, 1, 0, true},
                       {"row of 1500 with ties (CUDA shared-memory path)", [] { return tied_values(2, 1500, 101); }, 1, 0, false},
                       {"row of 3000 with ties (CUDA global-memory path)", [] { return tied_values(2, 3000, 1009); }, 1, 0, true}};
  for (const C& c : sorts)
    register_forward_case({"sort", c.name, [c] { return TensorList{c.make()}; },
                           [c](const TensorList& in) {
                             auto [v, i] = sort(in[0], c.dim, c.descending);
                             return TensorList{v, i};
                           },
                           [c](const std::vector<HostTensor>& h) {
                             int64_t d = c.dim < 0 ? c.dim + static_cast<int64_t>(h[0].shape.size()) : c.dim;
                             return sort_ref(h[0], d, h[0].shape[d], c.descending);
                           }});
  std::vector<C> topks{{"largest 3 of 7, dim 1", [] { return randn({3, 7}, 541); }, 1, 3, true},
                       {"smallest 2, dim 0", [] { return randn({6, 4}, 542); }, 0, 2, false},
                       {"ties and NaN, largest 4", ties_nan, -1, 4, true},
                       {"ties and NaN, smallest 5", ties_nan, -1, 5, false},
                       {"k = 0", [] { return randn({3, 4}, 543); }, 1, 0, true},
                       {"largest 5 of 3000 with ties", [] { return tied_values(2, 3000, 1009); }, 1, 5, true}};
  for (const C& c : topks)
    register_forward_case({"topk", c.name, [c] { return TensorList{c.make()}; },
                           [c](const TensorList& in) {
                             auto [v, i] = topk(in[0], c.k, c.dim, c.descending);
                             return TensorList{v, i};
                           },
                           [c](const std::vector<HostTensor>& h) {
                             int64_t d = c.dim < 0 ? c.dim + static_cast<int64_t>(h[0].shape.size()) : c.dim;
                             return sort_ref(h[0], d, c.k, c.descending);
                           }});
  register_forward_case({"argsort", "descending, dim 1, ties", [] { return TensorList{tied_values(4, 9, 5)}; },
                         [](const TensorList& in) { return TensorList{argsort(in[0], 1, true)}; },
                         [](const std::vector<HostTensor>& h) { return std::vector<Ref>{sort_ref(h[0], 1, 9, true)[1]}; }});
}

void embedding_cases() {
  auto ref = [](const std::vector<HostTensor>& h) {
    int64_t width = h[0].shape[1];
    Shape shape = h[1].shape;
    shape.push_back(width);
    Ref r{shape, {}};
    for (double id : h[1].v)
      for (int64_t j = 0; j < width; ++j) r.values.push_back(h[0].v[static_cast<int64_t>(id) * width + j]);
    return std::vector<Ref>{r};
  };
  register_forward_case({"embedding", "padding_idx, repeated ids (padding rows are still looked up)",
                         [] { return TensorList{randn({6, 3}, 551), int_tensor({5, 0, 5, 2}, {2, 2})}; },
                         [](const TensorList& in) { return TensorList{embedding(in[0], in[1], 5)}; }, ref});
  register_forward_case({"embedding", "3-D i32 ids",
                         [] { return TensorList{randn({4, 5}, 552), i32_tensor({3, 0, 1, 1, 2, 3, 0, 0}, {2, 2, 2})}; },
                         [](const TensorList& in) { return TensorList{embedding(in[0], in[1])}; }, ref});
}

const bool registered = [] {
  index_select_cases();
  gather_scatter_cases();
  one_hot_cases();
  sort_cases();
  embedding_cases();
  return true;
}();

}  // namespace
}  // namespace mm::testing
