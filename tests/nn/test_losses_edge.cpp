// Edge cases of the contrastive losses (nn/losses/) that the PyTorch goldens do not reach: scales far
// beyond any clamp against naive double-precision references, a batch of one for the hinge losses,
// identities between options, the CMPC module, and the errors bad arguments give.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/functions.h"
#include "tests/common/expect_error.h"
#include "nn/losses/losses.h"
#include "ops/creation.h"

namespace mm::nn {
namespace {

Tensor unit_rows(int64_t b, int64_t d, uint64_t seed) {
  manual_seed(seed);
  return normalize(randn({b, d}), 2.0, 1);
}
Tensor param(double v) { return Tensor::from_vector<float>({static_cast<float>(v)}, {}).set_requires_grad(true); }
Tensor ids(const std::vector<int64_t>& v) { return Tensor::from_vector<int64_t>(v, {static_cast<int64_t>(v.size())}); }

bool all_finite(const Tensor& t) {
  for (double v : t.to_double_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

// ½[mean_i (lse_j s·c_ij − s·c_ii) + mean_j (lse_i s·c_ij − s·c_jj)] in double, c = image·textᵀ.
double naive_clip(const Tensor& image, const Tensor& text, double s) {
  const int64_t b = image.size(0), d = image.size(1);
  auto iv = image.to_double_vector(), tv = text.to_double_vector();
  std::vector<double> l(b * b);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < b; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < d; ++k) dot += iv[i * d + k] * tv[j * d + k];
      l[i * b + j] = s * dot;
    }
  double total = 0;
  for (bool transposed : {false, true})
    for (int64_t i = 0; i < b; ++i) {
      auto at = [&](int64_t j) { return transposed ? l[j * b + i] : l[i * b + j]; };
      double m = -INFINITY, acc = 0;
      for (int64_t j = 0; j < b; ++j) m = std::max(m, at(j));
      for (int64_t j = 0; j < b; ++j) acc += std::exp(at(j) - m);
      total += m + std::log(acc) - at(i);
    }
  return total / (2.0 * b);
}

// −(1/B) Σ log σ(z·(s·c + bias)) in double with log σ(x) = min(x,0) − log1p(e^−|x|).
double naive_siglip(const Tensor& image, const Tensor& text, double s, double bias) {
  const int64_t b = image.size(0), d = image.size(1);
  auto iv = image.to_double_vector(), tv = text.to_double_vector();
  double total = 0;
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < b; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < d; ++k) dot += iv[i * d + k] * tv[j * d + k];
      const double x = (i == j ? 1.0 : -1.0) * (s * dot + bias);
      total += std::min(x, 0.0) - std::log1p(std::exp(-std::fabs(x)));
    }
  return -total / b;
}

TEST(ContrastiveLossNumerics, ClipScaleFarBeyondTheClampMatchesADoubleReference) {
  // SPEC §5.1 clamps the scale to 100; unclamped it may grow. exp(logit) overflows float32 past 88,
  // so these logits (±1e4, ±1e30) only work because the loss never exponentiates them unshifted.
  Tensor image = unit_rows(6, 8, 1), text = unit_rows(6, 8, 2);
  for (double scale : {100.0, 1e4, 1e30}) {
    Tensor ls = param(std::log(scale));
    Tensor img = image.detach().set_requires_grad(true);
    Tensor loss = clip_loss(img, text, ls);
    const double want = naive_clip(image, text, std::exp(static_cast<double>(static_cast<float>(std::log(scale)))));
    EXPECT_NEAR(loss.item(), want, 1e-5 * std::fabs(want)) << "scale " << scale;
    loss.backward();
    EXPECT_TRUE(all_finite(img.grad())) << "scale " << scale;
    EXPECT_TRUE(all_finite(ls.grad())) << "scale " << scale;
  }
}

