// Forward cases of the losses and distances: cross_entropy, nll_loss, binary_cross_entropy_with_logits,
// mse_loss, normalize, cosine_similarity, cdist. References are plain double loops over row-major
// host values, written from the textbook formulas (not from the composed implementation).
#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/grad/loss.h"
#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

const double kInf = std::numeric_limits<double>::infinity();

const char* rname(Reduction r) { return r == Reduction::None ? "none" : r == Reduction::Sum ? "sum" : "mean"; }

// Applies a reduction to per-element losses; `count` is the Mean divisor.
Ref reduced(const Shape& shape, const std::vector<double>& per, Reduction r, double count) {
  if (r == Reduction::None) return {shape, per};
  double s = 0;
  for (double v : per) s += v;
  return {{}, {r == Reduction::Sum ? s : s / count}};
}

// ---- class losses: input viewed as [N, C, inner] with inner = d1·d2·... ----
struct ClassView {
  int64_t n, c, inner;
  explicit ClassView(const Shape& s) : n(s[0]), c(s[1]), inner(1) {
    for (size_t d = 2; d < s.size(); ++d) inner *= s[d];
  }
  int64_t at(int64_t i, int64_t k, int64_t j) const { return (i * c + k) * inner + j; }
};

// log-softmax over the class dim, in double.
std::vector<double> log_softmax_ref(const HostTensor& x) {
  ClassView v(x.shape);
  std::vector<double> out(x.v.size());
  for (int64_t i = 0; i < v.n; ++i)
    for (int64_t j = 0; j < v.inner; ++j) {
      double m = -kInf;
      for (int64_t k = 0; k < v.c; ++k) m = std::max(m, x.v[v.at(i, k, j)]);
      double s = 0;
      for (int64_t k = 0; k < v.c; ++k) s += std::exp(x.v[v.at(i, k, j)] - m);
      for (int64_t k = 0; k < v.c; ++k) out[v.at(i, k, j)] = x.v[v.at(i, k, j)] - m - std::log(s);
    }
  return out;
}

// cross_entropy / nll_loss with class-index targets. `lp` are log-probabilities.
Ref class_loss_ref(const Shape& shape, const std::vector<double>& lp, const HostTensor& t, Reduction r,
                   int64_t ignore, double eps) {
  ClassView v(shape);
  std::vector<double> per;
  double kept = 0;
  for (int64_t i = 0; i < v.n; ++i)
    for (int64_t j = 0; j < v.inner; ++j) {
      auto target = static_cast<int64_t>(t.v[i * v.inner + j]);
      if (target == ignore) {
        per.push_back(0.0);
        continue;
      }
      kept += 1;
      double uniform = 0;
      for (int64_t k = 0; k < v.c; ++k) uniform -= lp[v.at(i, k, j)];
      per.push_back((1 - eps) * -lp[v.at(i, target, j)] + eps / v.c * uniform);
    }
  return reduced(t.shape, per, r, kept);
}

void cross_entropy_case(const std::string& name, Shape shape, std::vector<int64_t> targets, Shape tshape,
                        Reduction r, int64_t ignore, double eps) {
  register_forward_case({"cross_entropy", name + " (" + rname(r) + ")",
                         [=] { return TensorList{randn(shape, 401, 2.0), int_tensor(targets, tshape)}; },
                         [=](const TensorList& in) { return TensorList{cross_entropy(in[0], in[1], r, ignore, eps)}; },
                         [=](const std::vector<HostTensor>& h) {
                           return std::vector<Ref>{class_loss_ref(h[0].shape, log_softmax_ref(h[0]), h[1], r, ignore, eps)};
                         }});
}

void nll_case(const std::string& name, Shape shape, std::vector<int64_t> targets, Shape tshape, Reduction r,
              int64_t ignore) {
  register_forward_case({"nll_loss", name + " (" + rname(r) + ")",
                         [=] { return TensorList{uniform(shape, 402, -3.0, 0.0), int_tensor(targets, tshape)}; },
                         [=](const TensorList& in) { return TensorList{nll_loss(in[0], in[1], r, ignore)}; },
                         [=](const std::vector<HostTensor>& h) {
                           return std::vector<Ref>{class_loss_ref(h[0].shape, h[0].v, h[1], r, ignore, 0.0)};
                         }});
}

// ---- element-wise losses ----
double bce_ref(double x, double y, double pw) {
  // PyTorch's formula: (1−y)·x + (1+(pw−1)·y)·(log1p(e^−|x|) + max(−x, 0))
  return (1 - y) * x + (1 + (pw - 1) * y) * (std::log1p(std::exp(-std::fabs(x))) + std::max(-x, 0.0));
}

