#include "ops/shape.h"

#include <algorithm>

#include "ops/copy.h"

namespace mm::ops {

namespace {
Tensor with_geometry(const Tensor& x, Shape shape, Strides strides, int64_t offset) {
  return Tensor::make_view(x.storage(), std::move(shape), std::move(strides), offset, x.dtype());
}

// Strides for viewing x as `shape` without copying, or empty when impossible. The classic algorithm
// (PyTorch's computeStride): walk x's dims in chunks that are contiguous among themselves and match
// them against runs of the new shape with the same element count.
bool view_strides(const Tensor& x, const Shape& shape, Strides& out) {
  const Shape& os = x.shape();
  const Strides& ost = x.strides();
  out.assign(shape.size(), 0);
  if (x.numel() == 0) {
    out = contiguous_strides(shape);
    return true;
  }
  if (os.empty()) {  // a 0-d tensor views as any all-ones shape
    out.assign(shape.size(), 1);
    return true;
  }
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = ost.empty() ? 1 : ost.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(os.size()) - 1; d >= 0; --d) {
    tensor_numel *= os[d];
    if (d == 0 || (os[d - 1] != 1 && ost[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = ost[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return false;
  return true;
}
}  // namespace

Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      MM_CHECK(infer < 0, Shape, op, "only one dimension can be -1 in ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      MM_CHECK(out[i] >= 0, Shape, op, "invalid dimension ", out[i], " in ", shape_str(shape));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    MM_CHECK(known != 0 && numel % known == 0, Shape, op, "shape ", shape_str(shape), " is invalid for input of size ",
             numel);
    out[infer] = numel / known;
  }
  MM_CHECK(shape_numel(out) == numel, Shape, op, "shape ", shape_str(shape), " is invalid for input of size ", numel);
  return out;
}

Tensor view(const Tensor& x, const Shape& shape) {
  Shape s = infer_shape(shape, x.numel(), "view");
  Strides st;
  MM_CHECK(view_strides(x, s, st), Shape, "view", "cannot view a tensor of shape ", shape_str(x.shape()),
           " with strides ", shape_str(x.strides()), " as ", shape_str(s), " without copying (use reshape)");
  return with_geometry(x, s, st, x.offset());
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape s = infer_shape(shape, x.numel(), "reshape");
  Strides st;
  if (view_strides(x, s, st)) return with_geometry(x, s, st, x.offset());
  Tensor c = contiguous(x);
  return with_geometry(c, s, contiguous_strides(s), c.offset());
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  int64_t n = x.dim();
  MM_CHECK(static_cast<int64_t>(dims.size()) == n, Shape, "permute", "got ", dims.size(),
           " dimensions for a tensor of rank ", n);
  Shape s(n);
  Strides st(n);
  std::vector<bool> seen(n, false);
  for (int64_t i = 0; i < n; ++i) {
    int64_t d = wrap_dim(dims[i], n, "permute");
    MM_CHECK(!seen[d], Index, "permute", "dimension ", d, " repeated");
    seen[d] = true;
    s[i] = x.shape()[d];
    st[i] = x.strides()[d];
  }
  return with_geometry(x, s, st, x.offset());
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  int64_t n = x.dim();
  if (n == 0) {  // a 0-d tensor accepts dims 0 and -1 only (wrap_dim checks), like PyTorch
    wrap_dim(d0, 0, "transpose");
    wrap_dim(d1, 0, "transpose");
    return with_geometry(x, {}, {}, x.offset());
  }
  d0 = wrap_dim(d0, n, "transpose");
  d1 = wrap_dim(d1, n, "transpose");
  Shape s = x.shape();
  Strides st = x.strides();
  std::swap(s[d0], s[d1]);
  std::swap(st[d0], st[d1]);
  return with_geometry(x, s, st, x.offset());
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  MM_CHECK(x.dim() > 0, Shape, "slice", "cannot slice a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "slice");
  MM_CHECK(step > 0, Value, "slice", "step must be positive, got ", step);
  int64_t size = x.shape()[dim];
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  Shape s = x.shape();
  Strides st = x.strides();
  s[dim] = end > start ? (end - start - 1) / step + 1 : 0;  // no overflow for huge steps
  st[dim] *= step;
  return with_geometry(x, s, st, x.offset() + start * x.strides()[dim]);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  MM_CHECK(x.dim() > 0, Shape, "select", "cannot select from a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "select");
  int64_t size = x.shape()[dim];
  MM_CHECK(index >= -size && index < size, Index, "select", "index ", index, " is out of bounds for dimension ", dim,
           " with size ", size);
  if (index < 0) index += size;
  Shape s = x.shape();
  Strides st = x.strides();
  s.erase(s.begin() + dim);
  st.erase(st.begin() + dim);
  return with_geometry(x, s, st, x.offset() + index * x.strides()[dim]);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  int64_t n = static_cast<int64_t>(shape.size());
  MM_CHECK(n >= x.dim(), Shape, "expand", "cannot expand ", shape_str(x.shape()), " to fewer dimensions ",
           shape_str(shape));
  int64_t lead = n - x.dim();
  Shape s(n);
  Strides st(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    if (i < lead) {
      MM_CHECK(shape[i] >= 0, Shape, "expand", "-1 is not allowed in a new leading dimension: ", shape_str(shape));
      s[i] = shape[i];
      continue;
    }
    int64_t cur = x.shape()[i - lead];
    int64_t want = shape[i] == -1 ? cur : shape[i];
    MM_CHECK(want >= 0, Shape, "expand", "invalid size ", shape[i], " in ", shape_str(shape));
    MM_CHECK(cur == want || cur == 1, Shape, "expand", "cannot expand ", shape_str(x.shape()), " to ",
             shape_str(shape), " (dimension ", i, ": ", cur, " vs ", want, ")");
    s[i] = want;
    st[i] = cur == want ? x.strides()[i - lead] : 0;
  }
  return with_geometry(x, s, st, x.offset());
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  if (x.dim() == 0) {
    wrap_dim(dim, 0, "squeeze");  // only 0 and -1 are valid
    return with_geometry(x, {}, {}, x.offset());
  }
  dim = wrap_dim(dim, x.dim(), "squeeze");
  if (x.shape()[dim] != 1) return with_geometry(x, x.shape(), x.strides(), x.offset());
  Shape s = x.shape();
  Strides st = x.strides();
  s.erase(s.begin() + dim);
  st.erase(st.begin() + dim);
  return with_geometry(x, s, st, x.offset());
}

Tensor squeeze_all(const Tensor& x) {
  Shape s;
  Strides st;
  for (int64_t i = 0; i < x.dim(); ++i)
    if (x.shape()[i] != 1) {
      s.push_back(x.shape()[i]);
      st.push_back(x.strides()[i]);
    }
  return with_geometry(x, s, st, x.offset());
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  dim = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape s = x.shape();
  Strides st = x.strides();
  int64_t stride = dim < x.dim() ? x.strides()[dim] * x.shape()[dim] : 1;
  s.insert(s.begin() + dim, 1);
  st.insert(st.begin() + dim, stride);
  return with_geometry(x, s, st, x.offset());
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  start_dim = wrap_dim(start_dim, x.dim(), "flatten");
  end_dim = wrap_dim(end_dim, x.dim(), "flatten");
  MM_CHECK(start_dim <= end_dim, Index, "flatten", "start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape s;
  for (int64_t i = 0; i < start_dim; ++i) s.push_back(x.shape()[i]);
  int64_t m = 1;
  for (int64_t i = start_dim; i <= end_dim; ++i) m *= x.shape()[i];
  s.push_back(m);
  for (int64_t i = end_dim + 1; i < x.dim(); ++i) s.push_back(x.shape()[i]);
  return reshape(x, s);
}

Tensor diagonal(const Tensor& x, int64_t offset, int64_t d0, int64_t d1) {
  MM_CHECK(x.dim() >= 2, Shape, "diagonal", "needs at least 2 dimensions, got ", shape_str(x.shape()));
  d0 = wrap_dim(d0, x.dim(), "diagonal");
  d1 = wrap_dim(d1, x.dim(), "diagonal");
  MM_CHECK(d0 != d1, Index, "diagonal", "the two dimensions must differ");
  int64_t n0 = x.shape()[d0], n1 = x.shape()[d1];
  int64_t len = offset >= 0 ? std::max<int64_t>(0, std::min(n0, n1 - offset)) : std::max<int64_t>(0, std::min(n0 + offset, n1));
  int64_t off = x.offset();
  if (len > 0) off += offset >= 0 ? offset * x.strides()[d1] : -offset * x.strides()[d0];
  Shape s;
  Strides st;
  for (int64_t i = 0; i < x.dim(); ++i)
    if (i != d0 && i != d1) {
      s.push_back(x.shape()[i]);
      st.push_back(x.strides()[i]);
    }
  s.push_back(len);
  st.push_back(x.strides()[d0] + x.strides()[d1]);
  return with_geometry(x, s, st, off);
}

}  // namespace mm::ops
