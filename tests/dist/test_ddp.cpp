// DistributedDataParallel against single-process training on the global batch, which every rank
// computes itself from the shared seed. f64 throughout: DDP and the reference differ only in the
// order of floating-point additions (the averaging over ranks, the gathered matmuls), ~1e-16
// relative per value. Gradients and losses are compared at 1e-12 (room for the roundings of a few
// hundred operations); parameters after AdamW steps at 1e-10, because Adam divides by √v and so
// passes the gradients' relative error on to the update roughly unchanged for each of the steps.
// A wrong factor (w, 1/w), a missing rank's term or an unreduced bucket are O(1e-2) or larger.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/dist.h"
#include "nn/containers.h"
#include "nn/ddp.h"
#include "nn/layers.h"
#include "tests/common/expect_error.h"
#include "tests/dist/dist_test_util.h"
#include "train/optim.h"

namespace mm::nn {
namespace {

using dist::testing::comm;
using dist::testing::global_randn;
using dist::testing::rel_err;
using dist::testing::rows_of;

// An image MLP, a text projection and CLIP's learned log logit scale; optionally a layer the loss
// never uses.
class TwoTower : public Module {
 public:
  TwoTower(int64_t din, int64_t dout, bool with_unused = false) : Module("TwoTower") {
    img = register_module("img", std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
                                     std::make_shared<Linear>(din, 8), Tanh(), std::make_shared<Linear>(8, dout)}));
    txt = register_module("txt", std::make_shared<Linear>(din, dout));
    logit_scale = full({}, std::log(1 / 0.07), DType::F32);
    register_parameter("logit_scale", &logit_scale);
    if (with_unused) unused = register_module("unused", std::make_shared<Linear>(2, 2));
  }
  std::shared_ptr<Sequential> img;
  std::shared_ptr<Linear> txt, unused;
  Tensor logit_scale;
};

std::shared_ptr<TwoTower> make_model(uint64_t seed, bool with_unused = false) {
  manual_seed(seed);
  auto m = std::make_shared<TwoTower>(5, 4, with_unused);
  m->to(DType::F64);
  return m;
}

// Symmetric InfoNCE with local-loss semantics: this rank's b rows against all w·b columns; the
// targets of rank r's rows are columns r·b .. r·b + b − 1. With gather = identity and offset 0 it is
// the single-process loss on the global batch.
Tensor info_nce(TwoTower& m, const Tensor& x, const Tensor& y, bool distributed) {
  Tensor img = normalize(m.img->forward(x)), txt = normalize(m.txt->forward(y));
  Tensor all_img = distributed ? dist::all_gather(img, comm()) : img;
  Tensor all_txt = distributed ? dist::all_gather(txt, comm()) : txt;
  const int64_t b = x.size(0), offset = distributed ? comm().rank() * b : 0;
  Tensor labels = arange(double(offset), double(offset + b), 1, DType::I64);
  Tensor s = exp(m.logit_scale);
  Tensor li = mul(s, matmul(img, transpose(all_txt, 0, 1)));
  Tensor lt = mul(s, matmul(txt, transpose(all_img, 0, 1)));
  return div(add(cross_entropy(li, labels), cross_entropy(lt, labels)), 2.0);
}

void expect_params_close(Module& got, Module& want, double tol, const std::string& what) {
  NamedTensors g = got.named_parameters(), w = want.named_parameters();
  ASSERT_EQ(g.size(), w.size());
  for (size_t i = 0; i < g.size(); ++i) EXPECT_LE(rel_err(g[i].second, w[i].second), tol) << what << " " << g[i].first;
}

void expect_grads_close(Module& got, Module& want, double tol, const std::string& what) {
  NamedTensors g = got.named_parameters(), w = want.named_parameters();
  ASSERT_EQ(g.size(), w.size());
  for (size_t i = 0; i < g.size(); ++i) {
    if (!w[i].second.grad().defined()) continue;
    ASSERT_TRUE(g[i].second.grad().defined()) << what << " " << g[i].first;
    EXPECT_LT(rel_err(g[i].second.grad(), w[i].second.grad()), tol) << what << " " << g[i].first;
  }
}

TEST(DistributedDataParallel, ContrastiveTrainingEqualsSingleProcessOnTheGlobalBatch) {
  const int w = comm().world(), r = comm().rank();
  const int64_t b = 3;
  auto model = make_model(100 + r);  // different on every rank: DDP must broadcast rank 0's
  auto ref = make_model(100);        // rank 0's initial values
  DdpOptions opt;
  opt.bucket_bytes = 128;  // several buckets (the parameters total ~1 KB in f64)
  DistributedDataParallel ddp(model, comm(), opt);
  expect_params_close(*model, *ref, 0.0, "after the broadcast (exact)");
  std::vector<std::vector<std::string>> buckets = ddp.bucket_names();
  EXPECT_GE(buckets.size(), 3u);
  // Reverse registration order (named_parameters: own parameters first, then the children's).
  EXPECT_EQ(buckets.front().front(), model->named_parameters().back().first);
  EXPECT_EQ(buckets.back().back(), "logit_scale");

  train::AdamW::Options o;
  o.lr = 1e-2;
  train::AdamW optim(train::weight_decay_groups(*model, 0.1), o);
  train::AdamW ref_optim(train::weight_decay_groups(*ref, 0.1), o);
  for (int step = 0; step < 3; ++step) {
    Tensor X = global_randn({w * b, 5}, 1000 + step), Y = global_randn({w * b, 5}, 2000 + step);
    optim.zero_grad();
    ref_optim.zero_grad();
    Tensor loss = info_nce(*model, rows_of(X, r, b), rows_of(Y, r, b), true);
    ddp.backward(loss);
    Tensor ref_loss = info_nce(*ref, X, Y, false);
    ref_loss.backward();
    Tensor global_loss = ops::contiguous(loss.detach());
    comm().all_reduce(global_loss, dist::ReduceOp::Avg);
    EXPECT_LT(rel_err(global_loss, ref_loss), 1e-12) << "step " << step;
    expect_grads_close(*model, *ref, 1e-12, "step " + std::to_string(step) + " gradient of");
    optim.step();
    ref_optim.step();
  }
  expect_params_close(*model, *ref, 1e-10, "after 3 AdamW steps");
}

