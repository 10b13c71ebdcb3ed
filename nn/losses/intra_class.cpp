#include "nn/losses/intra_class.h"

#include "autograd/functions.h"
#include "nn/losses/common.h"

namespace mm::nn {

using namespace losses_detail;

Tensor intra_class_loss(const Tensor& x, const Tensor& labels) {
  const char* op = "intra_class_loss";
  MM_CHECK(x.defined() && x.dim() == 2 && x.size(0) > 0, Shape, op, "x must be [N, D] with N ≥ 1, got ",
           x.defined() ? shape_str(x.shape()) : std::string("undefined"));
  MM_CHECK(is_floating(x.dtype()), DType, op, "x must be floating, got ", dtype_name(x.dtype()));
  check_labels(op, labels, x.size(0), x);
  const int64_t n = x.size(0);
  Tensor sq_norm = sum(square(x), {1}, /*keepdim=*/true);  // [N, 1]
  Tensor dist = sub(add(sq_norm, transpose(sq_norm, 0, 1)), mul(matmul(x, transpose(x, 0, 1)), 2.0));
  // Same label, off the diagonal (the diagonal's distance is 0 mathematically, but not exactly in
  // the expanded form, and it is not a pair).
  Tensor pairs = logical_and(same_label_mask(labels), logical_not(eye_mask(n, x)));
  Tensor total = sum(where(pairs, dist, 0.0));
  // Divide on the device (no host sync): max(#pairs, 1) turns "no pairs" into 0 / 1 = 0.
  Tensor count = clamp_min(sum(to(pairs, x.dtype())), 1.0);
  return div(total, count);
}

}  // namespace mm::nn