// ---- norms and distances ----
double pnorm(const std::vector<double>& xs, double p) {
  double r = 0;
  if (std::isinf(p)) {
    for (double x : xs) r = std::max(r, std::fabs(x));
    return r;
  }
  if (p == 0) {
    for (double x : xs) r += x != 0;
    return r;
  }
  for (double x : xs) r += std::pow(std::fabs(x), p);
  return std::pow(r, 1 / p);
}

// Elements of x along `dim` at the position `outer`, `inner` (row-major split around dim).
std::vector<double> fiber(const HostTensor& x, int64_t dim, int64_t outer, int64_t inner) {
  int64_t in = 1;
  for (size_t d = static_cast<size_t>(dim) + 1; d < x.shape.size(); ++d) in *= x.shape[d];
  std::vector<double> f;
  for (int64_t k = 0; k < x.shape[dim]; ++k) f.push_back(x.v[(outer * x.shape[dim] + k) * in + inner]);
  return f;
}

Ref normalize_ref(const HostTensor& x, double p, int64_t dim, double eps) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= x.shape[d];
  for (size_t d = static_cast<size_t>(dim) + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
  Ref r{x.shape, std::vector<double>(x.v.size())};
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      std::vector<double> f = fiber(x, dim, o, i);
      double n = std::max(pnorm(f, p), eps);
      for (int64_t k = 0; k < x.shape[dim]; ++k) r.values[(o * x.shape[dim] + k) * inner + i] = f[k] / n;
    }
  return r;
}

void normalize_case(const std::string& name, Shape shape, double p, int64_t dim, bool zero_row = false) {
  register_forward_case({"normalize", name,
                         [=] {
                           Tensor x = randn(shape, 403);
                           if (!zero_row) return TensorList{x};
                           std::vector<double> v = x.to_double_vector();  // zero the first column
                           for (size_t i = 0; i < v.size(); i += static_cast<size_t>(shape.back())) v[i] = 0;
                           return TensorList{Tensor::from_vector<double>(v, shape)};
                         },
                         [=](const TensorList& in) { return TensorList{normalize(in[0], p, dim)}; },
                         [=](const std::vector<HostTensor>& h) {
                           return std::vector<Ref>{normalize_ref(h[0], p, dim < 0 ? dim + static_cast<int64_t>(h[0].shape.size()) : dim, 1e-12)};
                         }});
}

// cosine similarity of 2-D inputs broadcast to [rows, cols] along dim 0 or 1.
void cosine_case(const std::string& name, Shape sa, Shape sb, int64_t dim) {
  register_forward_case({"cosine_similarity", name, [=] { return TensorList{randn(sa, 404), randn(sb, 405)}; },
                         [=](const TensorList& in) { return TensorList{cosine_similarity(in[0], in[1], dim)}; },
                         [=](const std::vector<HostTensor>& h) {
                           int64_t rows = std::max(sa[0], sb[0]), cols = std::max(sa[1], sb[1]);
                           auto at = [](const HostTensor& t, int64_t i, int64_t j) {
                             return t.v[(t.shape[0] == 1 ? 0 : i) * t.shape[1] + (t.shape[1] == 1 ? 0 : j)];
                           };
                           Ref r{{dim == 0 ? cols : rows}, {}};
                           int64_t n_out = dim == 0 ? cols : rows, n_red = dim == 0 ? rows : cols;
                           for (int64_t o = 0; o < n_out; ++o) {
                             double ab = 0, aa = 0, bb = 0;
                             for (int64_t k = 0; k < n_red; ++k) {
                               double x = dim == 0 ? at(h[0], k, o) : at(h[0], o, k);
                               double y = dim == 0 ? at(h[1], k, o) : at(h[1], o, k);
                               ab += x * y, aa += x * x, bb += y * y;
                             }
                             r.values.push_back(ab / (std::max(std::sqrt(aa), 1e-8) * std::max(std::sqrt(bb), 1e-8)));
                           }
                           return std::vector<Ref>{r};
                         }});
}

