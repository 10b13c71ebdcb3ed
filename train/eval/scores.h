// Internal to train/eval: input checks shared by the retrieval and zero-shot metrics, and the chunked
// score loop every metric is built on.
//
// for_each_score_row computes query @ galleryᵀ CHUNK rows at a time with ops::matmul (on the inputs'
// device, in their dtype), copies each [chunk, Ng] block to the host and hands every row to a callback,
// rows in parallel. Memory stays O(chunk × Ng); the full score matrix never exists. A row's scores all
// come from one GEMM call, so a candidate and the true item are always compared on the same footing.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ops/copy.h"
#include "ops/linalg.h"
#include "ops/shape.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/tensor.h"

namespace mm::train::eval_detail {

// `t` must be a 2-D f32/f64 tensor [N, d] with N >= 1 and d >= 1. Errors name `op` and the argument.
void check_embeddings(const Tensor& t, const std::string& op, const std::string& name);

// Every value of a checked [N, d] tensor must be finite; the error names the tensor, the row and the
// column. With group > 0 the rows are [N / group, group] flattened and a row is named "name[i, k]".
void check_finite(const Tensor& t, const std::string& op, const std::string& name, int64_t group = 0);

// Query and gallery embeddings must agree in width, dtype and device.
void check_pair(const Tensor& q, const std::string& qname, const Tensor& g, const std::string& gname,
                const std::string& op);

// `t` must be a 1-D i64 tensor of `len` values (len_what says why: "one per row of text_embeds"),
// each in [0, bound) when bound >= 0. Returns the values on the host.
std::vector<int64_t> check_index_vector(const Tensor& t, const std::string& op, const std::string& name, int64_t len,
                                        const std::string& len_what, int64_t bound, const std::string& bound_what);

// The chunk size must be positive.
void check_chunk(int64_t chunk_rows, const std::string& op);

// [[noreturn]] report of a non-finite score (finite embeddings whose dot product overflows).
[[noreturn]] void fail_nonfinite_score(const std::string& op, const std::string& qname, int64_t q,
                                       const std::string& gname, int64_t g);

// Calls f(q, row, ng) for every query row q, row pointing at the ng scores of q against the gallery
// (type float or double: the inputs' dtype), several rows at once on the CPU threads, so f must only
// write state owned by q, and must not throw. Inputs must have passed check_embeddings / check_pair.
template <typename F>
void for_each_score_row(const Tensor& query, const Tensor& gallery, int64_t chunk_rows, const std::string& op,
                        const std::string& qname, const std::string& gname, F&& f) {
  check_chunk(chunk_rows, op);
  const int64_t nq = query.size(0), ng = gallery.size(0);
  const Tensor gt = ops::transpose(gallery, 0, 1);  // a view: BLAS reads it transposed, no copy
  for (int64_t q0 = 0; q0 < nq; q0 += chunk_rows) {
    const int64_t q1 = std::min(nq, q0 + chunk_rows);
    const Tensor block = ops::contiguous(ops::to_device(ops::matmul(ops::slice(query, 0, q0, q1), gt), kCPU));
    // A row with a non-finite score records its first bad column; the throw happens outside the
    // parallel region (an exception may not cross an OpenMP region).
    std::vector<int64_t> bad(static_cast<size_t>(q1 - q0), -1);
    auto run = [&](auto* base) {
      parallel_for(0, q1 - q0, 1, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const auto* row = base + r * ng;
          int64_t j = 0;
          while (j < ng && std::isfinite(row[j])) ++j;
          if (j < ng) {
            bad[static_cast<size_t>(r)] = j;
            continue;
          }
          f(q0 + r, row, ng);
        }
      });
    };
    if (block.dtype() == DType::F32) {
      run(block.data<float>());
    } else {
      run(block.data<double>());
    }
    for (int64_t r = 0; r < q1 - q0; ++r)
      if (bad[static_cast<size_t>(r)] >= 0) fail_nonfinite_score(op, qname, q0 + r, gname, bad[static_cast<size_t>(r)]);
  }
}

// 1 + #{j : s_j > s_t} + #{j < t : s_j == s_t}: the position of candidate t when the candidates are
// ordered by score, highest first, ties in index order.
template <typename T>
int64_t rank_of(const T* s, int64_t n, int64_t t) {
  const T st = s[t];
  int64_t rank = 1;
  for (int64_t j = 0; j < t; ++j) rank += s[j] >= st;
  for (int64_t j = t + 1; j < n; ++j) rank += s[j] > st;
  return rank;
}

}  // namespace mm::train::eval_detail
