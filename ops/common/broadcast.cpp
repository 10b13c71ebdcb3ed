#include "ops/common/broadcast.h"

#include <algorithm>

namespace mm {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    MM_CHECK(da == db || da == 1 || db == 1, Shape, op, "shapes ", shape_str(a), " and ", shape_str(b),
             " cannot be broadcast (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Strides broadcast_strides(const Tensor& t, const Shape& shape, const char* op) {
  const Shape& ts = t.shape();
  MM_CHECK(ts.size() <= shape.size(), Shape, op, "cannot broadcast ", shape_str(ts), " to ", shape_str(shape));
  size_t lead = shape.size() - ts.size();
  Strides st(shape.size(), 0);
  for (size_t i = 0; i < ts.size(); ++i) {
    int64_t d = ts[i];
    MM_CHECK(d == shape[lead + i] || d == 1, Shape, op, "cannot broadcast ", shape_str(ts), " to ",
             shape_str(shape));
    st[lead + i] = d == 1 ? 0 : t.strides()[i];
  }
  return st;
}

template <int N>
StridedIndexer<N> make_indexer(const Shape& shape, const std::vector<const Tensor*>& operands, const char* op) {
  MM_INTERNAL_ASSERT(static_cast<int>(operands.size()) == N);
  std::vector<Strides> st;
  for (const Tensor* t : operands) st.push_back(broadcast_strides(*t, shape, op));
  // Drop size-1 dims, then merge dim d into d+1 when, for every operand, stride[d] == stride[d+1]*size[d+1].
  std::vector<int64_t> sizes;
  std::vector<std::vector<int64_t>> ss(N);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    sizes.push_back(shape[d]);
    for (int k = 0; k < N; ++k) ss[k].push_back(st[k][d]);
  }
  std::vector<int64_t> ms;
  std::vector<std::vector<int64_t>> mst(N);
  for (size_t d = 0; d < sizes.size(); ++d) {
    bool merge = !ms.empty();
    for (int k = 0; k < N && merge; ++k) merge = mst[k].back() == ss[k][d] * sizes[d];
    if (merge) {
      ms.back() *= sizes[d];
      for (int k = 0; k < N; ++k) mst[k].back() = ss[k][d];
    } else {
      ms.push_back(sizes[d]);
      for (int k = 0; k < N; ++k) mst[k].push_back(ss[k][d]);
    }
  }
  MM_CHECK(static_cast<int>(ms.size()) <= kMaxDims, Shape, op, "too many non-mergeable dimensions (",
           ms.size(), " > ", kMaxDims, ") in shape ", shape_str(shape));
  StridedIndexer<N> ix;
  ix.ndim = static_cast<int>(ms.size());
  for (size_t d = 0; d < ms.size(); ++d) {
    ix.sizes[d] = ms[d];
    for (int k = 0; k < N; ++k) ix.strides[k][d] = mst[k][d];
  }
  return ix;
}

template StridedIndexer<1> make_indexer<1>(const Shape&, const std::vector<const Tensor*>&, const char*);
template StridedIndexer<2> make_indexer<2>(const Shape&, const std::vector<const Tensor*>&, const char*);
template StridedIndexer<3> make_indexer<3>(const Shape&, const std::vector<const Tensor*>&, const char*);
template StridedIndexer<4> make_indexer<4>(const Shape&, const std::vector<const Tensor*>&, const char*);

Device common_device(std::initializer_list<const Tensor*> ts, const char* op) {
  Device d = (*ts.begin())->device();
  for (const Tensor* t : ts)
    MM_CHECK(t->device() == d, Device, op, "expected all tensors on one device, got ", d.str(), " and ",
             t->device().str());
  return d;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (size_t i = 0; i < from.size(); ++i) {
    int64_t f = from[from.size() - 1 - i], t = to[to.size() - 1 - i];
    if (f != t && f != 1) return false;
  }
  return true;
}

void check_floating(const Tensor& t, const char* op, const char* what) {
  MM_CHECK(t.defined(), Value, op, what, " is undefined");
  MM_CHECK(is_floating(t.dtype()), DType, op, what, " must be floating, got ", dtype_name(t.dtype()));
}

bool all_contiguous_same_shape(const Shape& shape, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t->shape() != shape || !t->is_contiguous()) return false;
  return true;
}

}  // namespace mm