// cdist of a [Ba, P, M] and b [Bb, R, M] (Ba or Bb may be 1: broadcast), or 2-D inputs (no batch).
void cdist_case(const std::string& name, Shape sa, Shape sb, double p, double rtol_f32 = 1e-5) {
  ForwardCase c{"cdist", name, [=] { return TensorList{randn(sa, 406), randn(sb, 407)}; },
                [=](const TensorList& in) { return TensorList{cdist(in[0], in[1], p)}; },
                [=](const std::vector<HostTensor>& h) {
                  bool batched = sa.size() == 3;
                  int64_t ba = batched ? sa[0] : 1, bb = batched ? sb[0] : 1, nb = std::max(ba, bb);
                  int64_t P = sa[sa.size() - 2], R = sb[sb.size() - 2], M = sa.back();
                  Ref r{batched ? Shape{nb, P, R} : Shape{P, R}, {}};
                  for (int64_t n = 0; n < nb; ++n)
                    for (int64_t i = 0; i < P; ++i)
                      for (int64_t j = 0; j < R; ++j) {
                        std::vector<double> d;
                        for (int64_t m = 0; m < M; ++m)
                          d.push_back(h[0].v[((ba == 1 ? 0 : n) * P + i) * M + m] - h[1].v[((bb == 1 ? 0 : n) * R + j) * M + m]);
                        r.values.push_back(pnorm(d, p));
                      }
                  return std::vector<Ref>{r};
                }};
  c.rtol_f32 = rtol_f32;
  c.rtol_f64 = 1e-10;  // the matmul form (P or R > 25) loses a few digits to cancellation
  register_forward_case(c);
}

