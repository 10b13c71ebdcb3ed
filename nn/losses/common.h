// Shared argument checks and small helpers of the contrastive losses (nn/losses/*). Internal to
// nn/losses: every loss validates its inputs here, so a wrong shape is an mm::Error that names the
// loss and the shapes it got, the same way for every loss.
#pragma once

#include <string>

#include "runtime/tensor.h"

namespace mm::nn::losses_detail {

// image and text: floating, 2-D [B, D], equal shapes, B ≥ 1, on one device.
void check_paired_embeddings(const char* loss, const Tensor& image, const Tensor& text,
                             const char* image_name = "image", const char* text_name = "text");
// A scalar parameter (logit scale, bias, temperature tensor): floating, one element, on x's device.
void check_scalar_param(const char* loss, const Tensor& p, const char* name, const Tensor& x);
// Class labels: integer dtype, shape [B], on x's device.
void check_labels(const char* loss, const Tensor& labels, int64_t batch, const Tensor& x);

// [B, B] bool, true where labels[i] == labels[j] (the diagonal included).
Tensor same_label_mask(const Tensor& labels);
// [B, B] bool identity on x's device.
Tensor eye_mask(int64_t n, const Tensor& x);
// 0..n−1 as i64 on x's device: the diagonal targets of a [B, B] similarity matrix.
Tensor diagonal_targets(int64_t n, const Tensor& x);
// A one-element tensor viewed as 0-d, so it broadcasts against anything.
Tensor as_scalar(const Tensor& p);

}  // namespace mm::nn::losses_detail
