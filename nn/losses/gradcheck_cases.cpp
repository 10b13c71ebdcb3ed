// Gradient-check cases of the contrastive losses (module family "loss"): every option of every loss,
// with the embeddings, the logit scale / bias and CMPC's W among the checked inputs. Labels and
// pair flags are constants built inside the checked function (they take no gradient).
//
// Hinge losses (triplet, contrastive pair, margin ranking) are not differentiable where a hinge
// argument is 0, and the hardest / semi-hard triplet picks switch where two similarities tie. Each
// such case computes its kink points from its inputs and picks a margin at least 2e-2 from every one
// (clear_margin), and asserts that no two candidate similarities are within 1e-4 of each other, so
// finite differences (eps 1e-6) never straddle a kink or a switch.
#include <algorithm>
#include <cmath>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck_cases.h"
#include "nn/losses/losses.h"

namespace mm::nn {
namespace {

constexpr double kKinkClearance = 2e-2;

Tensor ids(const std::vector<int64_t>& v) { return Tensor::from_vector<int64_t>(v, {static_cast<int64_t>(v.size())}); }
Tensor scalar(double v) { return leaf(Tensor::from_vector<double>({v}, {})); }

void add(const std::string& module, const std::string& name, std::function<ModuleGradcheck()> make) {
  register_module_gradcheck_case({module, "loss", name, std::move(make)});
}

// The smallest margin ≥ start (on a 5e-3 grid) at least kKinkClearance away from every kink.
double clear_margin(const std::vector<double>& kinks, double start) {
  for (int step = 0; step < 2000; ++step) {
    const double m = start + 5e-3 * step;
    if (std::all_of(kinks.begin(), kinks.end(), [m](double k) { return std::fabs(m - k) >= kKinkClearance; }))
      return m;
  }
  MM_INTERNAL_ASSERT(false);
}

// sim[i][j] between image row i and text row j, as triplet_loss computes it.
std::vector<double> similarities(const Tensor& image, const Tensor& text, TripletSimilarity s) {
  NoGradGuard no_grad;
  Tensor sim = s == TripletSimilarity::Cosine
                   ? matmul(normalize(image, 2.0, 1), transpose(normalize(text, 2.0, 1), 0, 1))
                   : neg(cdist(image, text, 2.0));
  return sim.to_double_vector();
}

// A margin clear of every hinge kink m = sim(a,p) − sim(a,n) of both directions; also asserts that
// no two similarities an anchor compares are within 1e-4 (the hardest / semi-hard pick is stable).
double triplet_margin(const Tensor& image, const Tensor& text, TripletSimilarity s, double start) {
  const int64_t b = image.size(0);
  auto sim = similarities(image, text, s);
  auto at = [&](int64_t i, int64_t j, bool t2i) { return t2i ? sim[j * b + i] : sim[i * b + j]; };
  std::vector<double> kinks;
  for (bool t2i : {false, true})
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < b; ++j) {
        if (j != i) kinks.push_back(at(i, i, t2i) - at(i, j, t2i));
        for (int64_t k = 0; k < j; ++k) MM_INTERNAL_ASSERT(std::fabs(at(i, j, t2i) - at(i, k, t2i)) > 1e-4);
      }
  return clear_margin(kinks, start);
}

void register_clip() {
  // Unit-norm embeddings as the dual encoder gives them: the normalisation is inside the checked
  // function, so the gradient w.r.t. the raw features is checked through it.
  auto inputs = [](uint64_t seed, int64_t b, double log_scale) {
    return TensorList{leaf(case_randn({b, 3}, seed)), leaf(case_randn({b, 3}, seed + 1)), scalar(log_scale)};
  };
  auto loss = [](ClipLossOptions o) {
    return [o](const TensorList& in) {
      return TensorList{clip_loss(normalize(in[0], 2.0, 1), normalize(in[1], 2.0, 1), in[2], o)};
    };
  };
  add("loss.clip", "mean_of_directions, grad to image, text, logit_scale",
      [=] { return ModuleGradcheck{inputs(1101, 4, std::log(1 / 0.07) - 1.5), loss({})}; });
  add("loss.clip", "sum (seed 001)",
      [=] { return ModuleGradcheck{inputs(1103, 4, 1.0), loss({.reduction = ClipReduction::Sum})}; });
  add("loss.clip", "label smoothing 0.1, mean_of_directions", [=] {
    return ModuleGradcheck{inputs(1105, 5, 1.2), loss({.label_smoothing = 0.1})};
  });
  add("loss.clip", "label smoothing 0.2, sum, unnormalised features", [=] {
    return ModuleGradcheck{inputs(1107, 3, 0.5), [](const TensorList& in) {
                             return TensorList{clip_loss(in[0], in[1], in[2], {ClipReduction::Sum, 0.2})};
                           }};
  });
  add("loss.clip", "batch of 1", [=] { return ModuleGradcheck{inputs(1109, 1, 1.0), loss({})}; });
  add("loss.clip", "clip_logits with bias (grad to scale and bias), B_i 3 x B_t 4", [] {
    TensorList in{leaf(case_randn({3, 2}, 1111)), leaf(case_randn({4, 2}, 1112)), scalar(0.7), scalar(-1.5)};
    return ModuleGradcheck{in, [](const TensorList& x) { return TensorList{clip_logits(x[0], x[1], x[2], x[3])}; }};
  });
}

void register_siglip() {
  auto inputs = [](uint64_t seed, int64_t b, double log_scale, double bias) {
    return TensorList{leaf(case_randn({b, 3}, seed)), leaf(case_randn({b, 3}, seed + 1)), scalar(log_scale),
                      scalar(bias)};
  };
  add("loss.siglip", "with bias, init s = log 10, b = -10 (grad to both)", [=] {
    return ModuleGradcheck{inputs(1201, 4, kSiglipInitLogitScale, kSiglipInitLogitBias), [](const TensorList& in) {
                             return TensorList{
                                 siglip_loss(normalize(in[0], 2.0, 1), normalize(in[1], 2.0, 1), in[2], in[3])};
                           }};
  });
  add("loss.siglip", "with bias, moderate scale and bias", [=] {
    return ModuleGradcheck{inputs(1203, 5, 0.8, -0.5), [](const TensorList& in) {
                             return TensorList{
                                 siglip_loss(normalize(in[0], 2.0, 1), normalize(in[1], 2.0, 1), in[2], in[3])};
                           }};
  });
  add("loss.siglip", "no bias, unnormalised features", [] {
    TensorList in{leaf(case_randn({3, 2}, 1205)), leaf(case_randn({3, 2}, 1206)), scalar(0.3)};
    return ModuleGradcheck{in, [](const TensorList& x) { return TensorList{siglip_loss(x[0], x[1], x[2])}; }};
  });
}

void register_triplet() {
  struct Variant {
    std::string name;
    uint64_t seed;  // inputs whose similarities have no near ties (triplet_margin asserts it)
    TripletLossOptions o;
  };
  using S = TripletSimilarity;
  using N = TripletNegatives;
  using Dir = LossDirections;
  const std::vector<Variant> variants{
      {"cosine, all negatives, both directions", 1301, {0.2, S::Cosine, N::All, Dir::Both, false}},
      {"cosine, hardest (VSE++), both directions, sum", 1350, {0.2, S::Cosine, N::Hardest, Dir::Both, true}},
      {"cosine, semi-hard, both directions", 1305, {0.2, S::Cosine, N::SemiHard, Dir::Both, false}},
      {"cosine, hardest, image->text", 1307, {0.2, S::Cosine, N::Hardest, Dir::ImageToText, false}},
      {"cosine, all, text->image", 1309, {0.2, S::Cosine, N::All, Dir::TextToImage, false}},
      {"euclidean, all negatives, both directions", 1311, {0.5, S::Euclidean, N::All, Dir::Both, false}},
      {"euclidean, hardest, both directions", 1313, {0.5, S::Euclidean, N::Hardest, Dir::Both, false}},
      {"euclidean, semi-hard, text->image, sum", 1315, {0.5, S::Euclidean, N::SemiHard, Dir::TextToImage, true}},
  };
  for (const Variant& v : variants) {
    add("loss.triplet", v.name, [v] {
      TensorList in{leaf(case_randn({5, 3}, v.seed)), leaf(case_randn({5, 3}, v.seed + 1))};
      TripletLossOptions o = v.o;
      o.margin = triplet_margin(in[0], in[1], o.similarity, o.margin);
      return ModuleGradcheck{in, [o](const TensorList& x) { return TensorList{triplet_loss(x[0], x[1], o)}; }};
    });
  }
  add("loss.triplet", "batch of 1 (no negatives: zero loss, zero gradient)", [] {
    TensorList in{leaf(case_randn({1, 3}, 1331)), leaf(case_randn({1, 3}, 1332))};
    return ModuleGradcheck{in, [](const TensorList& x) { return TensorList{triplet_loss(x[0], x[1])}; }};
  });
}

void register_pairs() {
  // Contrastive pair: the hinge kink is at D = m, so the margin keeps clear of every pair distance.
  auto pair_case = [](uint64_t seed, double start, Reduction r) {
    return [=] {
      TensorList in{leaf(case_randn({6, 3}, seed)), leaf(case_randn({6, 3}, seed + 1))};
      std::vector<double> distances;
      {
        NoGradGuard no_grad;
        distances = norm(sub(in[0], in[1]), 2.0, {1}).to_double_vector();
      }
      const double m = clear_margin(distances, start);
      return ModuleGradcheck{in, [m, r](const TensorList& x) {
                               Tensor y = ids({0, 1, 1, 0, 1, 0});  // 1 = negative pair (seed 000)
                               return TensorList{contrastive_pair_loss(x[0], x[1], y, m, r)};
                             }};
    };
  };
  add("loss.contrastive_pair", "mean, margin ~2 (both terms active)", pair_case(1401, 2.0, Reduction::Mean));
  add("loss.contrastive_pair", "sum, margin ~1", pair_case(1403, 1.0, Reduction::Sum));
  add("loss.contrastive_pair", "none, float labels", [] {
    TensorList in{leaf(case_randn({4, 2}, 1405)), leaf(case_randn({4, 2}, 1406))};
    std::vector<double> distances;
    {
      NoGradGuard no_grad;
      distances = norm(sub(in[0], in[1]), 2.0, {1}).to_double_vector();
    }
    const double m = clear_margin(distances, 1.5);
    return ModuleGradcheck{in, [m](const TensorList& x) {
                             Tensor y = Tensor::from_vector<double>({1, 0, 1, 1}, {4});
                             return TensorList{contrastive_pair_loss(x[0], x[1], y, m, Reduction::None)};
                           }};
  });

  // Margin ranking: the kink is at m = y·(x1 − x2).
  auto ranking_case = [](uint64_t seed, const Shape& s1, const Shape& s2, std::vector<double> y, const Shape& sy,
                         double start, Reduction r) {
    return [=] {
      TensorList in{leaf(case_randn(s1, seed)), leaf(case_randn(s2, seed + 1))};
      Tensor yt = Tensor::from_vector<double>(y, sy);
      std::vector<double> kinks;
      {
        NoGradGuard no_grad;
        kinks = mul(yt, sub(in[0], in[1])).to_double_vector();
      }
      const double m = clear_margin(kinks, start);
      return ModuleGradcheck{in, [=](const TensorList& x) { return TensorList{margin_ranking_loss(x[0], x[1], yt, m, r)}; }};
    };
  };
  add("loss.margin_ranking", "[6], mean", ranking_case(1501, {6}, {6}, {1, -1, 1, 1, -1, -1}, {6}, 0.0, Reduction::Mean));
  add("loss.margin_ranking", "[6], sum, margin ~0.3",
      ranking_case(1503, {6}, {6}, {1, 1, -1, 1, -1, 1}, {6}, 0.3, Reduction::Sum));
  add("loss.margin_ranking", "broadcast [3,1] x [3,2] x [1,2], none",
      ranking_case(1505, {3, 1}, {3, 2}, {1, -1}, {1, 2}, 0.2, Reduction::None));
}

void register_cmpm_cmpc() {
  auto pair = [](uint64_t seed, int64_t b, int64_t d) {
    return TensorList{leaf(case_randn({b, d}, seed)), leaf(case_randn({b, d}, seed + 1))};
  };
  auto cmpm = [](std::vector<int64_t> labels) {
    return [labels](const TensorList& x) { return TensorList{cmpm_loss(x[0], x[1], ids(labels))}; };
  };
  add("loss.cmpm", "labels with repeats", [=] { return ModuleGradcheck{pair(1601, 5, 3), cmpm({0, 1, 0, 2, 1})}; });
  add("loss.cmpm", "distinct labels", [=] { return ModuleGradcheck{pair(1603, 4, 3), cmpm({3, 1, 0, 2})}; });
  add("loss.cmpm", "all labels equal", [=] { return ModuleGradcheck{pair(1605, 4, 3), cmpm({7, 7, 7, 7})}; });
  add("loss.cmpm", "batch of 1", [=] { return ModuleGradcheck{pair(1607, 1, 3), cmpm({0})}; });

  auto cmpc = [=](uint64_t seed, int64_t b, int64_t classes, std::vector<int64_t> labels) {
    return [=] {
      TensorList in = pair(seed, b, 3);
      in.push_back(leaf(case_randn({3, classes}, seed + 2)));
      return ModuleGradcheck{in, [labels](const TensorList& x) {
                               return TensorList{cmpc_loss(x[0], x[1], ids(labels), x[2])};
                             }};
    };
  };
  add("loss.cmpc", "grad to image, text and W; 4 classes", cmpc(1611, 5, 4, {0, 3, 1, 0, 2}));
  add("loss.cmpc", "all labels equal", cmpc(1614, 3, 2, {1, 1, 1}));
  add("loss.cmpc", "through the CMPCLoss module (W a parameter)", [] {
    manual_seed(17);
    auto m = std::make_shared<CMPCLoss>(3, 4);
    m->to(DType::F64);
    TensorList in{leaf(case_randn({4, 3}, 1617)), leaf(case_randn({4, 3}, 1618)), m->W};
    return ModuleGradcheck{in, [m](const TensorList& x) { return TensorList{m->forward(x[0], x[1], ids({2, 0, 3, 2}))}; }};
  });
}

void register_rest() {
  add("loss.ntxent", "temperature 0.5", [] {
    TensorList in{leaf(case_randn({4, 3}, 1701)), leaf(case_randn({4, 3}, 1702))};
    return ModuleGradcheck{in, [](const TensorList& x) { return TensorList{ntxent_loss(x[0], x[1], 0.5)}; }};
  });
  add("loss.ntxent", "temperature 0.1, batch of 1", [] {
    TensorList in{leaf(case_randn({1, 3}, 1703)), leaf(case_randn({1, 3}, 1704))};
    return ModuleGradcheck{in, [](const TensorList& x) { return TensorList{ntxent_loss(x[0], x[1], 0.1)}; }};
  });

  add("loss.intra_class", "labels with repeats", [] {
    return ModuleGradcheck{{leaf(case_randn({6, 3}, 1801))},
                           [](const TensorList& x) { return TensorList{intra_class_loss(x[0], ids({0, 1, 0, 2, 1, 0}))}; }};
  });
  add("loss.intra_class", "all labels equal", [] {
    return ModuleGradcheck{{leaf(case_randn({4, 3}, 1802))},
                           [](const TensorList& x) { return TensorList{intra_class_loss(x[0], ids({5, 5, 5, 5}))}; }};
  });
  add("loss.intra_class", "no two rows share a label (zero)", [] {
    return ModuleGradcheck{{leaf(case_randn({3, 3}, 1803))},
                           [](const TensorList& x) { return TensorList{intra_class_loss(x[0], ids({0, 1, 2}))}; }};
  });

  // Student [4,3], teacher [4,5]: every embedding and both logit scales are checked; both parts are
  // outputs (the checker contracts each with its own random weight).
  auto distill = [](ClipLossOptions o) {
    return [o] {
      TensorList in{leaf(case_randn({4, 3}, 1901)), leaf(case_randn({4, 3}, 1902)), scalar(1.3),
                    leaf(case_randn({4, 5}, 1903)), leaf(case_randn({4, 5}, 1904)), scalar(1.8)};
      return ModuleGradcheck{in, [o](const TensorList& x) {
                               auto n = [](const Tensor& t) { return normalize(t, 2.0, 1); };
                               DistillationLoss r = distillation_loss(n(x[0]), n(x[1]), x[2], n(x[3]), n(x[4]), x[5], o);
                               return TensorList{r.contrastive, r.distill};
                             }};
    };
  };
  add("loss.distillation", "open_clip's DistillClipLoss (mean_of_directions)", distill({}));
  add("loss.distillation", "sum, label smoothing 0.1", distill({ClipReduction::Sum, 0.1}));
}

const bool registered = [] {
  register_clip();
  register_siglip();
  register_triplet();
  register_pairs();
  register_cmpm_cmpc();
  register_rest();
  return true;
}();

}  // namespace
}  // namespace mm::nn