const bool registered = [] {
  // cross_entropy: class indices, ignore_index, label smoothing, spatial dims, unbatched, probabilities.
  cross_entropy_case("[4,5] indices", {4, 5}, {1, 0, 4, 2}, {4}, Reduction::Mean, -100, 0.0);
  cross_entropy_case("[4,5] ignore_index 3 + smoothing 0.1", {4, 5}, {1, 3, 4, 3}, {4}, Reduction::Mean, 3, 0.1);
  cross_entropy_case("[4,5] ignore_index -100 + smoothing 0.2", {4, 5}, {1, -100, 4, 0}, {4}, Reduction::Sum, -100, 0.2);
  cross_entropy_case("[2,3,4] spatial, ignore -1", {2, 3, 4}, {0, 1, 2, -1, 2, 2, 0, 1}, {2, 4}, Reduction::None, -1, 0.05);
  cross_entropy_case("[2,3,4] spatial", {2, 3, 4}, {0, 1, 2, -1, 2, 2, 0, 1}, {2, 4}, Reduction::Mean, -1, 0.0);
  cross_entropy_case("every target ignored gives NaN", {2, 3}, {-100, -100}, {2}, Reduction::Mean, -100, 0.0);
  register_forward_case({"cross_entropy", "unbatched [5] with a 0-d target",
                         [] { return TensorList{randn({5}, 408), int_tensor({3}, {})}; },
                         [](const TensorList& in) { return TensorList{cross_entropy(in[0], in[1], Reduction::None)}; },
                         [](const std::vector<HostTensor>& h) {
                           HostTensor x = h[0];
                           x.shape = {1, 5};
                           return std::vector<Ref>{{{}, {-log_softmax_ref(x)[3]}}};
                         }});
  for (double eps : {0.0, 0.15}) {
    register_forward_case({"cross_entropy", "[3,4] class probabilities, smoothing " + std::to_string(eps),
                           [] { return TensorList{randn({3, 4}, 409, 2.0), uniform({3, 4}, 410, 0.0, 1.0)}; },
                           [eps](const TensorList& in) { return TensorList{cross_entropy(in[0], in[1], Reduction::Mean, -100, eps)}; },
                           [eps](const std::vector<HostTensor>& h) {
                             std::vector<double> lp = log_softmax_ref(h[0]);
                             double total = 0;
                             for (int i = 0; i < 3; ++i)
                               for (int k = 0; k < 4; ++k) total -= lp[i * 4 + k] * ((1 - eps) * h[1].v[i * 4 + k] + eps / 4);
                             return std::vector<Ref>{{{}, {total / 3}}};
                           }});
  }

  nll_case("[4,5]", {4, 5}, {1, 0, 4, 2}, {4}, Reduction::Mean, -100);
  nll_case("[4,5] ignore_index 0", {4, 5}, {1, 0, 4, 0}, {4}, Reduction::Mean, 0);
  nll_case("[4,5] ignore_index 0", {4, 5}, {1, 0, 4, 0}, {4}, Reduction::None, 0);
  nll_case("[2,3,2,2] spatial", {2, 3, 2, 2}, {0, 1, 2, 2, 1, -100, 0, 1}, {2, 2, 2}, Reduction::Sum, -100);

  // binary_cross_entropy_with_logits, including |x| = 30 where a naive log(sigmoid) loses everything.
  for (Reduction r : {Reduction::Mean, Reduction::None}) {
    register_forward_case({"binary_cross_entropy_with_logits", std::string("[3,5] (") + rname(r) + ")",
                           [] { return TensorList{uniform({3, 5}, 411, -4.0, 4.0), uniform({3, 5}, 412, 0.0, 1.0)}; },
                           [r](const TensorList& in) { return TensorList{binary_cross_entropy_with_logits(in[0], in[1], r)}; },
                           [r](const std::vector<HostTensor>& h) {
                             std::vector<double> per;
                             for (size_t i = 0; i < h[0].v.size(); ++i) per.push_back(bce_ref(h[0].v[i], h[1].v[i], 1.0));
                             return std::vector<Ref>{reduced(h[0].shape, per, r, static_cast<double>(per.size()))};
                           }});
  }
  register_forward_case({"binary_cross_entropy_with_logits", "pos_weight [4] (sum)",
                         [] { return TensorList{uniform({2, 4}, 413, -3.0, 3.0), uniform({2, 4}, 414, 0.0, 1.0), uniform({4}, 415, 0.5, 3.0)}; },
                         [](const TensorList& in) {
                           return TensorList{binary_cross_entropy_with_logits(in[0], in[1], Reduction::Sum, in[2])};
                         },
                         [](const std::vector<HostTensor>& h) {
                           double s = 0;
                           for (int i = 0; i < 8; ++i) s += bce_ref(h[0].v[i], h[1].v[i], h[2].v[i % 4]);
                           return std::vector<Ref>{{{}, {s}}};
                         }});
  register_forward_case({"binary_cross_entropy_with_logits", "large |x| stays finite and exact",
                         [] { return TensorList{Tensor::from_vector<double>({-30, 30, -30, 30, 0}, {5}),
                                                Tensor::from_vector<double>({0, 1, 1, 0, 0.5}, {5})}; },
                         [](const TensorList& in) { return TensorList{binary_cross_entropy_with_logits(in[0], in[1], Reduction::None)}; },
                         [](const std::vector<HostTensor>&) {
                           double t = std::log1p(std::exp(-30.0));
                           return std::vector<Ref>{{{5}, {t, t, 30 + t, 30 + t, std::log(2.0)}}};
                         }});

  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    register_forward_case({"mse_loss", std::string("[3,4] (") + rname(r) + ")",
                           [] { return TensorList{randn({3, 4}, 416), randn({3, 4}, 417)}; },
                           [r](const TensorList& in) { return TensorList{mse_loss(in[0], in[1], r)}; },
                           [r](const std::vector<HostTensor>& h) {
                             std::vector<double> per;
                             for (size_t i = 0; i < h[0].v.size(); ++i) per.push_back(std::pow(h[0].v[i] - h[1].v[i], 2));
                             return std::vector<Ref>{reduced(h[0].shape, per, r, static_cast<double>(per.size()))};
                           }});
  }

  normalize_case("p=2 dim=1 [3,4]", {3, 4}, 2, 1);
  normalize_case("p=1 dim=0 [3,4]", {3, 4}, 1, 0);
  normalize_case("p=3 dim=-1 [2,3,4]", {2, 3, 4}, 3, -1);
  normalize_case("p=inf dim=1 [3,4]", {3, 4}, kInf, 1);
  normalize_case("p=2 dim=0 with a zero column (eps clamps)", {3, 4}, 2, 0, true);

  cosine_case("[4,5] dim 1", {4, 5}, {4, 5}, 1);
  cosine_case("[4,5] dim 0", {4, 5}, {4, 5}, 0);
  cosine_case("broadcast [1,5] with [3,5] dim 1", {1, 5}, {3, 5}, 1);

  cdist_case("p=2 [4,3] [5,3]", {4, 3}, {5, 3}, 2);
  cdist_case("p=1 [4,3] [5,3]", {4, 3}, {5, 3}, 1);
  cdist_case("p=3 [4,3] [5,3]", {4, 3}, {5, 3}, 3);
  cdist_case("p=0.5 [4,3] [5,3]", {4, 3}, {5, 3}, 0.5);
  cdist_case("p=inf [4,3] [5,3]", {4, 3}, {5, 3}, kInf);
  cdist_case("p=0 [4,3] [5,3]", {4, 3}, {5, 3}, 0);
  cdist_case("p=2 batch broadcast [2,4,3] [1,5,3]", {2, 4, 3}, {1, 5, 3}, 2);
  cdist_case("p=2 matmul form (P=30 > 25)", {30, 4}, {6, 4}, 2, 1e-4);
  return true;
}();

}  // namespace
}  // namespace mm::testing
