// Input checks for the evaluation metrics, and the unit-norm report (train/eval/scores.h, retrieval.h).
#include "train/eval/scores.h"

#include <algorithm>
#include <cmath>

#include "train/eval/retrieval.h"

namespace mm::train::eval_detail {

namespace {

constexpr int64_t kScanRows = 1024;  // rows copied to the host at a time when scanning embeddings

// Calls f(row, values, d) for every row of a checked [N, d] tensor, kScanRows rows on the host at a time.
template <typename F>
void for_each_host_row(const Tensor& t, F&& f) {
  const int64_t n = t.size(0), d = t.size(1);
  for (int64_t r0 = 0; r0 < n; r0 += kScanRows) {
    const int64_t r1 = std::min(n, r0 + kScanRows);
    const Tensor block = ops::contiguous(ops::to_device(ops::slice(t, 0, r0, r1), kCPU));
    auto run = [&](const auto* p) {
      for (int64_t r = r0; r < r1; ++r) f(r, p + (r - r0) * d, d);
    };
    if (block.dtype() == DType::F32) {
      run(block.data<float>());
    } else {
      run(block.data<double>());
    }
  }
}

}  // namespace

void check_embeddings(const Tensor& t, const std::string& op, const std::string& name) {
  MM_CHECK(t.defined(), Value, op, name, " is undefined");
  MM_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64, DType, op, name, " must be f32 or f64, got ",
           dtype_name(t.dtype()));
  MM_CHECK(t.dim() == 2, Shape, op, name, " must be 2-D [N, d], got ", shape_str(t.shape()));
  MM_CHECK(t.size(0) >= 1, Shape, op, name, " has no rows: ", shape_str(t.shape()));
  MM_CHECK(t.size(1) >= 1, Shape, op, name, " has zero width: ", shape_str(t.shape()));
}

void check_finite(const Tensor& t, const std::string& op, const std::string& name, int64_t group) {
  for_each_host_row(t, [&](int64_t r, const auto* p, int64_t d) {
    for (int64_t c = 0; c < d; ++c) {
      if (std::isfinite(p[c])) continue;
      const std::string row = group > 0 ? detail::concat("[", r / group, ", ", r % group, "]") : detail::concat(" row ", r);
      fail(ErrorKind::Value, op, name, row, ", column ", c, " is ", static_cast<double>(p[c]),
           ": embeddings must be finite");
    }
  });
}

void check_pair(const Tensor& q, const std::string& qname, const Tensor& g, const std::string& gname,
                const std::string& op) {
  MM_CHECK(q.size(1) == g.size(1), Shape, op, qname, " ", shape_str(q.shape()), " and ", gname, " ",
           shape_str(g.shape()), " differ in width");
  MM_CHECK(q.dtype() == g.dtype(), DType, op, qname, " is ", dtype_name(q.dtype()), " but ", gname, " is ",
           dtype_name(g.dtype()));
  MM_CHECK(q.device() == g.device(), Device, op, qname, " is on ", q.device().str(), " but ", gname, " is on ",
           g.device().str());
}

std::vector<int64_t> check_index_vector(const Tensor& t, const std::string& op, const std::string& name, int64_t len,
                                        const std::string& len_what, int64_t bound, const std::string& bound_what) {
  MM_CHECK(t.defined(), Value, op, name, " is undefined");
  MM_CHECK(t.dtype() == DType::I64, DType, op, name, " must be i64, got ", dtype_name(t.dtype()));
  MM_CHECK(t.dim() == 1 && t.size(0) == len, Shape, op, name, " must be [", len, "] (", len_what, "), got ",
           shape_str(t.shape()));
  const Tensor host = ops::contiguous(ops::to_device(t, kCPU));
  const int64_t* p = host.data<int64_t>();
  std::vector<int64_t> v(p, p + len);
  if (bound >= 0)
    for (int64_t i = 0; i < len; ++i)
      MM_CHECK(v[static_cast<size_t>(i)] >= 0 && v[static_cast<size_t>(i)] < bound, Index, op, name, "[", i,
               "] = ", v[static_cast<size_t>(i)], " is out of range [0, ", bound, ") (", bound_what, ")");
  return v;
}

void check_chunk(int64_t chunk_rows, const std::string& op) {
  MM_CHECK(chunk_rows >= 1, Value, op, "chunk_rows must be at least 1, got ", chunk_rows);
}

void fail_nonfinite_score(const std::string& op, const std::string& qname, int64_t q, const std::string& gname,
                          int64_t g) {
  fail(ErrorKind::Value, op, "the score of ", qname, " row ", q, " and ", gname, " row ", g,
       " is not finite although both rows are (a dot product overflowed: are the embeddings normalised?)");
}

}  // namespace mm::train::eval_detail

namespace mm::train {

UnitNormReport unit_norm_report(const Tensor& embeds, double tol) {
  MM_CHECK(embeds.defined() && embeds.dim() == 2 && (embeds.dtype() == DType::F32 || embeds.dtype() == DType::F64),
           Value, "unit_norm_report", "expects an f32/f64 [N, d] tensor");
  UnitNormReport rep;
  double worst = -1;
  eval_detail::for_each_host_row(embeds, [&](int64_t r, const auto* p, int64_t d) {
    double ss = 0;
    for (int64_t c = 0; c < d; ++c) ss += static_cast<double>(p[c]) * static_cast<double>(p[c]);
    const double norm = std::sqrt(ss), off = std::abs(norm - 1.0);
    // !(off <= tol) also counts a NaN norm as off.
    if (!(off <= tol)) ++rep.rows_off;
    const double key = std::isnan(off) ? INFINITY : off;
    if (key > worst) {
      worst = key;
      rep.worst_row = r;
      rep.worst_norm = norm;
    }
  });
  return rep;
}

}  // namespace mm::train
