// The dual encoder (models/dual_encoder.h): unit-norm embeddings, logits = exp(logit_scale)·I·Tᵀ
// (+ bias) checked against a plain loop, the logit-scale initialisation and clamp, fixed
// temperature, projection kinds, state-dict names, gradients reaching every part, and errors.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "models/dual_encoder.h"
#include "models/lstm_text.h"
#include "models/resnet.h"
#include "nn/losses/clip.h"
#include "tests/common/expect_error.h"

namespace mm::models {
namespace {

std::shared_ptr<ResNet> tiny_resnet() {
  ResNetConfig c;
  c.layers = {1, 1, 1, 1};
  c.widths = {4, 8, 8, 8};
  return std::make_shared<ResNet>(c);
}

std::shared_ptr<LSTMTextEncoder> tiny_lstm(int64_t hidden = 5) {
  LSTMTextConfig c;
  c.vocab_size = 20;
  c.embed_dim = 6;
  c.hidden_size = hidden;
  return std::make_shared<LSTMTextEncoder>(c);
}

struct Batch {
  Tensor images = randn({3, 3, 32, 32});
  Tensor ids = Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 0}, {3, 4});
  Tensor mask = Tensor::from_vector<int64_t>({1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0}, {3, 4});
};

TEST(DualEncoder, LogitsAreScaledCosinesOfUnitEmbeddings) {
  manual_seed(3);
  DualEncoderConfig c;
  c.embed_dim = 6;
  auto model = std::make_shared<DualEncoder>(tiny_resnet(), tiny_lstm(), c);
  model->eval();
  Batch b;
  DualEncoderOutput out = model->forward(b.images, b.ids, b.mask);
  ASSERT_EQ(out.image_embeds.shape(), Shape({3, 6}));
  ASSERT_EQ(out.logits_per_image.shape(), Shape({3, 3}));
  auto I = out.image_embeds.to_double_vector(), T = out.text_embeds.to_double_vector();
  auto L = out.logits_per_image.to_double_vector();
  EXPECT_NEAR(model->scale(), 1.0 / 0.07, 1e-4);
  for (int i = 0; i < 3; ++i) {
    double ni = 0, nt = 0;
    for (int k = 0; k < 6; ++k) {
      ni += I[i * 6 + k] * I[i * 6 + k];
      nt += T[i * 6 + k] * T[i * 6 + k];
    }
    EXPECT_NEAR(ni, 1.0, 1e-5);
    EXPECT_NEAR(nt, 1.0, 1e-5);
    for (int j = 0; j < 3; ++j) {
      double dot = 0;
      for (int k = 0; k < 6; ++k) dot += I[i * 6 + k] * T[j * 6 + k];
      EXPECT_NEAR(L[i * 3 + j], dot / 0.07, 1e-4) << i << "," << j;
    }
  }
}

TEST(DualEncoder, NamesFollowTowersAndHeads) {
  DualEncoderConfig c;
  c.embed_dim = 6;
  c.projection = "linear_ln";
  c.logit_bias = true;
  DualEncoder model(tiny_resnet(), tiny_lstm(), c);
  std::vector<std::string> names;
  for (auto& [n, t] : model.named_parameters()) names.push_back(n);
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  EXPECT_TRUE(has("logit_scale"));
  EXPECT_TRUE(has("logit_bias"));
  EXPECT_TRUE(has("image.conv1.weight"));
  EXPECT_TRUE(has("text.embedding.weight"));
  EXPECT_TRUE(has("text.lstm.weight_ih_l0_reverse"));
  EXPECT_TRUE(has("image_projection.0.weight"));
  EXPECT_FALSE(has("image_projection.0.bias"));  // open_clip's projections have no bias
  EXPECT_TRUE(has("image_projection.1.weight"));  // the LayerNorm
  EXPECT_TRUE(has("text_projection.1.bias"));
}

