// Retrieval and zero-shot evaluation from embeddings (SPEC §7 "Evaluation").
//
// Inputs are embedding matrices [N, d], f32 or f64, on the CPU or a CUDA device (query and gallery on
// the same device, same dtype). They are used as given: the score of a pair is the dot product of their
// rows, which is the cosine similarity only when the caller has L2-normalised them (mmalign embed
// does). Every value must be finite: a NaN or Inf is an mm::Error naming the tensor, row and column.
//
// Scores are computed CHUNK query rows at a time with ops::matmul (RetrievalOptions::chunk_rows), so
// memory stays O(chunk × N) and the full score matrix is never built. The result does not depend on
// the chunk size as long as ops::matmul gives a row the same bits whatever the number of rows beside
// it (true of the CPU backend, OpenBLAS, which the tests check; cuBLAS may pick another algorithm for
// another shape, so on CUDA scores that differ in the last bits could compare differently).
//
// RANK. For a query with score s_j for each gallery candidate j and true candidate t:
//     rank(t) = 1 + #{ j : s_j > s_t } + #{ j < t : s_j == s_t }
// i.e. the 1-based position of t when candidates are sorted by score, highest first, and candidates
// with equal scores are sorted by their index, lowest first ("ties broken by index"): a tied candidate
// with a lower index is ranked ahead of t, one with a higher index behind it.
//
// MULTI-CAPTION PROTOCOL (5k images / 25k captions; image_embeds [Ni, d], text_embeds [Nt, d],
// text_to_image [Nt] i64: the image each caption describes, any order, several captions per image):
//   text→image: the query is a caption, the candidates are the Ni images, t = its image.
//   image→text: the query is an image, the candidates are the Nt captions; its rank is the best (lowest)
//               rank among its own captions (the hit@K rule "any of its captions in the top K").
//   R@K = #{queries with rank <= K} / #queries (a fraction in [0, 1]); R-sum = the sum of the six
//   (i2t R@1, R@5, R@10, t2i R@1, R@5, R@10 in that order; at most 6). Mean rank = the mean of the
//   ranks; median rank = numpy's median (the mean of the two middle ranks when the count is even).
//   An image no caption points to is a candidate for text→image but not an image→text query: it is
//   left out of the image→text figures and counted in images_without_captions (its rank is reported
//   as 0).
//
// LABEL-BASED (CUHK-PEDES; text queries, image gallery, identity labels): gallery item j is relevant to
// query q when gallery_labels[j] == query_labels[q]. With the gallery sorted as above (score
// descending, index ascending), R@K = fraction of queries with a relevant item in the top K; AP =
// (1/R) Σ_{k=1..R} k / pos_k, pos_k being the position of the k-th relevant item and R their number;
// mAP = the mean of AP over queries. A query with no relevant gallery item is left out of R@K and mAP
// and counted in queries_without_relevant (if no query has one, that is an error).
//
// ZERO-SHOT: a class embedding is the L2-normalised mean of its L2-normalised prompt-template
// embeddings; an image is correct at top-K when its class's rank (the rule above, classes as
// candidates) is <= K.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace mm::train {

struct RetrievalOptions {
  int64_t chunk_rows = 1024;  // query rows scored per GEMM: memory O(chunk_rows × gallery size)
};

// Per-query ranks of the multi-caption protocol (the rule in the header comment).
struct RetrievalRanks {
  std::vector<int64_t> image_to_text;  // [Ni]: best rank among the image's captions; 0 when it has none
  std::vector<int64_t> text_to_image;  // [Nt]: rank of the caption's image
};

struct RetrievalMetrics {
  int64_t num_images = 0, num_texts = 0;
  int64_t images_without_captions = 0;  // left out of the image→text figures
  double i2t_r1 = 0, i2t_r5 = 0, i2t_r10 = 0;  // fractions in [0, 1]
  double t2i_r1 = 0, t2i_r5 = 0, t2i_r10 = 0;
  double rsum = 0;  // sum of the six recalls, in [0, 6]
  double i2t_mean_rank = 0, i2t_median_rank = 0, t2i_mean_rank = 0, t2i_median_rank = 0;

  // Flat object with the field names above (recalls as fractions).
  nlohmann::json to_json() const;
  // One line, recalls in percent: "i2t R@1 45.20 R@5 ... | t2i ... | rsum 312.40 | ...".
  std::string str() const;
};

RetrievalRanks retrieval_ranks(const Tensor& image_embeds, const Tensor& text_embeds, const Tensor& text_to_image,
                               const RetrievalOptions& opts = {});
RetrievalMetrics summarize_ranks(const RetrievalRanks& ranks);
// retrieval_ranks followed by summarize_ranks.
RetrievalMetrics evaluate_retrieval(const Tensor& image_embeds, const Tensor& text_embeds,
                                    const Tensor& text_to_image, const RetrievalOptions& opts = {});
// The same metrics from a full score matrix [Ni, Nt] (f32/f64, image rows, text columns), for heads
// whose scores do not factor into embeddings (a cross-attention rung used as a cross-encoder:
// DualEncoder::pair_scores). Same rank rule and multi-caption protocol.
RetrievalMetrics evaluate_retrieval_scores(const Tensor& scores, const Tensor& text_to_image);

struct LabelRetrievalMetrics {
  int64_t num_queries = 0, num_gallery = 0;
  int64_t queries_without_relevant = 0;  // left out of every figure below
  double r1 = 0, r5 = 0, r10 = 0;        // fractions in [0, 1]
  double map = 0;                        // mean average precision in [0, 1]

  nlohmann::json to_json() const;
  std::string str() const;  // percent
};

// query_embeds [Nq, d], gallery_embeds [Ng, d]; query_labels [Nq] i64, gallery_labels [Ng] i64.
LabelRetrievalMetrics evaluate_label_retrieval(const Tensor& query_embeds, const Tensor& gallery_embeds,
                                               const Tensor& query_labels, const Tensor& gallery_labels,
                                               const RetrievalOptions& opts = {});

// prompt_embeds [C, P, d] (P prompt templates for each of C classes), f32/f64, any device → [C, d]
// class embeddings (same dtype and device).
Tensor zero_shot_classifier(const Tensor& prompt_embeds);

struct ZeroShotAccuracy {
  int64_t num_images = 0, num_classes = 0;
  double top1 = 0, top5 = 0;  // fractions in [0, 1]

  nlohmann::json to_json() const;
  std::string str() const;  // percent
};

// image_embeds [N, d], class_embeds [C, d], labels [N] i64 in [0, C).
ZeroShotAccuracy zero_shot_accuracy(const Tensor& image_embeds, const Tensor& class_embeds, const Tensor& labels,
                                    const RetrievalOptions& opts = {});

// How far the rows of `embeds` ([N, d], f32/f64) are from unit L2 norm: for the eval command's warning
// that dot products are not cosines. No finiteness check (evaluate_* do that).
struct UnitNormReport {
  int64_t rows_off = 0;     // rows with |‖x‖ − 1| > tol
  int64_t worst_row = -1;   // the row farthest from 1 (-1 when N == 0)
  double worst_norm = 1.0;  // its norm
};
UnitNormReport unit_norm_report(const Tensor& embeds, double tol = 1e-3);

}  // namespace mm::train
