// Gradient caching (train/grad_cache.h): on towers without batch statistics, k chunks give the
// gradients of one batch up to f32 rounding, and the trainer's parameters after a few steps agree with
// one-batch training; with BatchNorm, the running statistics are updated once per step, with the mean
// of the chunks' batch statistics.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "nn/losses/clip.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "runtime/philox.h"
#include "tests/common/expect_error.h"
#include "train/alignment_model.h"
#include "train/grad_cache.h"
#include "train/trainer.h"

namespace mm::train {
namespace {

// ViT (LayerNorm only) and BERT without dropout: no sample's output depends on another's.
const char* kNoBatchStats = R"(
model {
  image { vit { patch_size: 8 num_layers: 1 num_heads: 2 hidden_dim: 16 mlp_dim: 32 dropout: 0 } image_size: 32 }
  text { bert { vocab_size: 40 hidden_size: 16 num_layers: 1 num_heads: 2 intermediate_size: 32
                max_position_embeddings: 32 dropout: 0 pooling: "mean" } max_length: 12 }
}
head { embed_dim: 16 }
)";

const char* kResNet = R"(
model {
  image { resnet { layers: [1, 1, 1, 1] widths: [4, 8, 8, 16] } image_size: 32 }
  text { lstm { vocab_size: 40 embed_dim: 8 hidden_size: 8 } max_length: 12 }
}
head { embed_dim: 16 }
)";

struct Batch {
  Tensor images, ids, mask;
};

Batch random_batch(int64_t b) {
  manual_seed(99);
  Batch x;
  x.images = ops::randn({b, 3, 32, 32});
  std::vector<int64_t> ids(static_cast<size_t>(b * 12)), mask(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    ids[i] = 1 + static_cast<int64_t>((i * 7919) % 39);
    mask[i] = (i % 12) < 6 + (i / 12) % 6 ? 1 : 0;  // 6..11 real tokens per row
  }
  x.ids = Tensor::from_vector(ids, {b, 12});
  x.mask = Tensor::from_vector(mask, {b, 12});
  return x;
}

std::vector<Tensor> grads_with_chunks(const config::Config& cfg, const Batch& x, int64_t chunks) {
  manual_seed(1);
  auto model = build_dual_encoder(cfg);
  model->train();
  grad_cache_backward(*model, x.images, x.ids, x.mask, chunks, [&](const Tensor& i, const Tensor& t) {
    return nn::clip_loss_from_logits(model->logits(i, t));
  });
  std::vector<Tensor> g;
  for (const Tensor& p : model->parameters()) g.push_back(p.grad().defined() ? p.grad() : ops::zeros_like(p));
  return g;
}

TEST(GradCache, ChunksGiveTheBatchGradient) {
  const config::Config cfg = parse_config(kNoBatchStats);
  const Batch x = random_batch(8);
  const std::vector<Tensor> one = grads_with_chunks(cfg, x, 1);
  for (int64_t k : {2, 4, 8}) {
    const std::vector<Tensor> many = grads_with_chunks(cfg, x, k);
    ASSERT_EQ(one.size(), many.size());
    for (size_t i = 0; i < one.size(); ++i) {
      const std::vector<double> a = one[i].to_double_vector(), b = many[i].to_double_vector();
      double scale = 0, diff = 0;
      for (size_t j = 0; j < a.size(); ++j) {
        scale = std::max(scale, std::abs(a[j]));
        diff = std::max(diff, std::abs(a[j] - b[j]));
      }
      // f32 rounding: sums are taken in another order (chunks), nothing else differs.
      EXPECT_LE(diff, 1e-5 * scale + 1e-9) << "k=" << k << " parameter " << i << " max|g| " << scale;
    }
    // The gradients are not trivially equal: some parameter has a gradient well away from zero.
    double total = 0;
    for (const Tensor& g : many) total += sum(abs(g)).to_double_vector()[0];
    EXPECT_GT(total, 1e-3);
  }
}

