#include "nn/losses/common.h"

#include "autograd/functions.h"

namespace mm::nn::losses_detail {

void check_paired_embeddings(const char* loss, const Tensor& image, const Tensor& text, const char* image_name,
                             const char* text_name) {
  MM_CHECK(image.defined() && text.defined(), Value, loss, image_name, " and ", text_name, " must be defined");
  MM_CHECK(is_floating(image.dtype()) && is_floating(text.dtype()), DType, loss, image_name, " and ", text_name,
           " must be floating, got ", dtype_name(image.dtype()), " and ", dtype_name(text.dtype()));
  MM_CHECK(image.dim() == 2 && text.dim() == 2 && image.shape() == text.shape() && image.size(0) > 0, Shape, loss,
           image_name, " and ", text_name, " must be [B, D] with the same shape and B ≥ 1, got ", image_name, " ",
           shape_str(image.shape()), " and ", text_name, " ", shape_str(text.shape()));
  MM_CHECK(image.device() == text.device(), Device, loss, image_name, " and ", text_name,
           " are on different devices");
}

void check_scalar_param(const char* loss, const Tensor& p, const char* name, const Tensor& x) {
  MM_CHECK(p.defined(), Value, loss, name, " is undefined");
  MM_CHECK(is_floating(p.dtype()), DType, loss, name, " must be floating, got ", dtype_name(p.dtype()));
  MM_CHECK(p.numel() == 1, Shape, loss, name, " must hold one value (shape [] or [1]), got ", shape_str(p.shape()));
  MM_CHECK(p.device() == x.device(), Device, loss, name, " is not on the embeddings' device");
}

void check_labels(const char* loss, const Tensor& labels, int64_t batch, const Tensor& x) {
  MM_CHECK(labels.defined(), Value, loss, "labels are undefined");
  MM_CHECK(!is_floating(labels.dtype()) && labels.dtype() != DType::Bool, DType, loss,
           "labels must have an integer dtype, got ", dtype_name(labels.dtype()));
  MM_CHECK(labels.dim() == 1 && labels.size(0) == batch, Shape, loss, "labels must be [", batch,
           "] (one per embedding row), got ", shape_str(labels.shape()), " for embeddings ", shape_str(x.shape()));
  MM_CHECK(labels.device() == x.device(), Device, loss, "labels are not on the embeddings' device");
}

Tensor same_label_mask(const Tensor& labels) { return eq(unsqueeze(labels, 1), unsqueeze(labels, 0)); }

Tensor eye_mask(int64_t n, const Tensor& x) { return eye(n, n, DType::Bool, x.device()); }

Tensor diagonal_targets(int64_t n, const Tensor& x) { return arange(0, static_cast<double>(n), 1, DType::I64, x.device()); }

Tensor as_scalar(const Tensor& p) { return p.dim() == 0 ? p : reshape(p, {}); }

}  // namespace mm::nn::losses_detail
