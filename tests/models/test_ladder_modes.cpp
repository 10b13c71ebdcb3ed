// The two modes of CrossAttentionHead and what pair-fused mode does to the ladder (SPEC §5.3). In
// pair-fused mode every sequence has one token, every softmax is over one key and equals 1, so no
// rung can attend:
//   - v0 and v1 return the other modality's input unchanged: a plain dual encoder with the roles
//     swapped (logits = the dual encoder's logits transposed);
//   - v5 and v7 return identical image and text outputs (v7 from the text alone), so every pair
//     scores cos = 1 and the loss cannot learn — their failure in the seed is structural;
//   - every rung except v3, v5, v10_2 and v10_6 computes image_out from the text alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "autograd/functions.h"
#include "models/cross_attention/head.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "runtime/philox.h"

namespace mm::models {
namespace {

std::vector<double> values(const Tensor& t) { return ops::to_device(t, kCPU).to_double_vector(); }

std::shared_ptr<CrossAttentionHead> head_for(const std::string& rung, uint64_t seed = 21) {
  manual_seed(seed);
  auto head = std::make_shared<CrossAttentionHead>(make_rung(rung, 16, 4, 0.1, 32));
  head->eval();
  return head;
}

// cos(a_i, b_j) / temp computed here from scratch: the dual-encoder logits.
std::vector<double> dual_encoder_logits(const Tensor& a, const Tensor& b, double temp) {
  auto av = values(a), bv = values(b);
  const int64_t n = a.size(0), d = a.size(1);
  std::vector<double> out;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0, na = 0, nb = 0;
      for (int64_t k = 0; k < d; ++k) {
        dot += av[i * d + k] * bv[j * d + k];
        na += av[i * d + k] * av[i * d + k];
        nb += bv[j * d + k] * bv[j * d + k];
      }
      out.push_back(dot / std::sqrt(na) / std::sqrt(nb) / temp);
    }
  return out;
}

TEST(LadderPairFused, V0AndV1AreADualEncoderWithTheRolesSwapped) {
  for (const std::string rung : {"v0", "v1"}) {
    auto head = head_for(rung);
    manual_seed(22);
    Tensor image = ops::randn({5, 16}), text = ops::randn({5, 16});
    HeadOutput o = head->pair_fused(image, text);
    // softmax over one key = 1 exactly, and 1·x = x: the outputs ARE the other side's inputs.
    EXPECT_EQ(values(o.image), values(text)) << rung;
    EXPECT_EQ(values(o.text), values(image)) << rung;
    // logits[i, j] = cos(text_i, image_j)/temp: the dual encoder's cos(image_j, text_i)/temp, transposed.
    auto dual = dual_encoder_logits(image, text, head->temp.item());
    auto got = values(o.logits);
    for (int64_t i = 0; i < 5; ++i)
      for (int64_t j = 0; j < 5; ++j) EXPECT_NEAR(got[i * 5 + j], dual[j * 5 + i], 1e-4) << rung << " " << i << "," << j;
  }
}

TEST(LadderPairFused, V5AndV7GiveIdenticalImageAndTextOutputs) {
  for (const std::string rung : {"v5", "v7"}) {
    auto head = head_for(rung);
    manual_seed(23);
    Tensor image = ops::randn({4, 16}), text = ops::randn({4, 16});
    HeadOutput o = head->pair_fused(image, text);
    EXPECT_EQ(values(o.image), values(o.text)) << rung;  // bit for bit
    // Every pair's own logit is 1/temp, whatever the inputs: nothing to learn from the diagonal.
    auto l = values(o.logits);
    for (int64_t i = 0; i < 4; ++i) EXPECT_NEAR(l[i * 5], 1.0 / head->temp.item(), 1e-3) << rung;
  }
  // Contrast: in token mode (N > 1) attention is not trivial and the two sides differ.
  auto head = head_for("v5");
  manual_seed(24);
  HeadOutput t = head->token(ops::randn({2, 3, 16}), ops::randn({2, 3, 16}));
  EXPECT_NE(values(t.image), values(t.text));
}

// At N = 1 the attended value is the other side's value, so image_out is a function of the text
// alone — except where a rung mixes the raw/normalised input back in (v3's residual, v5's ½ mix,
// v10_2's gate on [a, I], v10_6's similarity term).
TEST(LadderPairFused, ImageOutputIgnoresTheImageExceptInMixingRungs) {
  const std::set<std::string> mixing{"v3", "v5", "v10_2", "v10_6"};
  for (const std::string& rung : rung_names()) {
    auto head = head_for(rung);
    manual_seed(25);
    Tensor image = ops::randn({3, 16}), text = ops::randn({3, 16}), other_image = ops::randn({3, 16});
    HeadOutput a = head->pair_fused(image, text), b = head->pair_fused(other_image, text);
    if (mixing.count(rung))
      EXPECT_NE(values(a.image), values(b.image)) << rung;
    else
      EXPECT_EQ(values(a.image), values(b.image)) << rung;
  }
}

// v7 goes further: both outputs are the text's (norm(to_out(v_T))), so its logits do not depend on
// the images at all.
TEST(LadderPairFused, V7IgnoresTheImagesEntirely) {
  auto head = head_for("v7");
  manual_seed(26);
  Tensor text = ops::randn({3, 16});
  EXPECT_EQ(values(head->pair_fused(ops::randn({3, 16}), text).logits),
            values(head->pair_fused(ops::randn({3, 16}), text).logits));
}

// With one key the weights are constant, so nothing flows back into the scores: the query and key
// projections learn nothing in the source's setting (and do in token mode).
TEST(LadderPairFused, QueryAndKeyProjectionsGetNoGradient) {
  for (const std::string rung : {"v9", "v11"}) {
    auto head = head_for(rung);
    manual_seed(28);
    HeadOutput o = head->pair_fused(ops::randn({3, 16}), ops::randn({3, 16}));
    sum(mul(o.logits, o.logits)).backward();
    std::map<std::string, Tensor> grads;
    for (const auto& [name, p] : head->named_parameters()) grads[name] = p.grad();
    for (double g : values(grads.at("cross_attention.to_q.weight"))) ASSERT_EQ(g, 0.0) << rung;
    const std::string kv = rung == "v9" ? "cross_attention.to_k.weight" : "cross_attention.to_kv.weight";
    auto k = values(grads.at(kv));
    for (size_t i = 0; i < 16 * 16; ++i) ASSERT_EQ(k[i], 0.0) << rung << " " << kv;  // (v11: the key half)
    double v_grad = 0;
    for (double g : values(grads.at("cross_attention.to_out.weight"))) v_grad = std::max(v_grad, std::fabs(g));
    EXPECT_GT(v_grad, 0.0) << rung;
    head->zero_grad();
    HeadOutput t = head->token(ops::randn({3, 4, 16}), ops::randn({3, 5, 16}));
    sum(mul(t.logits, t.logits)).backward();
    double q_grad = 0;
    for (const auto& [name, p] : head->named_parameters())
      if (name == "cross_attention.to_q.weight")
        for (double g : values(p.grad())) q_grad = std::max(q_grad, std::fabs(g));
    EXPECT_GT(q_grad, 1e-6) << rung << " token mode";
  }
}

// Token mode pools the real tokens by their mean: with one real token per side the pooled output is
// that token's output, and logits use the pooled vectors.
TEST(LadderTokenMode, PoolsTheMeanOfRealTokens) {
  auto head = head_for("v9");
  manual_seed(27);
  Tensor I = ops::randn({2, 3, 16}), T = ops::randn({2, 4, 16});
  Tensor tm = Tensor::from_vector<bool>({true, true, false, false, true, true, true, true}, {2, 4});
  HeadOutput o = head->token(I, T, tm);
  auto seq = values(o.sequences.text), pooled = values(o.text);
  for (int64_t k = 0; k < 16; ++k) {
    EXPECT_NEAR(pooled[k], (seq[0 * 16 + k] + seq[1 * 16 + k]) / 2, 1e-6);
    double all4 = 0;
    for (int64_t n = 0; n < 4; ++n) all4 += seq[(4 + n) * 16 + k];
    EXPECT_NEAR(pooled[16 + k], all4 / 4, 1e-6);
  }
  auto want = dual_encoder_logits(o.image, o.text, head->temp.item());
  auto got = values(o.logits);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4);
  EXPECT_EQ(o.logits.shape(), (Shape{2, 2}));
}

}  // namespace
}  // namespace mm::models