TEST(ContrastiveLossNumerics, ClipTinyScaleGivesLogBWithoutNaN) {
  // exp(−1e4) underflows to exactly 0: every logit is 0, each direction's CE is log B.
  Tensor image = unit_rows(5, 4, 3), text = unit_rows(5, 4, 4);
  for (double ls_value : {-1e4, -30.0}) {
    Tensor ls = param(ls_value);
    Tensor loss = clip_loss(image.detach().set_requires_grad(true), text, ls);
    EXPECT_NEAR(loss.item(), std::log(5.0), 1e-6) << ls_value;
    loss.backward();
    EXPECT_TRUE(all_finite(ls.grad())) << ls_value;
  }
}

TEST(ContrastiveLossNumerics, SiglipScaleFarBeyondTheClampMatchesADoubleReference) {
  Tensor image = unit_rows(5, 8, 5), text = unit_rows(5, 8, 6);
  for (double scale : {10.0, 1e4, 1e30, 1e-30}) {
    const double s = std::exp(static_cast<double>(static_cast<float>(std::log(scale))));
    Tensor ls = param(std::log(scale)), bias = param(-10.0);
    Tensor loss = siglip_loss(image, text, ls, bias);
    const double want = naive_siglip(image, text, s, -10.0);
    EXPECT_NEAR(loss.item(), want, 1e-5 * std::fabs(want)) << "scale " << scale;
    loss.backward();
    EXPECT_TRUE(all_finite(ls.grad()) && all_finite(bias.grad())) << "scale " << scale;
  }
}

TEST(ContrastiveLossNumerics, NtXentAndCmpmStayFiniteForExtremeLogits) {
  Tensor z1 = unit_rows(4, 6, 7).set_requires_grad(true), z2 = unit_rows(4, 6, 8);
  Tensor l = ntxent_loss(z1, z2, 1e-4);  // similarities up to 1e4
  EXPECT_TRUE(all_finite(l));
  l.backward();
  EXPECT_TRUE(all_finite(z1.grad()));
  // Embeddings of norm 1e4: softmax(I·T̂ᵀ) is one-hot to float32, log p of the other columns ~ −1e4.
  Tensor image = mul(unit_rows(4, 6, 9), 1e4).detach().set_requires_grad(true);
  Tensor c = cmpm_loss(image, unit_rows(4, 6, 10), ids({0, 1, 0, 2}));
  EXPECT_TRUE(all_finite(c));
  c.backward();
  EXPECT_TRUE(all_finite(image.grad()));
}

TEST(ContrastiveLossEdgeCases, TripletBatchOfOneIsZeroWithZeroGradient) {
  for (auto n : {TripletNegatives::All, TripletNegatives::Hardest, TripletNegatives::SemiHard})
    for (auto s : {TripletSimilarity::Cosine, TripletSimilarity::Euclidean}) {
      Tensor image = unit_rows(1, 4, 11).set_requires_grad(true);
      Tensor loss = triplet_loss(image, unit_rows(1, 4, 12), {.similarity = s, .negatives = n});
      EXPECT_EQ(loss.item(), 0.0);
      loss.backward();
      for (double g : image.grad().to_double_vector()) EXPECT_EQ(g, 0.0);
    }
}

TEST(ContrastiveLossEdgeCases, TripletEuclideanOnALargeBatchMatchesLoops) {
  // B = 30 > 25: cdist takes its matmul form (sqrt(‖a‖² + ‖b‖² − 2a·b)); compare with direct distances.
  manual_seed(13);
  Tensor image = randn({30, 5}), text = randn({30, 5});
  const double m = 0.5;
  auto iv = image.to_double_vector(), tv = text.to_double_vector();
  auto dist = [&](int64_t i, int64_t j) {
    double acc = 0;
    for (int64_t k = 0; k < 5; ++k) acc += (iv[i * 5 + k] - tv[j * 5 + k]) * (iv[i * 5 + k] - tv[j * 5 + k]);
    return std::sqrt(acc);
  };
  double want = 0;
  for (int64_t i = 0; i < 30; ++i)
    for (int64_t j = 0; j < 30; ++j)
      if (j != i) want += std::max(0.0, m + dist(i, i) - dist(i, j)) + std::max(0.0, m + dist(i, i) - dist(j, i));
  want /= 30;
  Tensor got = triplet_loss(image, text, {.margin = m, .similarity = TripletSimilarity::Euclidean,
                                          .negatives = TripletNegatives::All});
  EXPECT_NEAR(got.item(), want, 1e-4 * want);
}

