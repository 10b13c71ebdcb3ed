// Indexing ops and their gradients. Every backward is a scatter or a gather of the incoming
// gradient with the forward's index, which the forward already range-checked (hence the
// *_prechecked calls: no second host-side scan).
#include "autograd/grad/index.h"

#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/shape.h"

namespace mm {

namespace {
// The starting tensor of a scatter-based backward: a broadcast 0 (stride 0, no memory). The scatter
// copies its input into a fresh output anyway, so this costs one pass over the result instead of two
// (materialised zeros, then that copy).
Tensor zeros_view(const Shape& shape, const Tensor& like) {
  return ops::expand(ops::scalar_tensor(0.0, like.dtype(), like.device()), shape);
}
}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor y = ops::index_select(x, dim, index);
  if (needs_grad({x}))
    record("index_select", {x}, {y}, [dim, index = saved(index), shape = x.shape()](const GradContext& c) {
      // Each selected slice's gradient goes back to the slice it came from; repeated indices add up.
      const Tensor& g = c.grad();
      return TensorList{ops::detail::index_add_prechecked(zeros_view(shape, g), dim, index, g)};
    });
  return y;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor y = ops::gather(x, dim, index);
  if (needs_grad({x}))
    record("gather", {x}, {y}, [dim, index = saved(index), shape = x.shape()](const GradContext& c) {
      const Tensor& g = c.grad();
      return TensorList{ops::detail::scatter_add_prechecked(zeros_view(shape, g), dim, index, g)};
    });
  return y;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor y = ops::scatter_add(x, dim, index, src);
  if (needs_grad({x, src}))
    record("scatter_add", {x, src}, {y}, [dim, index = saved(index), src_shape = src.shape()](const GradContext& c) {
      const Tensor& g = c.grad();
      Tensor gx = c.needs_grad(0) ? g : Tensor();  // y = x + (scattered src)
      Tensor gs;
      if (c.needs_grad(1)) {
        // src[i] went to y[index-position of i]: its gradient is read back from there.
        gs = ops::detail::gather_prechecked(g, dim, index);
        if (gs.shape() != src_shape) {
          // index smaller than src: the elements of src it never read get a zero gradient.
          Tensor full = ops::zeros(src_shape, g.dtype(), g.device());
          Tensor region = full;
          for (int64_t d = 0; d < gs.dim(); ++d) region = ops::slice(region, d, 0, gs.size(d));
          ops::copy_(region, gs);
          gs = full;
        }
      }
      return TensorList{gx, gs};
    });
  return y;
}

Tensor one_hot(const Tensor& index, int64_t num_classes) { return ops::one_hot(index, num_classes); }

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  return ops::topk(x, k, dim, largest, sorted);
}

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending) { return ops::sort(x, dim, descending); }

Tensor argsort(const Tensor& x, int64_t dim, bool descending) { return ops::argsort(x, dim, descending); }

// Composite: index_select of the flattened ids, reshaped. It records its own node (rather than
// index_select's) so that the padding row's gradient can be kept at zero.
Tensor embedding(const Tensor& weight, const Tensor& ids, int64_t padding_idx) {
  const char* op = "embedding";
  MM_CHECK(weight.defined() && ids.defined(), Value, op, "undefined weight or ids");
  MM_CHECK(weight.dim() == 2, Shape, op, "weight must be 2-D [num_embeddings, embedding_dim], got ",
           shape_str(weight.shape()));
  MM_CHECK(ids.dtype() == DType::I64 || ids.dtype() == DType::I32, DType, op, "ids must be i64 or i32, got ",
           dtype_name(ids.dtype()));
  int64_t rows = weight.size(0), width = weight.size(1);
  MM_CHECK(padding_idx == -1 || (padding_idx >= 0 && padding_idx < rows), Index, op, "padding_idx ", padding_idx,
           " is out of range for ", rows, " embeddings (-1 means none)");
  Tensor flat = ops::reshape(ids, {ids.numel()});
  ops::check_index_range(flat, rows, op, 0);  // so a bad id is reported as embedding's
  Tensor looked_up = ops::detail::index_select_prechecked(weight, 0, flat);
  Shape out_shape = ids.shape();
  out_shape.push_back(width);
  Tensor y = ops::reshape(looked_up, out_shape);
  if (needs_grad({weight}))
    record("embedding", {weight}, {y}, [flat = saved(flat), padding_idx, rows, width](const GradContext& c) {
      Tensor g = ops::reshape(c.grad(), {flat.numel(), width});
      if (padding_idx >= 0) {
        // Lookups of the padding id contribute nothing: zero their gradient rows before adding up.
        Tensor pad = ops::scalar_tensor(static_cast<double>(padding_idx), flat.dtype(), flat.device());
        Tensor keep = ops::reshape(ops::compare(OpId::ne, flat, pad), {flat.numel(), 1});
        g = ops::where(keep, g, ops::scalar_tensor(0.0, g.dtype(), g.device()));
      }
      return TensorList{ops::detail::index_add_prechecked(zeros_view({rows, width}, g), 0, flat, g)};
    });
  return y;
}

}  // namespace mm