TEST(DualEncoder, ClampKeepsTheScaleInZeroToLn100) {
  DualEncoderConfig c;
  c.embed_dim = 4;
  DualEncoder model(tiny_resnet(), tiny_lstm(), c);
  ops::fill_(model.logit_scale, 7.0);
  model.clamp_logit_scale();
  EXPECT_NEAR(model.logit_scale.to_double_vector()[0], std::log(100.0), 1e-6);
  EXPECT_NEAR(model.scale(), 100.0, 1e-3);
  ops::fill_(model.logit_scale, -0.5);
  model.clamp_logit_scale();
  EXPECT_EQ(model.logit_scale.to_double_vector()[0], 0.0);
  ops::fill_(model.logit_scale, 1.25);
  model.clamp_logit_scale();
  EXPECT_NEAR(model.logit_scale.to_double_vector()[0], 1.25, 1e-7);
  EXPECT_TRUE(model.logit_scale.requires_grad());  // still the learnable leaf after clamping
}

TEST(DualEncoder, FixedTemperatureIsABufferAndDividesTheCosines) {
  DualEncoderConfig c;
  c.embed_dim = 4;
  c.fixed_temperature = 0.07;
  DualEncoder model(tiny_resnet(), tiny_lstm(), c);
  for (auto& [n, t] : model.named_parameters()) EXPECT_NE(n, "logit_scale");
  bool in_buffers = false;
  for (auto& [n, t] : model.named_buffers()) in_buffers = in_buffers || n == "logit_scale";
  EXPECT_TRUE(in_buffers);
  ops::fill_(model.logit_scale, 9.0);  // clamping leaves a fixed temperature alone
  model.clamp_logit_scale();
  EXPECT_EQ(model.logit_scale.to_double_vector()[0], 9.0);
}

TEST(DualEncoder, SigLipBiasIsAdded) {
  DualEncoderConfig c;
  c.embed_dim = 4;
  c.logit_bias = true;
  c.init_logit_scale = std::log(10.0);
  DualEncoder model(tiny_resnet(), tiny_lstm(), c);
  Tensor i = normalize(randn({2, 4}), 2.0, -1), t = normalize(randn({2, 4}), 2.0, -1);
  auto l = model.logits(i, t).to_double_vector();
  auto ref = matmul(i, transpose(t, 0, 1)).to_double_vector();
  for (size_t k = 0; k < l.size(); ++k) EXPECT_NEAR(l[k], 10.0 * ref[k] - 10.0, 1e-4);
}

TEST(DualEncoder, ClipLossGradientsReachEveryPart) {
  for (const char* proj : {"linear", "linear_ln", "mlp"}) {
    DualEncoderConfig c;
    c.embed_dim = 4;
    c.projection = proj;
    auto model = std::make_shared<DualEncoder>(tiny_resnet(), tiny_lstm(), c);
    model->train();
    Batch b;
    DualEncoderOutput out = model->forward(b.images, b.ids, b.mask);
    nn::clip_loss_from_logits(out.logits_per_image).backward();
    for (auto& [n, p] : model->named_parameters()) {
      ASSERT_TRUE(p.grad().defined()) << proj << ": no gradient for " << n;
    }
  }
}

TEST(DualEncoder, ProjectionNoneNeedsEqualWidths) {
  DualEncoderConfig c;
  c.projection = "none";
  EXPECT_ERROR_CONTAINS(DualEncoder(tiny_resnet(), tiny_lstm(5), c), ErrorKind::Shape, "projection 'none'",
                        "8-d", "10-d");
  DualEncoder same(tiny_resnet(), tiny_lstm(4), c);  // bi-LSTM 2×4 = 8 = ResNet's width
  Batch b;
  EXPECT_EQ(same.encode_text(b.ids, b.mask).shape(), Shape({3, 8}));
  c.projection = "conv";
  EXPECT_ERROR_CONTAINS(DualEncoder(tiny_resnet(), tiny_lstm(), c), ErrorKind::Value, "unknown projection 'conv'");
}

}  // namespace
}  // namespace mm::models
