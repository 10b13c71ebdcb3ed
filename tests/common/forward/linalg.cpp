// Forward cases of matmul, bmm, linear and addmm, against a naive triple loop in double.
#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

// torch.matmul on host tensors, written out: 1-D promotion, broadcast batch dims, triple loop.
Ref matmul_ref(const HostTensor& a, const HostTensor& b, double alpha = 1.0) {
  Shape sa = a.shape, sb = b.shape;
  const bool a1 = sa.size() == 1, b1 = sb.size() == 1;
  if (a1) sa.insert(sa.begin(), 1);
  if (b1) sb.push_back(1);
  const int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  const size_t nb = std::max(ba.size(), bb.size());
  while (ba.size() < nb) ba.insert(ba.begin(), 1);
  while (bb.size() < nb) bb.insert(bb.begin(), 1);
  Shape batch(nb);
  for (size_t i = 0; i < nb; ++i) batch[i] = ba[i] == 1 ? bb[i] : ba[i];
  Ref r;
  r.shape = batch;
  if (!a1) r.shape.push_back(M);
  if (!b1) r.shape.push_back(N);
  const int64_t count = shape_numel(batch);
  std::vector<int64_t> idx(nb, 0);
  for (int64_t t = 0; t < count; ++t) {
    int64_t oa = 0, ob = 0;  // index of the batch matrix within a and b (size-1 dims broadcast)
    for (size_t d = 0; d < nb; ++d) {
      oa = oa * ba[d] + (ba[d] == 1 ? 0 : idx[d]);
      ob = ob * bb[d] + (bb[d] == 1 ? 0 : idx[d]);
    }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += a.v[(oa * M + i) * K + k] * b.v[(ob * K + k) * N + j];
        r.values.push_back(alpha * s);
      }
    for (int64_t d = static_cast<int64_t>(nb) - 1; d >= 0; --d) {
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
  return r;
}

// Row-major transpose of a 2-D host tensor.
HostTensor transposed(const HostTensor& t) {
  HostTensor r = t;
  const int64_t R = t.shape[0], C = t.shape[1];
  r.shape = {C, R};
  for (int64_t i = 0; i < R; ++i)
    for (int64_t j = 0; j < C; ++j) r.v[j * R + i] = t.v[i * C + j];
  return r;
}

void matmul_case(const std::string& name, Shape sa, Shape sb, uint64_t seed, double atol_f32 = 1e-5) {
  ForwardCase c{"matmul", name, [=] { return TensorList{randn(sa, seed), randn(sb, seed + 1)}; },
                [](const TensorList& in) { return TensorList{matmul(in[0], in[1])}; },
                [](const std::vector<HostTensor>& h) { return std::vector<Ref>{matmul_ref(h[0], h[1])}; }};
  c.atol_f32 = atol_f32;  // f32 sums of K products of N(0,1) values: absolute error ~ sqrt(K)·1e-7
  register_forward_case(c);
}

const bool registered = [] {
  matmul_case("2-D @ 2-D", {3, 4}, {4, 5}, 701);
  matmul_case("1-D @ 1-D (dot, 0-d result)", {6}, {6}, 703);
  matmul_case("1-D @ 2-D", {4}, {4, 3}, 705);
  matmul_case("2-D @ 1-D", {3, 4}, {4}, 707);
  matmul_case("1-D @ 3-D", {4}, {2, 4, 3}, 709);
  matmul_case("3-D @ 1-D", {2, 3, 4}, {4}, 711);
  matmul_case("3-D @ 2-D (folded)", {2, 3, 4}, {4, 5}, 713);
  matmul_case("2-D @ 3-D (broadcast)", {3, 4}, {2, 4, 5}, 715);
  matmul_case("broadcast batch [2,1,3,4] @ [3,4,2]", {2, 1, 3, 4}, {3, 4, 2}, 717);
  matmul_case("many small matrices (parallel over the batch)", {64, 3, 5}, {64, 5, 2}, 719);
  matmul_case("67x70 @ 70x65 (BLAS blocking)", {67, 70}, {70, 65}, 721, 1e-4);
  matmul_case("empty rows [0,3] @ [3,4]", {0, 3}, {3, 4}, 723);
  matmul_case("empty inner dim [3,0] @ [0,4] (zeros)", {3, 0}, {0, 4}, 725);
  matmul_case("empty batch [0,2,3] @ [3,2]", {0, 2, 3}, {3, 2}, 727);
  register_forward_case({"matmul", "transposed operands (no copy)",
                         [] { return TensorList{randn({4, 3}, 731), randn({5, 4}, 732)}; },
                         [](const TensorList& in) { return TensorList{matmul(transpose(in[0], 0, 1), transpose(in[1], 0, 1))}; },
                         [](const std::vector<HostTensor>& h) {
                           return std::vector<Ref>{matmul_ref(transposed(h[0]), transposed(h[1]))};
                         }});

  register_forward_case({"bmm", "[3,2,4] @ [3,4,5]", [] { return TensorList{randn({3, 2, 4}, 741), randn({3, 4, 5}, 742)}; },
                         [](const TensorList& in) { return TensorList{bmm(in[0], in[1])}; },
                         [](const std::vector<HostTensor>& h) { return std::vector<Ref>{matmul_ref(h[0], h[1])}; }});

  // linear: x·Wᵀ + b, with the reference transposing W itself.
  auto linear_ref = [](const std::vector<HostTensor>& h) {
    Ref r = matmul_ref(h[0], transposed(h[1]));
    if (h.size() > 2) {
      const int64_t out = h[1].shape[0];
      for (size_t i = 0; i < r.values.size(); ++i) r.values[i] += h[2].v[i % out];
    }
    return std::vector<Ref>{r};
  };
  register_forward_case({"linear", "3-D input with bias",
                         [] { return TensorList{randn({2, 3, 4}, 751), randn({5, 4}, 752), randn({5}, 753)}; },
                         [](const TensorList& in) { return TensorList{linear(in[0], in[1], in[2])}; }, linear_ref});
  register_forward_case({"linear", "2-D input without bias", [] { return TensorList{randn({3, 4}, 754), randn({2, 4}, 755)}; },
                         [](const TensorList& in) { return TensorList{linear(in[0], in[1])}; }, linear_ref});
  register_forward_case({"linear", "1-D input with bias",
                         [] { return TensorList{randn({4}, 756), randn({3, 4}, 757), randn({3}, 758)}; },
                         [](const TensorList& in) { return TensorList{linear(in[0], in[1], in[2])}; }, linear_ref});

  register_forward_case({"addmm", "bias [N], beta 0.5, alpha -2",
                         [] { return TensorList{randn({5}, 761), randn({3, 4}, 762), randn({4, 5}, 763)}; },
                         [](const TensorList& in) { return TensorList{addmm(in[0], in[1], in[2], 0.5, -2.0)}; },
                         [](const std::vector<HostTensor>& h) {
                           Ref r = matmul_ref(h[1], h[2], -2.0);
                           for (size_t i = 0; i < r.values.size(); ++i) r.values[i] += 0.5 * h[0].v[i % 5];
                           return std::vector<Ref>{r};
                         }});
  register_forward_case({"addmm", "full bias, beta 0 ignores it",
                         [] { return TensorList{randn({3, 5}, 764), randn({3, 4}, 765), randn({4, 5}, 766)}; },
                         [](const TensorList& in) { return TensorList{addmm(in[0], in[1], in[2], 0.0, 1.0)}; },
                         [](const std::vector<HostTensor>& h) { return std::vector<Ref>{matmul_ref(h[1], h[2])}; }});
  return true;
}();

}  // namespace
}  // namespace mm::testing
