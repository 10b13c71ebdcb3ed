#include "nn/losses/pair.h"

#include "autograd/functions.h"
#include "nn/losses/common.h"
#include "ops/common/broadcast.h"

namespace mm::nn {

namespace {

Tensor reduce(const Tensor& per_item, Reduction r) {
  switch (r) {
    case Reduction::None: return per_item;
    case Reduction::Sum: return sum(per_item);
    case Reduction::Mean: return mean(per_item);
  }
  fail(ErrorKind::Value, "loss", "unknown reduction ", static_cast<int>(r));
}

}  // namespace

Tensor contrastive_pair_loss(const Tensor& x1, const Tensor& x2, const Tensor& y, double margin, Reduction reduction) {
  const char* op = "contrastive_pair_loss";
  losses_detail::check_paired_embeddings(op, x1, x2, "x1", "x2");
  MM_CHECK(y.defined(), Value, op, "y is undefined");
  MM_CHECK(y.dim() == 1 && y.size(0) == x1.size(0), Shape, op, "y must be [N] (one label per pair), got y ",
           shape_str(y.shape()), " for x1 ", shape_str(x1.shape()), " and x2 ", shape_str(x2.shape()));
  MM_CHECK(y.device() == x1.device(), Device, op, "y is not on the embeddings' device");
  MM_CHECK(margin >= 0, Value, op, "margin must be non-negative, got ", margin);
  Tensor diff = sub(x1, x2);
  Tensor sq = sum(square(diff), {1});  // D²
  Tensor d = norm(diff, 2.0, {1});     // D (gradient 0 at D = 0, where the hinge term is flat anyway)
  Tensor label = to(y, x1.dtype());
  Tensor positive = mul(1.0 - label, mul(sq, 0.5));
  Tensor negative = mul(label, mul(square(relu(margin - d)), 0.5));
  return reduce(add(positive, negative), reduction);
}

Tensor margin_ranking_loss(const Tensor& x1, const Tensor& x2, const Tensor& y, double margin, Reduction reduction) {
  const char* op = "margin_ranking_loss";
  MM_CHECK(x1.defined() && x2.defined() && y.defined(), Value, op, "x1, x2 and y must be defined");
  MM_CHECK(x1.dim() == x2.dim() && x1.dim() == y.dim(), Shape, op,
           "x1, x2 and y must have the same number of dimensions (PyTorch's rule), got x1 ", shape_str(x1.shape()),
           ", x2 ", shape_str(x2.shape()), " and y ", shape_str(y.shape()));
  MM_CHECK(is_floating(x1.dtype()) && is_floating(x2.dtype()), DType, op, "x1 and x2 must be floating, got ",
           dtype_name(x1.dtype()), " and ", dtype_name(x2.dtype()));
  // The broadcast check here so a mismatch names this loss rather than the subtraction inside it.
  broadcast_shapes(broadcast_shapes(x1.shape(), x2.shape(), op), y.shape(), op);
  Tensor label = is_floating(y.dtype()) ? y : to(y, x1.dtype());
  return reduce(relu(add(neg(mul(label, sub(x1, x2))), margin)), reduction);
}

}  // namespace mm::nn
