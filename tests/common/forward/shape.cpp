// Forward cases of the shape family: the views (reshape, permute, transpose, slice, select, expand,
// squeeze, unsqueeze, flatten, diagonal, split, chunk) and the copying ops (cat, stack, pad, repeat).
// Every reference is written as "output element at multi-index idx = input element at ...", with
// plain index arithmetic on the row-major host values. The harness also runs every case on strided
// inputs, which exercises reshape's copy fallback and views of views.
#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

using Index = std::vector<int64_t>;
using RefFn = std::function<std::vector<Ref>(const std::vector<HostTensor>&)>;

// The reference of shape `shape` whose element at multi-index idx is f(idx).
Ref index_ref(const Shape& shape, const std::function<double(const Index&)>& f) {
  Ref r{shape, {}};
  Index idx(shape.size(), 0);
  for (int64_t k = 0; k < shape_numel(shape); ++k) {
    r.values.push_back(f(idx));
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return r;
}

// Value of host tensor h at a multi-index.
double at(const HostTensor& h, const Index& idx) { return h.v[h.index(idx)]; }

// One-input case on a randn input of shape `in`, whose single output is out_shape with out[idx] = in[map(idx)].
void map_case(const std::string& op, const std::string& name, const Shape& in, std::function<Tensor(const Tensor&)> run,
              const Shape& out_shape, std::function<Index(const Index&)> map) {
  register_forward_case({op, name, [in] { return TensorList{randn(in, 601)}; },
                         [run](const TensorList& x) { return TensorList{run(x[0])}; },
                         [out_shape, map](const std::vector<HostTensor>& h) {
                           return std::vector<Ref>{index_ref(out_shape, [&](const Index& i) { return at(h[0], map(i)); })};
                         }});
}

// Row-major flat index <-> multi-index, for reshape-like references.
Index unflatten(int64_t flat, const Shape& s) {
  Index idx(s.size());
  for (int64_t d = static_cast<int64_t>(s.size()) - 1; d >= 0; --d) {
    idx[d] = flat % s[d];
    flat /= s[d];
  }
  return idx;
}
int64_t flatten_index(const Index& idx, const Shape& s) {
  int64_t f = 0;
  for (size_t d = 0; d < s.size(); ++d) f = f * s[d] + idx[d];
  return f;
}

// A case whose output keeps the row-major order of its input (reshape, flatten, squeeze, unsqueeze).
void same_order_case(const std::string& op, const std::string& name, const Shape& in, std::function<Tensor(const Tensor&)> run,
                     const Shape& out_shape) {
  map_case(op, name, in, run, out_shape, [in, out_shape](const Index& i) { return unflatten(flatten_index(i, out_shape), in); });
}

// Pieces of `in` along dim with the given sizes (split / chunk references).
RefFn pieces_ref(int64_t dim, std::vector<int64_t> sizes) {
  return [dim, sizes](const std::vector<HostTensor>& h) {
    std::vector<Ref> refs;
    int64_t start = 0;
    for (int64_t s : sizes) {
      Shape shape = h[0].shape;
      shape[dim] = s;
      refs.push_back(index_ref(shape, [&](const Index& i) {
        Index j = i;
        j[dim] += start;
        return at(h[0], j);
      }));
      start += s;
    }
    return refs;
  };
}

void views() {
  same_order_case("reshape", "[2,3,4] -> [4,-1]", {2, 3, 4}, [](const Tensor& x) { return reshape(x, {4, -1}); }, {4, 6});
  same_order_case("reshape", "[6] -> [3,1,2]", {6}, [](const Tensor& x) { return reshape(x, {3, 1, 2}); }, {3, 1, 2});
  same_order_case("reshape", "[1] -> [] (0-d)", {1}, [](const Tensor& x) { return reshape(x, {}); }, {});
  same_order_case("reshape", "[3,0] -> [0,5] (empty)", {3, 0}, [](const Tensor& x) { return reshape(x, {0, 5}); }, {0, 5});
  // A transposed input is not viewable as [12]: reshape copies.
  map_case("reshape", "transposed [4,3] -> [12]", {3, 4}, [](const Tensor& x) { return reshape(transpose(x, 0, 1), {12}); },
           {12}, [](const Index& i) { return Index{i[0] % 3, i[0] / 3}; });

  map_case("permute", "[2,3,4] by (2,0,1)", {2, 3, 4}, [](const Tensor& x) { return permute(x, {2, 0, 1}); }, {4, 2, 3},
           [](const Index& i) { return Index{i[1], i[2], i[0]}; });
  map_case("permute", "negative dims (-1,-3,-2)", {2, 3, 4}, [](const Tensor& x) { return permute(x, {-1, -3, -2}); },
           {4, 2, 3}, [](const Index& i) { return Index{i[1], i[2], i[0]}; });
  map_case("transpose", "[2,3,4] dims (1,-1)", {2, 3, 4}, [](const Tensor& x) { return transpose(x, 1, -1); }, {2, 4, 3},
           [](const Index& i) { return Index{i[0], i[2], i[1]}; });

  map_case("slice", "dim 1 [1:6:2]", {5, 6}, [](const Tensor& x) { return slice(x, 1, 1, 6, 2); }, {5, 3},
           [](const Index& i) { return Index{i[0], 1 + 2 * i[1]}; });
  map_case("slice", "negative start/end [-4:-1]", {5, 6}, [](const Tensor& x) { return slice(x, 0, -4, -1); }, {3, 6},
           [](const Index& i) { return Index{1 + i[0], i[1]}; });
  map_case("slice", "end past the size is clamped, step 3", {5, 6}, [](const Tensor& x) { return slice(x, -1, 2, 100, 3); },
           {5, 2}, [](const Index& i) { return Index{i[0], 2 + 3 * i[1]}; });
  map_case("slice", "empty range", {5, 6}, [](const Tensor& x) { return slice(x, 0, 4, 2); }, {0, 6},
           [](const Index& i) { return i; });
  map_case("slice", "narrow(dim 1, 2, 3)", {4, 6}, [](const Tensor& x) { return narrow(x, 1, 2, 3); }, {4, 3},
           [](const Index& i) { return Index{i[0], 2 + i[1]}; });

  map_case("select", "dim 1 index -1", {3, 4, 2}, [](const Tensor& x) { return select(x, 1, -1); }, {3, 2},
           [](const Index& i) { return Index{i[0], 3, i[1]}; });
  map_case("select", "dim 0 index 2", {3, 4}, [](const Tensor& x) { return select(x, 0, 2); }, {4},
           [](const Index& i) { return Index{2, i[0]}; });
  map_case("select", "1-d to 0-d", {5}, [](const Tensor& x) { return select(x, 0, 3); }, {},
           [](const Index&) { return Index{3}; });

  map_case("expand", "[3,1] -> [2,3,4]", {3, 1}, [](const Tensor& x) { return expand(x, {2, 3, 4}); }, {2, 3, 4},
           [](const Index& i) { return Index{i[1], 0}; });
  map_case("expand", "[1,4] -> [3,-1]", {1, 4}, [](const Tensor& x) { return expand(x, {3, -1}); }, {3, 4},
           [](const Index& i) { return Index{0, i[1]}; });

  same_order_case("squeeze", "dim 1 of [3,1,4]", {3, 1, 4}, [](const Tensor& x) { return squeeze(x, 1); }, {3, 4});
  same_order_case("squeeze", "all size-1 dims of [1,3,1]", {1, 3, 1}, [](const Tensor& x) { return squeeze(x); }, {3});
  same_order_case("squeeze", "dim of size 3 is kept", {1, 3}, [](const Tensor& x) { return squeeze(x, -1); }, {1, 3});
  same_order_case("unsqueeze", "dim -1 of [3,4]", {3, 4}, [](const Tensor& x) { return unsqueeze(x, -1); }, {3, 4, 1});
  same_order_case("unsqueeze", "dim 1 of [3,4]", {3, 4}, [](const Tensor& x) { return unsqueeze(x, 1); }, {3, 1, 4});
  same_order_case("flatten", "dims 1..2 of [2,3,4]", {2, 3, 4}, [](const Tensor& x) { return flatten(x, 1, 2); }, {2, 12});
  same_order_case("flatten", "all of [2,3,4]", {2, 3, 4}, [](const Tensor& x) { return flatten(x); }, {24});

  map_case("diagonal", "[4,5] offset 0", {4, 5}, [](const Tensor& x) { return diagonal(x); }, {4},
           [](const Index& i) { return Index{i[0], i[0]}; });
  map_case("diagonal", "[4,5] offset 1", {4, 5}, [](const Tensor& x) { return diagonal(x, 1); }, {4},
           [](const Index& i) { return Index{i[0], i[0] + 1}; });
  map_case("diagonal", "[4,5] offset -1", {4, 5}, [](const Tensor& x) { return diagonal(x, -1); }, {3},
           [](const Index& i) { return Index{i[0] + 1, i[0]}; });
  map_case("diagonal", "[2,3,4] dims (1,2) offset 1", {2, 3, 4}, [](const Tensor& x) { return diagonal(x, 1, 1, 2); },
           {2, 3}, [](const Index& i) { return Index{i[0], i[1], i[1] + 1}; });
  map_case("diagonal", "[3,4,2] dims (2,0) offset -1", {3, 4, 2}, [](const Tensor& x) { return diagonal(x, -1, 2, 0); },
           {4, 1}, [](const Index& i) { return Index{i[1], i[0], i[1] + 1}; });
  map_case("diagonal", "offset beyond the matrix: empty", {3, 3}, [](const Tensor& x) { return diagonal(x, 5); }, {0},
           [](const Index& i) { return i; });
}

void splits() {
  auto split_case = [](const std::string& op, const std::string& name, const Shape& in, std::function<TensorList(const Tensor&)> run,
                       int64_t dim, std::vector<int64_t> sizes) {
    register_forward_case({op, name, [in] { return TensorList{randn(in, 602)}; },
                           [run](const TensorList& x) { return run(x[0]); }, pieces_ref(dim, sizes)});
  };
  split_case("split", "[7,3] by 3 along dim 0", {7, 3}, [](const Tensor& x) { return split(x, 3, 0); }, 0, {3, 3, 1});
  split_case("split", "[2,5] sizes (1,0,4) along dim -1", {2, 5},
             [](const Tensor& x) { return split(x, std::vector<int64_t>{1, 0, 4}, -1); }, 1, {1, 0, 4});
  split_case("split", "split_size larger than the dim: one piece", {2, 3}, [](const Tensor& x) { return split(x, 10, 1); }, 1, {3});
  split_case("chunk", "[7,3] in 3", {7, 3}, [](const Tensor& x) { return chunk(x, 3); }, 0, {3, 3, 1});
  // ceil(6/4) = 2, so only 3 chunks, as torch.chunk.
  split_case("chunk", "[2,6] in 4 along dim 1 gives 3", {2, 6}, [](const Tensor& x) { return chunk(x, 4, 1); }, 1, {2, 2, 2});
  split_case("chunk", "[0,2] in 3: three empty pieces", {0, 2}, [](const Tensor& x) { return chunk(x, 3); }, 0, {0, 0, 0});
}

void copies() {
  // cat: element at idx comes from the input whose range along dim contains idx[dim].
  auto cat_case = [](const std::string& name, std::vector<Shape> shapes, int64_t dim) {
    register_forward_case({"cat", name,
                           [shapes] {
                             TensorList in;
                             for (size_t k = 0; k < shapes.size(); ++k) in.push_back(randn(shapes[k], 610 + k));
                             return in;
                           },
                           [dim](const TensorList& in) { return TensorList{cat(in, dim)}; },
                           [dim, shapes](const std::vector<HostTensor>& h) {
                             int64_t d = dim < 0 ? dim + static_cast<int64_t>(shapes[0].size()) : dim;
                             Shape out = shapes[0];
                             out[d] = 0;
                             for (const Shape& s : shapes) out[d] += s[d];
                             return std::vector<Ref>{index_ref(out, [&](const Index& i) {
                               Index j = i;
                               size_t k = 0;
                               while (j[d] >= shapes[k][d]) j[d] -= shapes[k++][d];
                               return at(h[k], j);
                             })};
                           }});
  };
  cat_case("[2,3] [4,3] [1,3] dim 0", {{2, 3}, {4, 3}, {1, 3}}, 0);
  cat_case("[2,1,2] [2,3,2] dim 1", {{2, 1, 2}, {2, 3, 2}}, 1);
  cat_case("[2,2] [2,0] [2,3] dim -1 (with an empty piece)", {{2, 2}, {2, 0}, {2, 3}}, -1);
  cat_case("single tensor", {{3, 2}}, 0);

  auto stack_case = [](const std::string& name, Shape shape, int64_t n, int64_t dim) {
    register_forward_case({"stack", name,
                           [shape, n] {
                             TensorList in;
                             for (int64_t k = 0; k < n; ++k) in.push_back(randn(shape, 620 + k));
                             return in;
                           },
                           [dim](const TensorList& in) { return TensorList{stack(in, dim)}; },
                           [shape, n, dim](const std::vector<HostTensor>& h) {
                             int64_t d = dim < 0 ? dim + static_cast<int64_t>(shape.size()) + 1 : dim;
                             Shape out = shape;
                             out.insert(out.begin() + d, n);
                             return std::vector<Ref>{index_ref(out, [&](const Index& i) {
                               Index j = i;
                               j.erase(j.begin() + d);
                               return at(h[i[d]], j);
                             })};
                           }});
  };
  stack_case("3 x [2,3] dim 0", {2, 3}, 3, 0);
  stack_case("2 x [2,3] dim 1", {2, 3}, 2, 1);
  stack_case("4 x [3] dim -1", {3}, 4, -1);
  stack_case("2 x 0-d", {}, 2, 0);

  // pad: output element idx is x[idx - left] when inside x, else the fill value.
  auto pad_case = [](const std::string& name, Shape in, std::vector<int64_t> pads, double value) {
    register_forward_case({"pad", name, [in] { return TensorList{randn(in, 630)}; },
                           [pads, value](const TensorList& x) { return TensorList{pad(x[0], pads, value)}; },
                           [in, pads, value](const std::vector<HostTensor>& h) {
                             int64_t nd = static_cast<int64_t>(in.size());
                             Index left(nd, 0);
                             Shape out = in;
                             for (size_t p = 0; p < pads.size() / 2; ++p) {
                               left[nd - 1 - p] = pads[2 * p];
                               out[nd - 1 - p] += pads[2 * p] + pads[2 * p + 1];
                             }
                             return std::vector<Ref>{index_ref(out, [&](const Index& i) {
                               Index j(nd);
                               for (int64_t d = 0; d < nd; ++d) {
                                 j[d] = i[d] - left[d];
                                 if (j[d] < 0 || j[d] >= in[d]) return value;
                               }
                               return at(h[0], j);
                             })};
                           }});
  };
  pad_case("[2,3] last dim (1,2)", {2, 3}, {1, 2}, 0.0);
  pad_case("[2,3,2] last two dims (0,1,2,1) value 1.5", {2, 3, 2}, {0, 1, 2, 1}, 1.5);
  pad_case("all dims of [2,2] (1,1,1,1) value -2", {2, 2}, {1, 1, 1, 1}, -2.0);
  pad_case("negative pads crop (-1,1,0,-1)", {3, 4}, {-1, 1, 0, -1}, 0.5);
  pad_case("crop everything (-2,-2)", {2, 4}, {-2, -2}, 0.0);

  // repeat: output element idx is x[idx mod size] (x viewed with leading 1s).
  auto repeat_case = [](const std::string& name, Shape in, std::vector<int64_t> reps) {
    register_forward_case({"repeat", name, [in] { return TensorList{randn(in, 640)}; },
                           [reps](const TensorList& x) { return TensorList{repeat(x[0], reps)}; },
                           [in, reps](const std::vector<HostTensor>& h) {
                             size_t lead = reps.size() - in.size();
                             Shape out(reps.size());
                             for (size_t d = 0; d < reps.size(); ++d) out[d] = reps[d] * (d < lead ? 1 : in[d - lead]);
                             return std::vector<Ref>{index_ref(out, [&](const Index& i) {
                               Index j;
                               for (size_t d = lead; d < reps.size(); ++d) j.push_back(i[d] % in[d - lead]);
                               return at(h[0], j);
                             })};
                           }});
  };
  repeat_case("[2,3] by (2,1,3): new leading dim", {2, 3}, {2, 1, 3});
  repeat_case("[3,2] by (1,2)", {3, 2}, {1, 2});
  repeat_case("[2] by (3)", {2}, {3});
  repeat_case("[2,3] by (1,1): a copy", {2, 3}, {1, 1});
  repeat_case("[2,3] by (0,2): empty", {2, 3}, {0, 2});
}

const bool registered = [] {
  views();
  splits();
  copies();
  return true;
}();

}  // namespace
}  // namespace mm::testing
