// The towers on the CUDA device against the same PyTorch golden files as the CPU tests
// (tests/golden/towers): forward ≤ 1e-4, input gradients ≤ 1e-3 relative. Skips without a device; in
// the emulation build every kernel of every tower runs.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "models/bert.h"
#include "models/lstm_text.h"
#include "models/resnet.h"
#include "models/vit.h"
#include "ops/copy.h"
#include "tests/models/golden.h"

namespace mm::models {
namespace {

using testing::Golden;

const Device kGpu = cuda_device(0);

Tensor on_gpu(const Tensor& t) { return ops::to_device(t, kGpu); }
Tensor gpu_leaf(const Tensor& t) { return on_gpu(t).detach().set_requires_grad(true); }

TEST(TowersOnCuda, ResNetTrainModeMatchesTorchvision) {
  if (!device_backend_available(DeviceKind::CUDA)) GTEST_SKIP() << "no CUDA device";
  Golden g("resnet_basic_train");
  ResNet m(testing::resnet_config(g));
  m.load_state_dict(g.group("weights/"));
  m.to(kGpu);
  Tensor x = gpu_leaf(g.at("inputs/pixel_values"));
  Tensor fmap = m.forward_tokens(x);
  Tensor pooled = flatten(adaptive_avg_pool2d(fmap, {1, 1}), 1);
  EXPECT_MATCHES_GOLDEN(fmap, g.at("outputs/feature_map"), 1e-4, "feature map");
  add(sum(mul(fmap, on_gpu(g.at("loss_weights/feature_map")))), sum(mul(pooled, on_gpu(g.at("loss_weights/pooled")))))
      .backward();
  EXPECT_MATCHES_GOLDEN(x.grad(), g.at("grads/inputs/pixel_values"), 1e-3, "d/dx");
  for (const auto& [name, want] : g.group("outputs/running/"))
    for (const auto& [bname, b] : m.named_buffers())
      if (bname == name) EXPECT_MATCHES_GOLDEN(b, want, 1e-4, name + " after the forward");
}

TEST(TowersOnCuda, ViTMatchesTorchvision) {
  if (!device_backend_available(DeviceKind::CUDA)) GTEST_SKIP() << "no CUDA device";
  Golden g("vit");
  VisionTransformer m(testing::vit_config(g));
  m.load_state_dict(g.group("weights/"));
  m.eval();
  m.to(kGpu);
  Tensor x = gpu_leaf(g.at("inputs/pixel_values"));
  Tensor tokens = m.forward_tokens(x);
  EXPECT_MATCHES_GOLDEN(tokens, g.at("outputs/tokens"), 1e-4, "tokens");
  add(sum(mul(tokens, on_gpu(g.at("loss_weights/tokens")))),
      sum(mul(select(tokens, 1, 0), on_gpu(g.at("loss_weights/pooled")))))
      .backward();
  EXPECT_MATCHES_GOLDEN(x.grad(), g.at("grads/inputs/pixel_values"), 1e-3, "d/dx");
}

TEST(TowersOnCuda, BertMatchesHuggingFace) {
  if (!device_backend_available(DeviceKind::CUDA)) GTEST_SKIP() << "no CUDA device";
  Golden g("bert");
  BertModel m(testing::bert_config(g));
  m.load_state_dict(g.group("weights/"));
  m.eval();
  m.to(kGpu);
  Tensor ids = on_gpu(g.at("inputs/input_ids"));
  Tensor words = gpu_leaf((*m.word_embeddings)(ids));
  BertOutput out = m.forward(ids, on_gpu(g.at("inputs/attention_mask")), on_gpu(g.at("inputs/token_type_ids")), words);
  EXPECT_MATCHES_GOLDEN(out.last_hidden_state, g.at("outputs/last_hidden_state"), 1e-4, "last_hidden_state");
  EXPECT_MATCHES_GOLDEN(out.pooler_output, g.at("outputs/pooler_output"), 1e-4, "pooler_output");
  add(sum(mul(out.last_hidden_state, on_gpu(g.at("loss_weights/last_hidden_state")))),
      sum(mul(out.pooler_output, on_gpu(g.at("loss_weights/pooler_output")))))
      .backward();
  EXPECT_MATCHES_GOLDEN(words.grad(), g.at("grads/inputs/inputs_embeds"), 1e-3, "d/d word embeddings");
}

TEST(TowersOnCuda, LstmTextMatchesPyTorch) {
  if (!device_backend_available(DeviceKind::CUDA)) GTEST_SKIP() << "no CUDA device";
  Golden g("lstm_text");
  LSTMTextEncoder m(testing::lstm_text_config(g));
  m.load_state_dict(g.group("weights/"));
  m.eval();
  m.to(kGpu);
  Tensor ids = on_gpu(g.at("inputs/input_ids"));
  Tensor emb = gpu_leaf((*m.embedding)(ids));
  LSTMTextOutput out = m.forward(ids, on_gpu(g.at("inputs/lengths")), emb);
  EXPECT_MATCHES_GOLDEN(out.per_step, g.at("outputs/per_step"), 1e-4, "per_step");
  EXPECT_MATCHES_GOLDEN(out.pooled, g.at("outputs/pooled"), 1e-4, "pooled");
  add(sum(mul(out.per_step, on_gpu(g.at("loss_weights/per_step")))),
      sum(mul(out.pooled, on_gpu(g.at("loss_weights/pooled")))))
      .backward();
  EXPECT_MATCHES_GOLDEN(emb.grad(), g.at("grads/inputs/inputs_embeds"), 1e-3, "d/d embeddings");
}

}  // namespace
}  // namespace mm::models
