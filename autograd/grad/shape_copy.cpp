// Gradients of the copying shape ops. Each forward op wrote every input into a region of its output,
// so each backward reads that region of the output gradient back:
//   cat    -> the slice of g along dim that input occupied
//   stack  -> g selected at the input's index along the new dim
//   pad    -> the box of g where x landed (written into zeros where x was cropped)
//   repeat -> the sum of g over the copies: g viewed as [r0, s0, r1, s1, ...], summed over the r dims
// split and chunk are views built from mm::narrow, whose own backward scatters into zeros.
#include "autograd/grad/shape_copy.h"

#include "autograd/grad/shape.h"
#include "ops/copy.h"
#include "ops/reduce.h"
#include "ops/shape.h"

namespace mm {

Tensor cat(const TensorList& xs, int64_t dim) {
  Tensor y = ops::cat(xs, dim);
  if (needs_grad(xs)) {
    const int64_t d = wrap_dim(dim, xs[0].dim(), "cat");
    std::vector<int64_t> sizes;
    for (const Tensor& x : xs) sizes.push_back(x.shape()[d]);
    record("cat", xs, {y}, [d, sizes](const GradContext& c) {
      TensorList grads;
      int64_t start = 0;
      for (size_t i = 0; i < sizes.size(); ++i) {
        grads.push_back(c.needs_grad(i) ? ops::slice(c.grad(), d, start, start + sizes[i]) : Tensor());
        start += sizes[i];
      }
      return grads;
    });
  }
  return y;
}

Tensor stack(const TensorList& xs, int64_t dim) {
  Tensor y = ops::stack(xs, dim);
  if (needs_grad(xs)) {
    const int64_t d = wrap_dim(dim, xs[0].dim() + 1, "stack");
    record("stack", xs, {y}, [d, n = xs.size()](const GradContext& c) {
      TensorList grads;
      for (size_t i = 0; i < n; ++i)
        grads.push_back(c.needs_grad(i) ? ops::select(c.grad(), d, static_cast<int64_t>(i)) : Tensor());
      return grads;
    });
  }
  return y;
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  Tensor y = ops::pad(x, pads, value);
  if (needs_grad({x})) {
    ops::PadGeometry geo = ops::pad_geometry(x, pads);
    record("pad", {x}, {y}, [geo, in = TensorMetaInfo{x.shape(), x.dtype(), x.device()}](const GradContext& c) {
      // Nothing of x reached the output (cropped away entirely, or x is empty).
      if (geo.empty) return TensorList{ops::zeros(in.shape, c.grad().dtype(), c.grad().device())};
      Tensor g_region = ops::box(c.grad(), geo.dst_start, geo.length);
      // Pure padding: x's gradient is exactly the region of g (a view, no copy).
      if (!geo.crops) return TensorList{g_region};
      // Cropping: the cropped-away elements of x got no gradient.
      Tensor gx = ops::zeros(in.shape, c.grad().dtype(), c.grad().device());
      Tensor dst = ops::box(gx, geo.src_start, geo.length);
      ops::copy_(dst, g_region);
      return TensorList{gx};
    });
  }
  return y;
}

Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats) {
  Tensor y = ops::repeat(x, repeats);
  if (needs_grad({x})) {
    ops::RepeatGeometry geo = ops::repeat_geometry(x, repeats);
    record("repeat", {x}, {y}, [geo, shape = x.shape()](const GradContext& c) {
      Tensor tiled = ops::reshape(c.grad(), geo.tiled_shape);
      Tensor summed = geo.repeat_dims.empty() ? tiled : ops::sum(tiled, geo.repeat_dims, /*keepdim=*/false);
      return TensorList{ops::reshape(summed, shape)};
    });
  }
  return y;
}

TensorList split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  MM_CHECK(x.defined(), Value, "split", "undefined input");
  MM_CHECK(x.dim() > 0, Shape, "split", "cannot split a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    MM_CHECK(s >= 0, Value, "split", "split sizes must be non-negative, got ", shape_str(sizes));
    total += s;
  }
  MM_CHECK(total == x.shape()[d], Shape, "split", "split sizes ", shape_str(sizes), " sum to ", total,
           " but dimension ", d, " of ", shape_str(x.shape()), " has size ", x.shape()[d]);
  TensorList pieces;
  int64_t start = 0;
  for (int64_t s : sizes) {
    pieces.push_back(narrow(x, d, start, s));
    start += s;
  }
  return pieces;
}

TensorList split(const Tensor& x, int64_t split_size, int64_t dim) {
  MM_CHECK(x.defined(), Value, "split", "undefined input");
  MM_CHECK(x.dim() > 0, Shape, "split", "cannot split a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "split");
  const int64_t size = x.shape()[d];
  MM_CHECK(split_size > 0 || (split_size == 0 && size == 0), Value, "split", "split_size must be positive, got ",
           split_size, " (0 only for a dimension of size 0)");
  // torch.split: at least one piece, even of an empty dimension.
  const int64_t n = split_size == 0 ? 1 : std::max<int64_t>(1, (size + split_size - 1) / split_size);
  std::vector<int64_t> sizes(n, split_size);
  sizes.back() = size - split_size * (n - 1);
  return split(x, sizes, d);
}

TensorList chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  MM_CHECK(x.defined(), Value, "chunk", "undefined input");
  MM_CHECK(chunks > 0, Value, "chunk", "number of chunks must be positive, got ", chunks);
  MM_CHECK(x.dim() > 0, Shape, "chunk", "cannot chunk a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "chunk");
  const int64_t size = x.shape()[d];
  // As torch.chunk: an empty dimension gives `chunks` empty pieces (split would give one).
  if (size == 0) return split(x, std::vector<int64_t>(chunks, 0), d);
  return split(x, (size + chunks - 1) / chunks, d);
}

}  // namespace mm
