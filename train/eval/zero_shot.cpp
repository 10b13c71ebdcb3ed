// Zero-shot classification from embeddings (definitions in train/eval/retrieval.h).
#include <nlohmann/json.hpp>

#include <cstdio>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "train/eval/retrieval.h"
#include "train/eval/scores.h"

namespace mm::train {

Tensor zero_shot_classifier(const Tensor& prompt_embeds) {
  const std::string op = "zero_shot_classifier";
  MM_CHECK(prompt_embeds.defined(), Value, op, "prompt_embeds is undefined");
  MM_CHECK(prompt_embeds.dtype() == DType::F32 || prompt_embeds.dtype() == DType::F64, DType, op,
           "prompt_embeds must be f32 or f64, got ", dtype_name(prompt_embeds.dtype()));
  MM_CHECK(prompt_embeds.dim() == 3 && prompt_embeds.numel() > 0, Shape, op,
           "prompt_embeds must be [classes, templates, d] with no zero size, got ", shape_str(prompt_embeds.shape()));
  const int64_t c = prompt_embeds.size(0), p = prompt_embeds.size(1), d = prompt_embeds.size(2);
  eval_detail::check_finite(ops::reshape(prompt_embeds, {c * p, d}), op, "prompt_embeds", p);
  NoGradGuard no_grad;
  // normalize divides by max(‖x‖, 1e-12): an all-zero prompt embedding contributes zeros, not NaN.
  return normalize(mean(normalize(prompt_embeds, 2.0, 2), {1}), 2.0, 1);
}

ZeroShotAccuracy zero_shot_accuracy(const Tensor& image_embeds, const Tensor& class_embeds, const Tensor& labels,
                                    const RetrievalOptions& opts) {
  const std::string op = "zero_shot_accuracy";
  eval_detail::check_embeddings(image_embeds, op, "image_embeds");
  eval_detail::check_embeddings(class_embeds, op, "class_embeds");
  eval_detail::check_pair(image_embeds, "image_embeds", class_embeds, "class_embeds", op);
  eval_detail::check_chunk(opts.chunk_rows, op);
  const int64_t n = image_embeds.size(0), nc = class_embeds.size(0);
  const std::vector<int64_t> y = eval_detail::check_index_vector(labels, op, "labels", n, "one per row of image_embeds",
                                                                 nc, "a row of class_embeds");
  eval_detail::check_finite(image_embeds, op, "image_embeds");
  eval_detail::check_finite(class_embeds, op, "class_embeds");
  std::vector<int64_t> rank(static_cast<size_t>(n));
  eval_detail::for_each_score_row(image_embeds, class_embeds, opts.chunk_rows, op, "image_embeds", "class_embeds",
                                  [&](int64_t i, const auto* s, int64_t m) {
                                    rank[static_cast<size_t>(i)] = eval_detail::rank_of(s, m, y[static_cast<size_t>(i)]);
                                  });
  ZeroShotAccuracy a;
  a.num_images = n;
  a.num_classes = nc;
  int64_t top1 = 0, top5 = 0;
  for (int64_t r : rank) {
    top1 += r <= 1;
    top5 += r <= 5;
  }
  a.top1 = static_cast<double>(top1) / static_cast<double>(n);
  a.top5 = static_cast<double>(top5) / static_cast<double>(n);
  return a;
}

nlohmann::json ZeroShotAccuracy::to_json() const {
  return {{"num_images", num_images}, {"num_classes", num_classes}, {"top1", top1}, {"top5", top5}};
}

std::string ZeroShotAccuracy::str() const {
  char buf[128];
  std::snprintf(buf, sizeof buf, "top-1 %.2f top-5 %.2f (%lld images, %lld classes)", 100.0 * top1, 100.0 * top5,
                static_cast<long long>(num_images), static_cast<long long>(num_classes));
  return buf;
}

}  // namespace mm::train