TEST(ContrastiveLossEdgeCases, OptionsRelateAsTheirDefinitionsSay) {
  Tensor image = unit_rows(6, 5, 14), text = unit_rows(6, 5, 15), ls = param(2.0);
  // CLIP: sum of directions = 2 × their mean.
  EXPECT_NEAR(clip_loss(image, text, ls, {.reduction = ClipReduction::Sum}).item(), 2 * clip_loss(image, text, ls).item(),
              1e-5);
  // Triplet: both directions = image→text + text→image; hardest ≤ all (a max of hinges ≤ their sum);
  // sum over anchors = B × mean.
  auto t = [&](TripletNegatives n, LossDirections d, bool sum = false) {
    return triplet_loss(image, text, {.negatives = n, .directions = d, .sum_over_anchors = sum}).item();
  };
  for (auto n : {TripletNegatives::All, TripletNegatives::Hardest, TripletNegatives::SemiHard}) {
    EXPECT_NEAR(t(n, LossDirections::Both), t(n, LossDirections::ImageToText) + t(n, LossDirections::TextToImage), 1e-5);
    EXPECT_NEAR(t(n, LossDirections::Both, true), 6 * t(n, LossDirections::Both), 1e-4);
  }
  EXPECT_LT(t(TripletNegatives::Hardest, LossDirections::Both), t(TripletNegatives::All, LossDirections::Both));
  EXPECT_LE(t(TripletNegatives::SemiHard, LossDirections::Both), t(TripletNegatives::Hardest, LossDirections::Both));
  // SigLIP: no bias = bias 0.
  EXPECT_NEAR(siglip_loss(image, text, ls).item(), siglip_loss(image, text, ls, param(0.0)).item(), 1e-6);
  // Distillation: the contrastive part is clip_loss itself, and total() adds the two parts.
  DistillationLoss d = distillation_loss(image, text, ls, image, text, ls);
  EXPECT_NEAR(d.total().item(), d.contrastive.item() + d.distill.item(), 1e-6);
  EXPECT_NEAR(d.contrastive.item(), clip_loss(image, text, ls).item(), 1e-6);
}

TEST(ContrastiveLossEdgeCases, IntraClassWithoutSharedLabelsIsZero) {
  Tensor x = unit_rows(3, 4, 16).set_requires_grad(true);
  Tensor l = intra_class_loss(x, ids({0, 1, 2}));
  EXPECT_EQ(l.item(), 0.0);
  l.backward();
  for (double g : x.grad().to_double_vector()) EXPECT_EQ(g, 0.0);
  // Two identical rows with one label: distance 0.
  Tensor dup = cat({unit_rows(1, 4, 17), unit_rows(1, 4, 17)});
  EXPECT_NEAR(intra_class_loss(dup, ids({4, 4})).item(), 0.0, 1e-6);
}

TEST(CMPCLossModule, OwnsWAndNormalisesItsColumns) {
  manual_seed(18);
  CMPCLoss m(6, 3);
  auto params = m.named_parameters();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].first, "W");
  EXPECT_EQ(shape_str(m.W.shape()), "[6,3]");
  Tensor image = unit_rows(4, 6, 19), text = unit_rows(4, 6, 20);
  Tensor labels = ids({0, 2, 1, 2});
  Tensor loss = m.forward(image, text, labels);
  EXPECT_NEAR(loss.item(), cmpc_loss(image, text, labels, m.W).item(), 1e-6);
  // Unit-norm class columns: scaling W changes nothing.
  EXPECT_NEAR(loss.item(), cmpc_loss(image, text, labels, mul(m.W, 3.0)).item(), 1e-5);
  loss.backward();
  ASSERT_TRUE(m.W.grad().defined());
  EXPECT_TRUE(all_finite(m.W.grad()));
  EXPECT_EQ(m.repr().find("CMPCLoss(feature_size=6, num_classes=3)"), 0u) << m.repr();
}

