// The multi-caption and label-based retrieval metrics (definitions in train/eval/retrieval.h).
#include "train/eval/retrieval.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <unordered_map>

#include "train/eval/scores.h"

namespace mm::train {

using eval_detail::check_embeddings;
using eval_detail::check_finite;
using eval_detail::check_index_vector;
using eval_detail::check_pair;
using eval_detail::for_each_score_row;
using eval_detail::rank_of;

namespace {

struct RankStats {
  double r1 = 0, r5 = 0, r10 = 0, mean = 0, median = 0;
};

// Recalls, mean and median of a non-empty list of ranks. Recalls are count / n and the mean is the
// integer sum / n, each one correctly rounded division, so a reference that does the same agrees
// exactly.
RankStats rank_stats(std::vector<int64_t> r) {
  MM_INTERNAL_ASSERT(!r.empty());
  RankStats s;
  const auto n = static_cast<double>(r.size());
  auto recall = [&](int64_t k) {
    return static_cast<double>(std::count_if(r.begin(), r.end(), [k](int64_t x) { return x <= k; })) / n;
  };
  s.r1 = recall(1);
  s.r5 = recall(5);
  s.r10 = recall(10);
  s.mean = static_cast<double>(std::accumulate(r.begin(), r.end(), int64_t{0})) / n;
  std::sort(r.begin(), r.end());
  const size_t m = r.size() / 2;
  s.median = r.size() % 2 ? static_cast<double>(r[m]) : static_cast<double>(r[m - 1] + r[m]) / 2.0;
  return s;
}

std::string pct(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", 100.0 * x);
  return buf;
}

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

}  // namespace

RetrievalRanks retrieval_ranks(const Tensor& image_embeds, const Tensor& text_embeds, const Tensor& text_to_image,
                               const RetrievalOptions& opts) {
  const std::string op = "retrieval";
  check_embeddings(image_embeds, op, "image_embeds");
  check_embeddings(text_embeds, op, "text_embeds");
  check_pair(image_embeds, "image_embeds", text_embeds, "text_embeds", op);
  eval_detail::check_chunk(opts.chunk_rows, op);
  const int64_t ni = image_embeds.size(0), nt = text_embeds.size(0);
  const std::vector<int64_t> t2i = check_index_vector(text_to_image, op, "text_to_image", nt,
                                                      "the image of each row of text_embeds", ni,
                                                      "a row of image_embeds");
  check_finite(image_embeds, op, "image_embeds");
  check_finite(text_embeds, op, "text_embeds");

  // The captions of each image, in increasing text index (compressed rows: captions[first[i] .. first[i+1])).
  std::vector<int64_t> first(static_cast<size_t>(ni) + 1, 0), captions(static_cast<size_t>(nt));
  for (int64_t g : t2i) ++first[static_cast<size_t>(g) + 1];
  std::partial_sum(first.begin(), first.end(), first.begin());
  std::vector<int64_t> fill(first.begin(), first.end() - 1);
  for (int64_t t = 0; t < nt; ++t) captions[static_cast<size_t>(fill[static_cast<size_t>(t2i[static_cast<size_t>(t)])]++)] = t;

  RetrievalRanks ranks;
  ranks.text_to_image.assign(static_cast<size_t>(nt), 0);
  ranks.image_to_text.assign(static_cast<size_t>(ni), 0);
  for_each_score_row(text_embeds, image_embeds, opts.chunk_rows, op, "text_embeds", "image_embeds",
                     [&](int64_t t, const auto* s, int64_t n) {
                       ranks.text_to_image[static_cast<size_t>(t)] = rank_of(s, n, t2i[static_cast<size_t>(t)]);
                     });
  for_each_score_row(image_embeds, text_embeds, opts.chunk_rows, op, "image_embeds", "text_embeds",
                     [&](int64_t i, const auto* s, int64_t n) {
                       const int64_t b = first[static_cast<size_t>(i)], e = first[static_cast<size_t>(i) + 1];
                       if (b == e) return;  // no caption: not a query (rank stays 0)
                       // The caption ranked first among the image's own is the one with the highest
                       // score, the lowest index among equals; its rank is the best rank of them all.
                       int64_t best = captions[static_cast<size_t>(b)];
                       for (int64_t k = b + 1; k < e; ++k) {
                         const int64_t c = captions[static_cast<size_t>(k)];
                         if (s[c] > s[best]) best = c;  // ascending c: equal scores keep the lower index
                       }
                       ranks.image_to_text[static_cast<size_t>(i)] = rank_of(s, n, best);
                     });
  return ranks;
}

RetrievalMetrics summarize_ranks(const RetrievalRanks& ranks) {
  MM_CHECK(!ranks.text_to_image.empty(), Value, "retrieval", "no text→image ranks to summarise");
  RetrievalMetrics m;
  m.num_images = static_cast<int64_t>(ranks.image_to_text.size());
  m.num_texts = static_cast<int64_t>(ranks.text_to_image.size());
  std::vector<int64_t> i2t;
  for (int64_t r : ranks.image_to_text)
    if (r > 0) i2t.push_back(r);
  m.images_without_captions = m.num_images - static_cast<int64_t>(i2t.size());
  MM_CHECK(!i2t.empty(), Value, "retrieval", "no image has a caption: no image→text ranks to summarise");
  const RankStats a = rank_stats(std::move(i2t)), b = rank_stats(ranks.text_to_image);
  m.i2t_r1 = a.r1, m.i2t_r5 = a.r5, m.i2t_r10 = a.r10, m.i2t_mean_rank = a.mean, m.i2t_median_rank = a.median;
  m.t2i_r1 = b.r1, m.t2i_r5 = b.r5, m.t2i_r10 = b.r10, m.t2i_mean_rank = b.mean, m.t2i_median_rank = b.median;
  m.rsum = m.i2t_r1 + m.i2t_r5 + m.i2t_r10 + m.t2i_r1 + m.t2i_r5 + m.t2i_r10;
  return m;
}

RetrievalMetrics evaluate_retrieval(const Tensor& image_embeds, const Tensor& text_embeds,
                                    const Tensor& text_to_image, const RetrievalOptions& opts) {
  return summarize_ranks(retrieval_ranks(image_embeds, text_embeds, text_to_image, opts));
}

nlohmann::json RetrievalMetrics::to_json() const {
  return {{"num_images", num_images},
          {"num_texts", num_texts},
          {"images_without_captions", images_without_captions},
          {"i2t_r1", i2t_r1},
          {"i2t_r5", i2t_r5},
          {"i2t_r10", i2t_r10},
          {"t2i_r1", t2i_r1},
          {"t2i_r5", t2i_r5},
          {"t2i_r10", t2i_r10},
          {"rsum", rsum},
          {"i2t_mean_rank", i2t_mean_rank},
          {"i2t_median_rank", i2t_median_rank},
          {"t2i_mean_rank", t2i_mean_rank},
          {"t2i_median_rank", t2i_median_rank}};
}

std::string RetrievalMetrics::str() const {
  return "i2t R@1 " + pct(i2t_r1) + " R@5 " + pct(i2t_r5) + " R@10 " + pct(i2t_r10) + " medr " +
         num(i2t_median_rank) + " meanr " + num(i2t_mean_rank) + " | t2i R@1 " + pct(t2i_r1) + " R@5 " + pct(t2i_r5) +
         " R@10 " + pct(t2i_r10) + " medr " + num(t2i_median_rank) + " meanr " + num(t2i_mean_rank) + " | rsum " +
         pct(rsum) + " (" + std::to_string(num_images) + " images, " + std::to_string(num_texts) + " texts)";
}

LabelRetrievalMetrics evaluate_label_retrieval(const Tensor& query_embeds, const Tensor& gallery_embeds,
                                               const Tensor& query_labels, const Tensor& gallery_labels,
                                               const RetrievalOptions& opts) {
  const std::string op = "label_retrieval";
  check_embeddings(query_embeds, op, "query_embeds");
  check_embeddings(gallery_embeds, op, "gallery_embeds");
  check_pair(query_embeds, "query_embeds", gallery_embeds, "gallery_embeds", op);
  eval_detail::check_chunk(opts.chunk_rows, op);
  const int64_t nq = query_embeds.size(0), ng = gallery_embeds.size(0);
  const std::vector<int64_t> ql =
      check_index_vector(query_labels, op, "query_labels", nq, "one per row of query_embeds", -1, "");
  const std::vector<int64_t> gl =
      check_index_vector(gallery_labels, op, "gallery_labels", ng, "one per row of gallery_embeds", -1, "");
  check_finite(query_embeds, op, "query_embeds");
  check_finite(gallery_embeds, op, "gallery_embeds");

  std::unordered_map<int64_t, int64_t> relevant;  // label → gallery items with it
  for (int64_t l : gl) ++relevant[l];
  std::vector<int64_t> num_rel(static_cast<size_t>(nq)), first_hit(static_cast<size_t>(nq), 0);
  std::vector<double> ap(static_cast<size_t>(nq), 0.0);
  for (int64_t q = 0; q < nq; ++q) {
    auto it = relevant.find(ql[static_cast<size_t>(q)]);
    num_rel[static_cast<size_t>(q)] = it == relevant.end() ? 0 : it->second;
  }
  for_each_score_row(query_embeds, gallery_embeds, opts.chunk_rows, op, "query_embeds", "gallery_embeds",
                     [&](int64_t q, const auto* s, int64_t n) {
                       const auto qs = static_cast<size_t>(q);
                       if (num_rel[qs] == 0) return;
                       // The gallery in rank order: score descending, index ascending among equals.
                       std::vector<int64_t> order(static_cast<size_t>(n));
                       std::iota(order.begin(), order.end(), int64_t{0});
                       std::sort(order.begin(), order.end(),
                                 [s](int64_t a, int64_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
                       int64_t hits = 0;
                       double sum = 0;
                       for (int64_t p = 1; p <= n && hits < num_rel[qs]; ++p) {
                         if (gl[static_cast<size_t>(order[static_cast<size_t>(p - 1)])] != ql[qs]) continue;
                         if (hits++ == 0) first_hit[qs] = p;
                         sum += static_cast<double>(hits) / static_cast<double>(p);
                       }
                       ap[qs] = sum / static_cast<double>(num_rel[qs]);
                     });
  LabelRetrievalMetrics m;
  m.num_queries = nq;
  m.num_gallery = ng;
  int64_t valid = 0, h1 = 0, h5 = 0, h10 = 0;
  double ap_sum = 0;
  for (int64_t q = 0; q < nq; ++q) {
    const auto qs = static_cast<size_t>(q);
    if (num_rel[qs] == 0) continue;
    ++valid;
    h1 += first_hit[qs] <= 1;
    h5 += first_hit[qs] <= 5;
    h10 += first_hit[qs] <= 10;
    ap_sum += ap[qs];  // in query order: a reference summing in the same order agrees exactly
  }
  m.queries_without_relevant = nq - valid;
  MM_CHECK(valid > 0, Value, op, "no query label occurs in gallery_labels: nothing is relevant to any query");
  const auto v = static_cast<double>(valid);
  m.r1 = static_cast<double>(h1) / v;
  m.r5 = static_cast<double>(h5) / v;
  m.r10 = static_cast<double>(h10) / v;
  m.map = ap_sum / v;
  return m;
}

nlohmann::json LabelRetrievalMetrics::to_json() const {
  return {{"num_queries", num_queries}, {"num_gallery", num_gallery}, {"queries_without_relevant", queries_without_relevant},
          {"r1", r1}, {"r5", r5}, {"r10", r10}, {"map", map}};
}

std::string LabelRetrievalMetrics::str() const {
  return "R@1 " + pct(r1) + " R@5 " + pct(r5) + " R@10 " + pct(r10) + " mAP " + pct(map) + " (" +
         std::to_string(num_queries - queries_without_relevant) + " queries, " + std::to_string(num_gallery) +
         " gallery items)";
}

}  // namespace mm::train
