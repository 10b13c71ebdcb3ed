// cat, stack, pad and repeat as composites: allocate the output, then copy_ each input into the view
// of the output it occupies (a slice for cat, a select for stack, a box for pad, a broadcast view
// for repeat). copy_ converts dtypes and handles any strides, on any device.
#include "ops/shape_copy.h"

#include <algorithm>

#include "ops/common/strided_indexer.h"
#include "ops/copy.h"
#include "ops/shape.h"

namespace mm::ops {

namespace {

// Checks the list is non-empty, defined and on one device; returns the promoted dtype.
DType check_list(const std::vector<Tensor>& xs, const char* op) {
  MM_CHECK(!xs.empty(), Value, op, "expected a non-empty list of tensors");
  DType dt = DType::Bool;
  for (size_t i = 0; i < xs.size(); ++i) {
    MM_CHECK(xs[i].defined(), Value, op, "tensor ", i, " is undefined");
    MM_CHECK(xs[i].device() == xs[0].device(), Device, op, "all tensors must be on one device: tensor 0 is on ",
             xs[0].device().str(), ", tensor ", i, " on ", xs[i].device().str());
    dt = i == 0 ? xs[i].dtype() : promote_types(dt, xs[i].dtype());
  }
  return dt;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  const DType dt = check_list(xs, "cat");
  const Tensor& x0 = xs[0];
  MM_CHECK(x0.dim() > 0, Shape, "cat", "zero-dimensional tensors cannot be concatenated (tensor 0 is 0-d)");
  const int64_t d = wrap_dim(dim, x0.dim(), "cat");
  Shape out_shape = x0.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Shape& s = xs[i].shape();
    MM_CHECK(xs[i].dim() == x0.dim(), Shape, "cat", "all tensors must have the same rank: tensor 0 is ",
             shape_str(x0.shape()), ", tensor ", i, " is ", shape_str(s));
    for (int64_t k = 0; k < x0.dim(); ++k)
      MM_CHECK(k == d || s[k] == x0.shape()[k], Shape, "cat", "sizes must match except in dimension ", d,
               ": tensor 0 is ", shape_str(x0.shape()), ", tensor ", i, " is ", shape_str(s), " (dimension ", k, ")");
    out_shape[d] += s[d];
  }
  Tensor out = Tensor::empty(out_shape, dt, x0.device());
  int64_t start = 0;
  for (const Tensor& x : xs) {
    const int64_t len = x.shape()[d];
    if (len > 0) {
      Tensor region = slice(out, d, start, start + len);
      copy_(region, x);
    }
    start += len;
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  const DType dt = check_list(xs, "stack");
  const Tensor& x0 = xs[0];
  for (size_t i = 0; i < xs.size(); ++i)
    MM_CHECK(xs[i].shape() == x0.shape(), Shape, "stack", "all tensors must have the same shape: tensor 0 is ",
             shape_str(x0.shape()), ", tensor ", i, " is ", shape_str(xs[i].shape()));
  const int64_t d = wrap_dim(dim, x0.dim() + 1, "stack");
  Shape out_shape = x0.shape();
  out_shape.insert(out_shape.begin() + d, static_cast<int64_t>(xs.size()));
  Tensor out = Tensor::empty(out_shape, dt, x0.device());
  for (size_t i = 0; i < xs.size(); ++i) {
    Tensor region = select(out, d, static_cast<int64_t>(i));
    copy_(region, xs[i]);
  }
  return out;
}

PadGeometry pad_geometry(const Tensor& x, const std::vector<int64_t>& pads) {
  const int64_t nd = x.dim();
  MM_CHECK(pads.size() % 2 == 0 && static_cast<int64_t>(pads.size()) <= 2 * nd, Shape, "pad",
           "needs an even number of pads, at most 2 per dimension: got ", pads.size(), " for a tensor of shape ",
           shape_str(x.shape()));
  PadGeometry g;
  g.out_shape = x.shape();
  g.src_start.assign(nd, 0);
  g.dst_start.assign(nd, 0);
  g.length = x.shape();
  for (size_t p = 0; p < pads.size() / 2; ++p) {
    const int64_t d = nd - 1 - static_cast<int64_t>(p);  // pairs start at the last dimension
    const int64_t left = pads[2 * p], right = pads[2 * p + 1], size = x.shape()[d];
    const int64_t out_size = size + left + right;
    MM_CHECK(out_size >= 0, Shape, "pad", "padding (", left, ", ", right, ") of dimension ", d, " of ",
             shape_str(x.shape()), " gives a negative size ", out_size);
    g.out_shape[d] = out_size;
    // A negative pad crops: the copied box starts later / ends earlier in x.
    g.src_start[d] = std::max<int64_t>(0, -left);
    g.dst_start[d] = std::max<int64_t>(0, left);
    g.length[d] = size - g.src_start[d] - std::max<int64_t>(0, -right);
    g.crops = g.crops || left < 0 || right < 0;
  }
  for (int64_t d = 0; d < nd; ++d) g.empty = g.empty || g.length[d] <= 0;
  return g;
}

Tensor box(const Tensor& t, const std::vector<int64_t>& start, const std::vector<int64_t>& length) {
  Tensor v = t;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (start[d] != 0 || length[d] != t.shape()[d]) v = slice(v, d, start[d], start[d] + length[d]);
  return v;
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  MM_CHECK(x.defined(), Value, "pad", "undefined input");
  PadGeometry g = pad_geometry(x, pads);
  Tensor out = full(g.out_shape, value, x.dtype(), x.device());
  if (!g.empty) {
    Tensor dst = box(out, g.dst_start, g.length);
    copy_(dst, box(x, g.src_start, g.length));
  }
  return out;
}

RepeatGeometry repeat_geometry(const Tensor& x, const std::vector<int64_t>& repeats) {
  const int64_t k = static_cast<int64_t>(repeats.size());
  MM_CHECK(k >= x.dim(), Shape, "repeat", "got ", k, " repeats for a tensor of rank ", x.dim(), " (shape ",
           shape_str(x.shape()), "): need at least one per dimension");
  RepeatGeometry g;
  g.padded_shape.assign(k - x.dim(), 1);
  g.padded_shape.insert(g.padded_shape.end(), x.shape().begin(), x.shape().end());
  for (int64_t i = 0; i < k; ++i) {
    MM_CHECK(repeats[i] >= 0, Value, "repeat", "repeats must be non-negative, got ", repeats[i], " at position ", i);
    if (repeats[i] != 1) {
      g.repeat_dims.push_back(static_cast<int64_t>(g.tiled_shape.size()));
      g.tiled_shape.push_back(repeats[i]);
    }
    g.tiled_shape.push_back(g.padded_shape[i]);
    g.out_shape.push_back(repeats[i] * g.padded_shape[i]);
  }
  MM_CHECK(static_cast<int>(g.tiled_shape.size()) <= kMaxDims, Shape, "repeat", "supports at most ", kMaxDims,
           " dimensions plus repeated ones; got repeats of length ", k, " for shape ", shape_str(x.shape()));
  return g;
}

Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats) {
  MM_CHECK(x.defined(), Value, "repeat", "undefined input");
  RepeatGeometry g = repeat_geometry(x, repeats);
  Tensor xp = reshape(x, g.padded_shape);  // adding leading 1s is always a view
  // The broadcast view: stride 0 on every inserted repeat dimension.
  Strides st;
  for (size_t i = 0; i < repeats.size(); ++i) {
    if (repeats[i] != 1) st.push_back(0);
    st.push_back(xp.strides()[i]);
  }
  Tensor tiled = Tensor::empty(g.tiled_shape, x.dtype(), x.device());
  if (tiled.numel() > 0) {
    Tensor src = Tensor::make_view(xp.storage(), g.tiled_shape, st, xp.offset(), xp.dtype());
    copy_(tiled, src);
  }
  return reshape(tiled, g.out_shape);
}

}  // namespace mm::ops
