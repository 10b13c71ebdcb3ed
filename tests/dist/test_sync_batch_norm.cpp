// SyncBatchNorm on each rank's slice against nn::BatchNorm2d on the concatenated global batch: output
// rows, input gradients, parameter gradients (summed over ranks: each rank's loss is its share of
// the global sum) and running statistics. f64: the two differ only in summation order (~1e-16
// relative per value); 1e-12 leaves room for the few hundred roundings of the reductions while an
// error in any statistic (per-rank instead of global, biased instead of unbiased) is O(1e-1).
// The inputs have mean 5 and spread 2, so a one-pass E[x²] − μ² would already lose digits.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "nn/layers.h"
#include "nn/sync_batch_norm.h"
#include "tests/dist/dist_test_util.h"

namespace mm::nn {
namespace {

using dist::testing::comm;
using dist::testing::global_randn;
using dist::testing::my_rows;
using dist::testing::rel_err;

constexpr double kTol = 1e-12;

void set_affine(BatchNorm& bn, const Tensor& weight, const Tensor& bias) {
  NoGradGuard no_grad;
  ops::copy_(bn.weight, weight);
  ops::copy_(bn.bias, bias);
}

TEST(SyncBatchNorm, EqualsBatchNormOnTheGlobalBatch) {
  const int w = comm().world();
  const int64_t n = 2, c = 3;
  Tensor X = add(mul(global_randn({w * n, c, 2, 3}, 61), 2.0), 5.0);
  Tensor R = global_randn({w * n, c, 2, 3}, 62);
  Tensor weight = global_randn({c}, 63), bias = global_randn({c}, 64);

  auto ref = std::make_shared<BatchNorm2d>(c);
  ref->to(DType::F64);
  set_affine(*ref, weight, bias);
  auto sbn = std::make_shared<SyncBatchNorm>(c);
  sbn->to(DType::F64);
  set_affine(*sbn, weight, bias);
  EXPECT_EQ(sbn->state_dict().size(), ref->state_dict().size());
  for (size_t i = 0; i < sbn->state_dict().size(); ++i)
    EXPECT_EQ(sbn->state_dict()[i].first, ref->state_dict()[i].first) << "names must match BatchNorm2d's";

  for (int iter = 0; iter < 2; ++iter) {  // twice: the running statistics accumulate
    Tensor xr = mm::clone(X).detach().set_requires_grad();
    Tensor yr = ref->forward(xr);
    sum(mul(yr, R)).backward();
    Tensor x = my_rows(X, n).set_requires_grad();
    Tensor y = sbn->forward(x);
    sum(mul(y, my_rows(R, n))).backward();

    EXPECT_LT(rel_err(y, my_rows(yr.detach(), n)), kTol) << "iteration " << iter << ": output";
    EXPECT_LT(rel_err(x.grad(), my_rows(xr.grad(), n)), kTol) << "iteration " << iter << ": input gradient";
    for (auto [p, q, name] : {std::tuple{sbn->weight, ref->weight, "weight"}, std::tuple{sbn->bias, ref->bias, "bias"}}) {
      Tensor g = ops::contiguous(p.grad());
      comm().all_reduce(g, dist::ReduceOp::Sum);
      EXPECT_LT(rel_err(g, q.grad()), kTol) << "iteration " << iter << ": " << name << " gradient";
    }
    sbn->zero_grad();
    ref->zero_grad();
    EXPECT_LT(rel_err(sbn->running_mean, ref->running_mean), kTol) << "iteration " << iter;
    EXPECT_LT(rel_err(sbn->running_var, ref->running_var), kTol) << "iteration " << iter;
    EXPECT_EQ(sbn->num_batches_tracked.item(), iter + 1);
  }
  // Eval mode: the running statistics, no communication.
  sbn->eval();
  ref->eval();
  comm().reset_stats();
  Tensor y_eval = sbn->forward(my_rows(X, n));
  EXPECT_EQ(comm().stats(dist::Collective::AllReduce).calls, 0);
  EXPECT_LT(rel_err(y_eval, my_rows(ref->forward(X), n)), kTol);
}

TEST(SyncBatchNorm, ChecksItsInputAndBuildsEitherKind) {
  auto sbn = std::make_shared<SyncBatchNorm>(4);
  EXPECT_THROW(sbn->forward(zeros({2, 3, 2, 2})), Error);
  EXPECT_EQ(make_batch_norm2d(4, true)->type_name(), "SyncBatchNorm");
  EXPECT_EQ(make_batch_norm2d(4, false)->type_name(), "BatchNorm2d");
}

}  // namespace
}  // namespace mm::nn
