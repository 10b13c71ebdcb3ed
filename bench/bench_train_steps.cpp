// Training steps of the towers: forward, loss, backward and an AdamW update, as a user's training loop
// runs them. One iteration = zero_grad + forward + cross-entropy + backward + AdamW.step on:
//   train_resnet18_112_b32   torchvision ResNet-18 (1000 classes) @112 px, batch 32, train mode
//   train_resnet50_224_b16   torchvision ResNet-50 (1000 classes) @224 px, batch 16
//   train_vit_s16_224_b16    ViT-S/16 (384 wide, 12 layers, 6 heads; 1000 classes) @224 px, batch 16
//   train_bert4x256_b64x32   BERT 4 layers × 256 (4 heads, 1024 FFN, vocab 30522, dropout 0.1) with its
//                            pooler and a 2-class linear head, batch 64 × 32 tokens
//   train_clip_rn18_bert_b64 SPEC §9's CLIP step: DualEncoder(ResNet-18 @64 px, that BERT's pooler output),
//                            linear projections to 256, CLIP InfoNCE, batch 64 × 32 tokens, then the
//                            logit-scale clamp
// AdamW: lr 1e-3, weight decay 0.1 on matrices and convolution kernels, none on vectors (OpenCLIP's
// split). Peers: bench/peers/train_*.py (torchvision models; BERT written out in plain PyTorch with
// Hugging Face's structure, so the peer needs no transformers package).
#include <memory>

#include "autograd/grad/loss.h"
#include "bench/bench_common.h"
#include "models/bert.h"
#include "models/dual_encoder.h"
#include "models/resnet.h"
#include "models/vit.h"
#include "nn/layers.h"
#include "nn/losses/clip.h"
#include "ops/creation.h"
#include "train/optim.h"

namespace {

using namespace mm;

// Runs the step loop: `loss()` builds the forward graph and returns the scalar loss.
template <typename LossFn>
void train_loop(benchmark::State& state, train::AdamW& opt, LossFn&& loss) {
  for (auto _ : state) {
    opt.zero_grad();
    Tensor l = loss();
    l.backward();
    opt.step();
    benchmark::DoNotOptimize(l.raw_data());
  }
}

template <typename Model>
void image_step(benchmark::State& state, std::shared_ptr<Model> model, int64_t batch, int64_t size) {
  model->train();
  Tensor images = bench::uniform({batch, 3, size, size}, 11);
  Tensor labels = randint(0, 1000, {batch});
  train::AdamW opt(train::weight_decay_groups(*model, 0.1), {1e-3});
  train_loop(state, opt, [&] { return cross_entropy(model->forward(images), labels); });
}

void train_resnet18_112_b32(benchmark::State& state) {
  auto c = models::ResNetConfig::resnet18();
  c.num_classes = 1000;
  image_step(state, std::make_shared<models::ResNet>(c), 32, 112);
}

void train_resnet50_224_b16(benchmark::State& state) {
  auto c = models::ResNetConfig::resnet50();
  c.num_classes = 1000;
  image_step(state, std::make_shared<models::ResNet>(c), 16, 224);
}

void train_vit_s16_224_b16(benchmark::State& state) {
  auto c = models::ViTConfig::named("vit_s_16");
  c.num_classes = 1000;
  image_step(state, std::make_shared<models::VisionTransformer>(c), 16, 224);
}

// BERT and its classification head under one module, so one optimizer sees both.
class BertClassifier : public nn::Module {
 public:
  BertClassifier() : nn::Module("BertClassifier") {
    bert = register_module("bert", std::make_shared<models::BertModel>(models::BertConfig::named("mini")));
    head = register_module("head", std::make_shared<nn::Linear>(256, 2));
  }
  std::shared_ptr<models::BertModel> bert;
  std::shared_ptr<nn::Linear> head;
};

void train_bert4x256_b64x32(benchmark::State& state) {
  auto model = std::make_shared<BertClassifier>();
  model->train();
  Tensor ids = randint(0, 30522, {64, 32});
  Tensor mask = ops::ones({64, 32}, DType::I64);
  Tensor labels = randint(0, 2, {64});
  train::AdamW opt(train::weight_decay_groups(*model, 0.1), {1e-3});
  train_loop(state, opt, [&] {
    return cross_entropy((*model->head)(model->bert->forward(ids, mask).pooler_output), labels);
  });
}

void train_clip_rn18_bert_b64(benchmark::State& state) {
  models::DualEncoderConfig c;
  c.embed_dim = 256;
  auto model = std::make_shared<models::DualEncoder>(
      std::make_shared<models::ResNet>(models::ResNetConfig::resnet18()),
      std::make_shared<models::BertModel>(models::BertConfig::named("mini")), c);
  model->train();
  Tensor images = bench::uniform({64, 3, 64, 64}, 11);
  Tensor ids = randint(0, 30522, {64, 32});
  Tensor mask = ops::ones({64, 32}, DType::I64);
  train::AdamW opt(train::weight_decay_groups(*model, 0.1), {1e-3});
  for (auto _ : state) {
    opt.zero_grad();
    Tensor l = nn::clip_loss_from_logits(model->forward(images, ids, mask).logits_per_image);
    l.backward();
    opt.step();
    model->clamp_logit_scale();
    benchmark::DoNotOptimize(l.raw_data());
  }
}

}  // namespace

BENCHMARK(train_clip_rn18_bert_b64)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(train_resnet18_112_b32)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(train_resnet50_224_b16)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(train_vit_s16_224_b16)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(train_bert4x256_b64x32)->UseRealTime()->Unit(benchmark::kMillisecond);