TEST(ContrastiveLossErrors, BadShapesNameTheLossAndTheShapes) {
  Tensor a = unit_rows(4, 8, 21), b3 = unit_rows(3, 8, 22), d7 = unit_rows(4, 7, 23), ls = param(1.0);
  EXPECT_ERROR_CONTAINS(clip_loss(a, b3, ls), ErrorKind::Shape, "clip_loss", "[4,8]", "[3,8]");
  EXPECT_ERROR_CONTAINS(clip_loss(reshape(a, {32}), a, ls), ErrorKind::Shape, "clip_loss", "[32]", "[4,8]");
  EXPECT_ERROR_CONTAINS(clip_loss(a, a, Tensor::from_vector<float>({1, 2}, {2})), ErrorKind::Shape, "clip_loss",
                        "logit_scale", "[2]");
  EXPECT_ERROR_CONTAINS(clip_logits(a, d7, ls), ErrorKind::Shape, "clip_logits", "[4,8]", "[4,7]");
  EXPECT_ERROR_CONTAINS(clip_loss_from_logits(ops::zeros({3, 4})), ErrorKind::Shape, "clip_loss", "[3,4]");
  EXPECT_ERROR_CONTAINS(siglip_loss(a, d7, ls), ErrorKind::Shape, "siglip_loss", "[4,8]", "[4,7]");
  EXPECT_ERROR_CONTAINS(triplet_loss(a, b3), ErrorKind::Shape, "triplet_loss", "[4,8]", "[3,8]");
  EXPECT_ERROR_CONTAINS(triplet_loss(a, a, {.margin = -1}), ErrorKind::Value, "triplet_loss", "margin");
  EXPECT_ERROR_CONTAINS(contrastive_pair_loss(a, a, ids({0, 1, 1})), ErrorKind::Shape, "contrastive_pair_loss", "[3]",
                        "[4,8]");
  EXPECT_ERROR_CONTAINS(margin_ranking_loss(ops::zeros({4}), ops::zeros({4, 1}), ops::ones({4})), ErrorKind::Shape,
                        "margin_ranking_loss", "[4]", "[4,1]");
  EXPECT_ERROR_CONTAINS(margin_ranking_loss(ops::zeros({4}), ops::zeros({3}), ops::ones({4})), ErrorKind::Shape,
                        "margin_ranking_loss", "[4]", "[3]");
  EXPECT_ERROR_CONTAINS(cmpm_loss(a, a, ids({0, 1, 0})), ErrorKind::Shape, "cmpm_loss", "[3]", "[4,8]");
  EXPECT_ERROR_CONTAINS(cmpm_loss(a, a, ops::zeros({4})), ErrorKind::DType, "cmpm_loss", "labels", "f32");
  EXPECT_ERROR_CONTAINS(cmpc_loss(a, a, ids({0, 1, 0, 1}), ops::zeros({7, 3})), ErrorKind::Shape, "cmpc_loss", "[7,3]",
                        "[4,8]");
  EXPECT_ERROR_CONTAINS(cmpc_loss(a, a, ids({0, 1, 5, 1}), ops::ones({8, 3})), ErrorKind::Index, "target 5",
                        "3 classes");
  EXPECT_ERROR_CONTAINS(ntxent_loss(a, d7), ErrorKind::Shape, "ntxent_loss", "[4,8]", "[4,7]");
  EXPECT_ERROR_CONTAINS(ntxent_loss(a, a, 0.0), ErrorKind::Value, "ntxent_loss", "temperature");
  EXPECT_ERROR_CONTAINS(intra_class_loss(reshape(a, {32}), ids({0})), ErrorKind::Shape, "intra_class_loss", "[32]");
  EXPECT_ERROR_CONTAINS(intra_class_loss(a, ids({0, 1})), ErrorKind::Shape, "intra_class_loss", "[2]", "[4,8]");
  EXPECT_ERROR_CONTAINS(distillation_loss(a, a, ls, b3, b3, ls), ErrorKind::Shape, "distillation_loss", "[3,8]",
                        "[4,8]");
  EXPECT_ERROR_CONTAINS(CMPCLoss(0, 3), ErrorKind::Value, "CMPCLoss", "feature_size");
}

}  // namespace
}  // namespace mm::nn