TEST(DistributedDataParallel, AParameterWithoutGradientIsAnErrorNamingIt) {
  const int w = comm().world(), r = comm().rank();
  auto model = make_model(7, true);
  DdpOptions opt;
  opt.bucket_bytes = 128;
  Tensor X = global_randn({w * 2, 5}, 3), Y = global_randn({w * 2, 5}, 4);
  {
    DistributedDataParallel ddp(model, comm(), opt);
    Tensor loss = info_nce(*model, rows_of(X, r, 2), rows_of(Y, r, 2), true);
    loss.backward();
    EXPECT_ERROR_CONTAINS(ddp.finish(), ErrorKind::Autograd, "2 parameter(s) received no gradient",
                          "unused.weight", "unused.bias", "find_unused_parameters");
  }
  // DDP is usable again afterwards: the same step with the unused layer frozen reduces fine.
  model->unused->weight.set_requires_grad(false);
  model->unused->bias.set_requires_grad(false);
  DistributedDataParallel ddp2(model, comm(), opt);
  model->zero_grad();
  ddp2.backward(info_nce(*model, rows_of(X, r, 2), rows_of(Y, r, 2), true));
  EXPECT_TRUE(model->txt->weight.grad().defined());
}

TEST(DistributedDataParallel, FindUnusedParametersReducesZerosForThem) {
  const int w = comm().world(), r = comm().rank();
  auto model = make_model(8, true);
  auto ref = make_model(8, true);
  DdpOptions opt;
  opt.find_unused_parameters = true;
  DistributedDataParallel ddp(model, comm(), opt);
  Tensor X = global_randn({w * 2, 5}, 5), Y = global_randn({w * 2, 5}, 6);
  ddp.backward(info_nce(*model, rows_of(X, r, 2), rows_of(Y, r, 2), true));
  info_nce(*ref, X, Y, false).backward();
  expect_grads_close(*model, *ref, 1e-12, "gradient of");
  ASSERT_TRUE(model->unused->weight.grad().defined());
  EXPECT_EQ(rel_err(model->unused->weight.grad(), zeros({2, 2}, DType::F64)), 0.0);
}

// Gradient accumulation: two micro-batches per rank, the first under no_sync, equal one
// single-process step on all 2·w·b samples (MSE has no coupling between samples, so any split of
// the global batch into micro-batches gives the same mean).
TEST(DistributedDataParallel, NoSyncAccumulationEqualsOneBigStep) {
  const int w = comm().world(), r = comm().rank();
  const int64_t b = 2;
  manual_seed(9);
  auto model = std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      std::make_shared<Linear>(3, 6), Tanh(), std::make_shared<Linear>(6, 2)});
  model->to(DType::F64);
  manual_seed(9);
  auto ref = std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      std::make_shared<Linear>(3, 6), Tanh(), std::make_shared<Linear>(6, 2)});
  ref->to(DType::F64);
  DistributedDataParallel ddp(model, comm());
  Tensor X = global_randn({2 * w * b, 3}, 51), T = global_randn({2 * w * b, 2}, 52);

  comm().reset_stats();
  {
    auto guard = ddp.no_sync();
    Tensor x = rows_of(X, r, b), t = rows_of(T, r, b);  // micro-batch 0: block r
    ddp.backward(div(mse_loss(model->forward(x), t), 2.0));
  }
  EXPECT_EQ(comm().stats(dist::Collective::AllReduce).calls, 0) << "no_sync must not communicate";
  Tensor x = rows_of(X, w + r, b), t = rows_of(T, w + r, b);  // micro-batch 1: block w + r
  ddp.backward(div(mse_loss(model->forward(x), t), 2.0));
  EXPECT_GT(comm().stats(dist::Collective::AllReduce).calls, 0);

  mse_loss(ref->forward(X), T).backward();
  expect_grads_close(*model, *ref, 1e-12, "accumulated gradient of");
}

TEST(DistributedDataParallel, BroadcastsBuffersAndRejectsDifferentModels) {
  auto bn = std::make_shared<BatchNorm1d>(3);
  ops::fill_(bn->running_mean, comm().rank() + 1.0);
  DistributedDataParallel ddp(bn, comm());
  EXPECT_EQ(bn->running_mean.to_double_vector(), (std::vector<double>{1.0, 1.0, 1.0}));
  if (comm().world() > 1) {
    // Every rank sees every rank's fingerprint, so all of them fail together.
    auto lin = std::make_shared<Linear>(3, comm().rank() == 0 ? 2 : 3);
    EXPECT_ERROR_CONTAINS(DistributedDataParallel(lin, comm()), ErrorKind::Value, "differ from rank 0's");
  }
}

}  // namespace
}  // namespace mm::nn
