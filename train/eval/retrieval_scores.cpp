// Retrieval metrics from a full score matrix (train/eval/retrieval.h).
#include "ops/copy.h"
#include "train/eval/retrieval.h"
#include "train/eval/scores.h"

namespace mm::train {

RetrievalMetrics evaluate_retrieval_scores(const Tensor& scores, const Tensor& text_to_image) {
  const std::string op = "retrieval";
  MM_CHECK(scores.defined() && scores.dim() == 2 && scores.numel() > 0, Shape, op,
           "scores must be a non-empty [images, texts] matrix");
  const int64_t ni = scores.size(0), nt = scores.size(1);
  const std::vector<int64_t> t2i = eval_detail::check_index_vector(text_to_image, op, "text_to_image", nt,
                                                                   "the image of each column of scores", ni,
                                                                   "a row of scores");
  eval_detail::check_finite(scores, op, "scores");
  const std::vector<double> s = ops::to_dtype(scores, DType::F64).to_double_vector();  // row-major [ni, nt]
  RetrievalRanks ranks;
  ranks.image_to_text.assign(static_cast<size_t>(ni), 0);
  ranks.text_to_image.assign(static_cast<size_t>(nt), 0);
  std::vector<double> column(static_cast<size_t>(ni));
  for (int64_t t = 0; t < nt; ++t) {
    for (int64_t i = 0; i < ni; ++i) column[static_cast<size_t>(i)] = s[static_cast<size_t>(i * nt + t)];
    ranks.text_to_image[static_cast<size_t>(t)] = eval_detail::rank_of(column.data(), ni, t2i[static_cast<size_t>(t)]);
  }
  for (int64_t i = 0; i < ni; ++i) {
    const double* row = s.data() + i * nt;
    int64_t best = -1;  // the image's own caption ranked first: highest score, lowest index among equals
    for (int64_t t = 0; t < nt; ++t)
      if (t2i[static_cast<size_t>(t)] == i && (best < 0 || row[t] > row[best])) best = t;
    if (best >= 0) ranks.image_to_text[static_cast<size_t>(i)] = eval_detail::rank_of(row, nt, best);
  }
  return summarize_ranks(ranks);
}

}  // namespace mm::train
