// The ladder's modules without PyTorch: the factory and its names, the seed's parameter names and
// counts, default initialisation, the errors a user can trigger, padding masks and dropout. (The
// values against PyTorch: test_ladder_golden.cpp; the N = 1 degeneracies: test_ladder_modes.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "models/cross_attention/head.h"
#include "models/cross_attention/rungs.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "runtime/philox.h"
#include "tests/common/expect_error.h"

namespace mm::models {
namespace {

std::vector<std::string> keys(const nn::Module& m) {
  std::vector<std::string> k;
  for (const auto& [name, t] : m.state_dict()) k.push_back(name);
  return k;
}

bool identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && ops::to_device(a, kCPU).to_double_vector() == ops::to_device(b, kCPU).to_double_vector();
}

TEST(LadderFactory, BuildsEveryRungByItsExactName) {
  const std::vector<std::string> want{"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9",
                                      "v10_1", "v10_2", "v10_3", "v10_4", "v10_5", "v10_6", "v11"};
  EXPECT_EQ(rung_names(), want);
  for (const std::string& name : want) {
    auto r = make_rung(name, 16, 4, 0.1, 32);
    EXPECT_EQ(r->version(), name);
    EXPECT_EQ(r->type_name(), "CrossAttention");
  }
  // The seed's evaluation turned every v10_x into v0; here each is its own module.
  EXPECT_NE(std::dynamic_pointer_cast<CrossAttentionV10_1>(make_rung("v10_1", 16, 4)), nullptr);
  EXPECT_NE(std::dynamic_pointer_cast<CrossAttentionV10_6>(make_rung("v10_6", 16, 4)), nullptr);
  EXPECT_EQ(std::dynamic_pointer_cast<CrossAttentionV0>(make_rung("v10_1", 16, 4)), nullptr);
}

TEST(LadderFactory, UnknownNamesListTheValidOnes) {
  for (const char* bad : {"v10", "v10_x", "v10_7", "v12", "V9", "v9 ", "", "v01"})
    EXPECT_ERROR_CONTAINS(make_rung(bad, 16, 4), ErrorKind::Value, "make_rung", std::string("'") + bad + "'",
                          "valid names: v0, v1, v2", "v10_1", "v10_6, v11");
}

TEST(LadderFactory, DefaultsAreTheSeeds) {
  auto r = make_rung("v9", 32);
  EXPECT_EQ(r->heads, 8);
  EXPECT_DOUBLE_EQ(r->dropout_p, 0.1);
  EXPECT_EQ(r->ff_dim, 4 * 32);  // ff_dim or dim * 4
  EXPECT_EQ(make_rung("v9", 32, 8, 0.1, 40)->ff_dim, 40);
  EXPECT_EQ(std::dynamic_pointer_cast<GatedRung>(r)->ffn.ff_out->in_features, 128);
}

// The seed's attribute names, in the seed's registration order where the seed shows the code (v9),
// so a PyTorch state_dict lists the same keys in the same order.
TEST(LadderNames, V9StateDictIsTheSeeds) {
  const std::vector<std::string> want{
      "attn_norm.weight", "attn_norm.bias", "ff_norm.weight", "ff_norm.bias", "to_q.weight", "to_q.bias",
      "to_k.weight",      "to_k.bias",      "to_v.weight",    "to_v.bias",    "to_out.weight", "to_out.bias",
      "ff_gate.0.weight", "ff_gate.0.bias", "ff_value.0.weight", "ff_value.0.bias", "ff_out.weight", "ff_out.bias"};
  EXPECT_EQ(keys(*make_rung("v9", 16, 4)), want);
}

TEST(LadderNames, EveryRungHasItsSeedAttributes) {
  const std::map<std::string, std::vector<std::string>> must{
      {"v0", {}},
      {"v2", {"norm.weight"}},
      {"v4", {"norm.weight", "image_proj.weight", "text_proj.bias"}},
      {"v6", {"norm.bias", "to_q.weight", "to_k.weight", "to_v.weight"}},
      {"v7", {"norm.weight", "to_out.weight"}},
      {"v8", {"norm.weight", "to_out.weight", "out_norm.weight"}},
      {"v10_1", {"image_to_q.weight", "image_to_v.bias", "text_to_k.weight", "to_out.weight"}},
      {"v10_2", {"image_gate.0.weight", "text_gate.0.bias", "gate_norm.weight"}},
      {"v10_3", {"image_context.0.weight", "image_context.2.weight", "text_context.2.bias"}},
      {"v10_4", {"to_q.weight", "to_kv.weight"}},
      {"v10_5", {"level_projections.2.weight", "level_norms.0.bias", "level_weights", "to_k.weight"}},
      {"v10_6", {"contrast_proj.weight", "to_v.weight"}},
      {"v11", {"level_projections.0.weight", "level_weights", "to_kv.bias", "ff_gate.0.weight"}},
  };
  for (const auto& [rung, names] : must) {
    auto k = keys(*make_rung(rung, 16, 4));
    for (const std::string& n : names) EXPECT_NE(std::find(k.begin(), k.end(), n), k.end()) << rung << " " << n;
  }
  EXPECT_TRUE(keys(*make_rung("v0", 16, 4)).empty());
  EXPECT_TRUE(keys(*make_rung("v1", 16, 4)).empty());
  auto k4 = keys(*make_rung("v10_4", 16, 4));
  EXPECT_EQ(std::find(k4.begin(), k4.end(), "to_k.weight"), k4.end()) << "v10_4 fuses to_k and to_v";
  auto k1 = keys(*make_rung("v10_1", 16, 4));
  EXPECT_EQ(std::find(k1.begin(), k1.end(), "to_q.weight"), k1.end()) << "v10_1 has per-modality projections only";
}

// The table in docs/LADDER.md (dim 512, 8 heads, ff_dim 2048); tools/golden/ladder.py's PyTorch
// modules give the same counts.
TEST(LadderNames, ParameterCountsAtDim512) {
  const std::map<std::string, int64_t> want{
      {"v0", 0},          {"v1", 0},          {"v2", 1024},       {"v3", 1024},       {"v4", 526336},
      {"v5", 1024},       {"v6", 788992},     {"v7", 1051648},    {"v8", 1052672},    {"v9", 4203008},
      {"v10_1", 4990976}, {"v10_2", 5254656}, {"v10_3", 5253632}, {"v10_4", 4203008}, {"v10_5", 4994051},
      {"v10_6", 4465664}, {"v11", 4994051}};
  for (const std::string& r : rung_names()) EXPECT_EQ(make_rung(r, 512, 8)->num_parameters(), want.at(r)) << r;
  EXPECT_EQ(CrossAttentionHead(make_rung("v9", 512, 8)).num_parameters(), 4203008 + 1) << "plus temp";
}

TEST(LadderInit, AsPyTorchDefaults) {
  manual_seed(3);
  auto r = std::dynamic_pointer_cast<CrossAttentionV10_5>(make_rung("v10_5", 16, 4));
  ASSERT_NE(r, nullptr);
  for (double w : r->level_weights.to_double_vector()) EXPECT_DOUBLE_EQ(w, static_cast<double>(1.0f / 3.0f));
  for (double w : r->attn_norm->weight.to_double_vector()) EXPECT_EQ(w, 1.0);
  for (double b : r->attn_norm->bias.to_double_vector()) EXPECT_EQ(b, 0.0);
  // nn.Linear: U(−1/√in, 1/√in) for weight and bias; ff_out has in = ff_dim = 64.
  double wmax = 0, bmax = 0;
  for (double w : r->ffn.ff_out->weight.to_double_vector()) wmax = std::max(wmax, std::fabs(w));
  for (double b : r->to_q->bias.to_double_vector()) bmax = std::max(bmax, std::fabs(b));
  EXPECT_LE(wmax, 1.0 / 8.0);
  EXPECT_GT(wmax, 0.8 / 8.0);
  EXPECT_LE(bmax, 1.0 / 4.0);
  CrossAttentionHead head(make_rung("v0", 16, 4));
  EXPECT_NEAR(head.temp.item(), 0.07, 1e-7);
  EXPECT_EQ(head.temp.dim(), 0);
  EXPECT_EQ(keys(head), std::vector<std::string>{"temp"});
  CrossAttentionHead head9(make_rung("v9", 16, 4));
  EXPECT_EQ(keys(head9)[1], "cross_attention.attn_norm.weight");
}

TEST(LadderErrors, ShapesMasksAndSizes) {
  manual_seed(5);
  Tensor I = ops::randn({2, 3, 8}), T = ops::randn({2, 4, 8});
  EXPECT_ERROR_CONTAINS(make_rung("v9", 10, 4), ErrorKind::Value, "CrossAttention v9", "divisible by heads");
  EXPECT_NO_THROW(make_rung("v2", 10, 4)) << "single-head rungs do not split heads";
  EXPECT_ERROR_CONTAINS(make_rung("v9", 8, 2, 1.5), ErrorKind::Value, "dropout");
  auto v9 = make_rung("v9", 8, 2);
  EXPECT_ERROR_CONTAINS(v9->forward(I, ops::randn({3, 4, 8})), ErrorKind::Shape, "same batch size");
  EXPECT_ERROR_CONTAINS(v9->forward(I, ops::randn({2, 4, 6})), ErrorKind::Shape, "dim = 8");
  EXPECT_ERROR_CONTAINS(v9->forward(ops::randn({2, 8}), T), ErrorKind::Shape, "[batch, tokens, 8]");
  EXPECT_ERROR_CONTAINS(v9->forward(I, T, {}, ops::ones({2, 3})), ErrorKind::Shape, "text_mask", "[2,4]");
  EXPECT_ERROR_CONTAINS(v9->forward(I, T, ops::full({2, 3}, 2.0)), ErrorKind::Value, "image_mask", "0 and 1");
  EXPECT_ERROR_CONTAINS(make_rung("v7", 8, 2)->forward(I, T), ErrorKind::Shape, "v7", "3 and 4");
  EXPECT_ERROR_CONTAINS(make_rung("v10_6", 8, 2)->forward(I, T), ErrorKind::Shape, "v10_6", "N_t = 4");
  EXPECT_NO_THROW(make_rung("v10_6", 8, 2)->forward(ops::randn({2, 8, 8}), ops::randn({2, 1, 8})));
  CrossAttentionHead head(make_rung("v2", 8, 2));
  EXPECT_ERROR_CONTAINS(head.pair_fused(ops::randn({2, 8}), ops::randn({3, 8})), ErrorKind::Shape, "pair-fused");
  EXPECT_ERROR_CONTAINS(CrossAttentionHead(make_rung("v2", 8, 2), 0.0), ErrorKind::Value, "temp");
}

// Padded tokens take no part: whatever their values, the pooled outputs and the logits are the same.
// (v7 is the exception the source built in: txt = Aᵀ·v_T indexes text values by image position, so
// padded text values do reach real outputs; only its image-side padding is checked.)
TEST(LadderMasks, PaddedTokensDoNotChangeTheLogits) {
  for (const std::string& rung : rung_names()) {
    const bool v7 = rung == "v7", v10_6 = rung == "v10_6";
    const int64_t d = 8, n_i = v10_6 ? d : 4, n_t = v10_6 ? d : v7 ? 4 : 3;
    manual_seed(11);
    CrossAttentionHead head(make_rung(rung, d, 2, 0.1, 16));
    head.eval();
    Tensor I = ops::randn({2, n_i, d}), T = ops::randn({2, n_t, d});
    std::vector<bool> ti(2 * n_t, true), ii(2 * n_i, true);
    ti.back() = false;             // batch 1: last text token padded
    ii[static_cast<size_t>(n_i - 1)] = false;  // batch 0: last image token padded
    Tensor tm = Tensor::from_vector<bool>(ti, {2, n_t}), im = Tensor::from_vector<bool>(ii, {2, n_i});
    HeadOutput a = head.token(I, T, tm, im);
    // New values at the padded positions only.
    Tensor I2 = add(I, mul(to(unsqueeze(logical_not(im), 2), DType::F32), 5.0));
    Tensor T2 = add(T, mul(to(unsqueeze(logical_not(tm), 2), DType::F32), 5.0));
    HeadOutput b = head.token(I2, v7 ? T : T2, tm, im);
    EXPECT_LE(max(abs(sub(a.logits, b.logits))).item(), 1e-6) << rung;
    EXPECT_LE(max(abs(sub(a.image, b.image))).item(), 1e-6) << rung;
    EXPECT_LE(max(abs(sub(a.text, b.text))).item(), 1e-6) << rung;
    // …and the padding does matter compared with no mask at all (the test can fail).
    HeadOutput c = head.token(I2, v7 ? T : T2);
    EXPECT_GT(max(abs(sub(a.logits, c.logits))).item(), 1e-4) << rung;
    // A 0/1 int64 mask means the same as the bool one.
    HeadOutput e = head.token(I, T, to(tm, DType::I64), to(im, DType::I64));
    EXPECT_TRUE(identical(a.logits, e.logits)) << rung;
  }
}

TEST(LadderMasks, AFullyPaddedCaptionGivesFiniteOutputs) {
  for (const std::string rung : {"v0", "v1", "v8", "v9", "v11"}) {
    manual_seed(12);
    CrossAttentionHead head(make_rung(rung, 8, 2, 0.1, 16));
    head.eval();
    Tensor tm = Tensor::from_vector<bool>({true, true, false, false}, {2, 2});  // batch 1: no real token
    HeadOutput o = head.token(ops::randn({2, 3, 8}), ops::randn({2, 2, 8}), tm);
    for (double v : o.sequences.image.to_double_vector()) ASSERT_TRUE(std::isfinite(v)) << rung;
    for (double v : o.logits.to_double_vector()) ASSERT_TRUE(std::isfinite(v)) << rung;
  }
}

// Train mode: dropout on the attention weights, after to_out and in the FFN. Deterministic under a
// fixed seed, different from eval, same shapes (the golden script checks PyTorch the same way).
TEST(LadderDropout, TrainModeIsSeededAndActive) {
  manual_seed(13);
  CrossAttentionHead head(make_rung("v9", 16, 4, 0.1, 32));
  Tensor I = ops::randn({3, 5, 16}), T = ops::randn({3, 4, 16});
  head.train();
  manual_seed(77);
  HeadOutput a = head.token(I, T);
  manual_seed(77);
  HeadOutput b = head.token(I, T);
  head.eval();
  HeadOutput e = head.token(I, T);
  EXPECT_TRUE(identical(a.sequences.image, b.sequences.image));
  EXPECT_TRUE(identical(a.logits, b.logits));
  EXPECT_EQ(a.sequences.image.shape(), e.sequences.image.shape());
  EXPECT_EQ(a.sequences.text.shape(), e.sequences.text.shape());
  EXPECT_FALSE(identical(a.sequences.image, e.sequences.image));
  HeadOutput e2 = head.token(I, T);
  EXPECT_TRUE(identical(e.logits, e2.logits)) << "eval is deterministic without seeding";
}

// The example of docs/LADDER.md ("Using it"), as written there.
TEST(LadderDocs, UsingItExampleRuns) {
  Tensor I = ops::randn({2, 49, 512}), T = ops::randn({2, 12, 512});
  Tensor text_mask = ops::ones({2, 12}, DType::I64);  // 0/1 masks are fine too

  auto rung = models::make_rung("v9", /*dim=*/512, /*heads=*/8, /*dropout=*/0.1, /*ff_dim=*/0);  // 0: 4·dim
  auto [image_out, text_out] = rung->forward(I, T, /*image_mask=*/{}, text_mask);  // [2,49,512], [2,12,512]

  models::CrossAttentionHead head(rung);  // "temp" (init 0.07) + "cross_attention.*"
  models::HeadOutput tok = head.token(I, T, text_mask);                         // pooled → tok.logits [2, 2]
  models::HeadOutput pairs = head.pair_fused(ops::randn({2, 512}), ops::randn({2, 512}));  // length-1 pairs

  EXPECT_EQ(image_out.shape(), (Shape{2, 49, 512}));
  EXPECT_EQ(text_out.shape(), (Shape{2, 12, 512}));
  EXPECT_EQ(tok.logits.shape(), (Shape{2, 2}));
  EXPECT_EQ(pairs.logits.shape(), (Shape{2, 2}));
}

}  // namespace
}  // namespace mm::models