TEST(GradCache, BatchNormRunningStatsUpdateOncePerStepWithTheChunkMean) {
  const config::Config cfg = parse_config(kResNet);
  const Batch x = random_batch(8);
  manual_seed(1);
  auto model = build_dual_encoder(cfg);
  model->train();
  // Reference: each half forwarded from the same starting statistics, the updated values averaged.
  manual_seed(1);
  auto ref = build_dual_encoder(cfg);
  ref->train();
  std::vector<std::vector<double>> sums;
  std::vector<std::pair<std::string, Tensor>> start;
  for (auto& [n, t] : ref->named_buffers()) {
    Tensor c = Tensor::empty(t.shape(), t.dtype(), t.device());
    ops::copy_(c, t);
    start.emplace_back(n, c);
  }
  for (int64_t k = 0; k < 2; ++k) {
    NoGradGuard ng;
    auto buffers = ref->named_buffers();
    for (size_t i = 0; i < buffers.size(); ++i) ops::copy_(buffers[i].second, start[i].second);
    ref->encode_image(narrow(x.images, 0, 4 * k, 4));
    for (size_t i = 0; i < buffers.size(); ++i) {
      std::vector<double> v = buffers[i].second.to_double_vector();
      if (k == 0) {
        sums.push_back(v);
      } else {
        for (size_t j = 0; j < v.size(); ++j) sums[i][j] += v[j];
      }
    }
  }
  grad_cache_backward(*model, x.images, x.ids, x.mask, 2, [&](const Tensor& i, const Tensor& t) {
    return nn::clip_loss_from_logits(model->logits(i, t));
  });
  auto got = model->named_buffers();
  ASSERT_EQ(got.size(), sums.size());
  int checked = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const std::string& name = got[i].first;
    const std::vector<double> v = got[i].second.to_double_vector(), s0 = start[i].second.to_double_vector();
    if (name.find("num_batches_tracked") != std::string::npos) {
      EXPECT_EQ(v[0], s0[0] + 1) << name;  // one update per step
      continue;
    }
    if (name.find("running_") == std::string::npos) continue;
    for (size_t j = 0; j < v.size(); ++j) EXPECT_NEAR(v[j], sums[i][j] / 2, 1e-6 * (1 + std::abs(v[j]))) << name;
    EXPECT_NE(v, s0) << name << " did not move";
    ++checked;
  }
  EXPECT_GT(checked, 4);
}

TEST(GradCache, ChunksMustDivideTheBatch) {
  const config::Config cfg = parse_config(kNoBatchStats);
  const Batch x = random_batch(6);
  auto model = build_dual_encoder(cfg);
  EXPECT_ERROR_CONTAINS(grad_cache_backward(*model, x.images, x.ids, x.mask, 4,
                                            [&](const Tensor& i, const Tensor& t) { return sum(mul(i, t)); }),
                        ErrorKind::Value, "accumulation_chunks = 4", "6 samples");
}

// Through the trainer: 3 SGD steps with 4 chunks against 3 with one batch.
TEST(GradCache, TrainerParametersMatchOneBatchTraining) {
  config::Config cfg = parse_config(kNoBatchStats);
  cfg.mutable_model()->mutable_text()->mutable_bert()->clear_vocab_size();
  cfg.mutable_data()->mutable_synthetic()->set_num_train(64);
  cfg.mutable_data()->mutable_synthetic()->set_image_size(32);
  cfg.mutable_data()->set_num_workers(0);
  cfg.mutable_train()->set_batch_size(16);
  cfg.mutable_train()->set_steps(3);
  cfg.mutable_train()->set_threads(1);
  // SGD: Adam would divide rounding-level gradients (a key bias's, which softmax makes zero in exact
  // arithmetic) by their own magnitude and turn noise into full-size steps.
  cfg.mutable_optim()->set_kind("sgd");
  cfg.mutable_optim()->set_lr(0.5);
  Trainer a(cfg, ".", "");
  cfg.mutable_train()->set_accumulation_chunks(4);
  Trainer b(cfg, ".", "");
  std::vector<std::vector<double>> start;
  for (auto& [name, p] : a.model().named_parameters()) start.push_back(p.to_double_vector());
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(a.step(), b.step(), 1e-5);
  // The two runs' parameter updates agree to f32 rounding of the update: sums over the batch are
  // taken in another order, and three steps compound it (tolerance 1e-4 of the largest update).
  auto pa = a.model().named_parameters(), pb = b.model().named_parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    const std::vector<double> x = pa[i].second.to_double_vector(), y = pb[i].second.to_double_vector();
    double update = 0, diff = 0;
    for (size_t j = 0; j < x.size(); ++j) {
      update = std::max(update, std::abs(x[j] - start[i][j]));
      diff = std::max(diff, std::abs(x[j] - y[j]));
    }
    EXPECT_LE(diff, 1e-4 * update + 1e-7) << pa[i].first << ": largest update " << update;
  }
}

}  // namespace
}  // namespace mm::train
