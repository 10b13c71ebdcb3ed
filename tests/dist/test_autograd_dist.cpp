// Differentiable collectives: on every rank, the gradients of the rank's inputs equal the
// single-process gradients of the global function (each rank computes that reference itself from
// the shared seed). All in f64: the distributed and single-process computations differ only in the
// order of floating-point additions, so they agree to ~1e-15 relative; 1e-12 leaves room for the
// few dozen roundings in each value while still catching any missing or doubled term (a factor of
// w or 1/w, or a block of the wrong rank, is an O(1) error).
#include <gtest/gtest.h>

#include "autograd/dist.h"
#include "tests/dist/dist_test_util.h"

namespace mm::dist {
namespace {

using testing::comm;
using testing::global_randn;
using testing::my_rows;
using testing::rel_err;

constexpr double kTol = 1e-12;

// L = mean over the global rows i of logsumexp_j(t · a_i · b_j); rank r holds rows r of a and b and
// computes the mean over its own rows against all columns (local-loss semantics).
TEST(AutogradDist, AllGatherGradientEqualsSingleProcess) {
  const int w = comm().world();
  const int64_t b = 3, d = 4;
  Tensor A = global_randn({w * b, d}, 11), Bm = global_randn({w * b, d}, 12);

  Tensor ra = mm::clone(A).detach().set_requires_grad(), rb = mm::clone(Bm).detach().set_requires_grad();
  Tensor rt = Tensor::from_vector<double>({1.7}, {}).set_requires_grad();
  Tensor ref_loss = mean(logsumexp(mul(rt, matmul(ra, transpose(rb, 0, 1))), {1}));
  ref_loss.backward();

  Tensor a = my_rows(A, b).set_requires_grad(), bb = my_rows(Bm, b).set_requires_grad();
  Tensor t = Tensor::from_vector<double>({1.7}, {}).set_requires_grad();
  Tensor gathered = all_gather(bb, comm());
  EXPECT_EQ(gathered.shape(), (Shape{w * b, d}));
  Tensor loss = mean(logsumexp(mul(t, matmul(a, transpose(gathered, 0, 1))), {1}));
  loss.backward();

  // The global loss is the mean of the local ones.
  Tensor mean_loss = loss.detach();
  comm().all_reduce(mean_loss, ReduceOp::Avg);
  EXPECT_LT(rel_err(mean_loss, ref_loss), kTol);
  // Per-sample inputs: DDP does not average them; the local gradient is w times the global one.
  EXPECT_LT(rel_err(mul(a.grad(), 1.0 / w), my_rows(ra.grad(), b)), kTol) << "rows of a";
  EXPECT_LT(rel_err(mul(bb.grad(), 1.0 / w), my_rows(rb.grad(), b)), kTol) << "rows of b (through all_gather)";
  // A shared parameter: DDP averages it over ranks.
  Tensor tg = ops::contiguous(t.grad());
  comm().all_reduce(tg, ReduceOp::Avg);
  EXPECT_LT(rel_err(tg, rt.grad()), kTol) << "the scale";
}

// L = Σ_r Σ y_r ⊙ W_r with y = all_reduce(x): dL/dx_r = Σ_s W_s on every rank.
TEST(AutogradDist, AllReduceGradientIsTheSumOfAllRanksGradients) {
  const int w = comm().world();
  Tensor W = global_randn({w * 2, 3}, 21), X = global_randn({w * 2, 3}, 22);
  Tensor x = my_rows(X, 2).set_requires_grad();
  Tensor y = all_reduce(x, comm(), ReduceOp::Sum);
  EXPECT_TRUE(x.requires_grad());
  sum(mul(y, my_rows(W, 2))).backward();
  Tensor want_y = zeros({2, 3}, DType::F64), want_g = zeros({2, 3}, DType::F64);
  for (int r = 0; r < w; ++r) {
    want_y = add(want_y, testing::rows_of(X, r, 2));
    want_g = add(want_g, testing::rows_of(W, r, 2));
  }
  EXPECT_LT(rel_err(y, want_y), kTol);
  EXPECT_LT(rel_err(x.grad(), want_g), kTol);
  EXPECT_EQ(rel_err(x, my_rows(X, 2)), 0.0) << "the input must not be modified";
}

// y_r = x_{r−1}: the value arrives from the previous rank and the gradient goes back to it.
TEST(AutogradDist, RingShiftMovesValuesForwardAndGradientsBack) {
  const int w = comm().world(), r = comm().rank();
  Tensor X = global_randn({w * 2, 3}, 31), W = global_randn({w * 2, 3}, 32);
  for (int shift : {1, -1}) {
    Tensor x = my_rows(X, 2).set_requires_grad();
    Tensor y = ring_shift(x, comm(), shift);
    sum(mul(y, my_rows(W, 2))).backward();
    const int from = ((r - shift) % w + w) % w, to = ((r + shift) % w + w) % w;
    EXPECT_LT(rel_err(y, testing::rows_of(X, from, 2)), kTol) << "shift " << shift;
    EXPECT_LT(rel_err(x.grad(), testing::rows_of(W, to, 2)), kTol) << "shift " << shift;
  }
}

// SigLIP's shape of computation: rank r scores its rows of a against every block of b, visiting the
// blocks by chained ring shifts; L = mean over all global pairs of logsigmoid(a_i · b_j − 1).
TEST(AutogradDist, ChainedRingShiftsEqualTheGlobalPairwiseLoss) {
  const int w = comm().world();
  const int64_t b = 2, d = 3, n = w * b;
  Tensor A = global_randn({n, d}, 41), Bm = global_randn({n, d}, 42);
  Tensor ra = mm::clone(A).detach().set_requires_grad(), rb = mm::clone(Bm).detach().set_requires_grad();
  Tensor ref = div(sum(logsigmoid(sub(matmul(ra, transpose(rb, 0, 1)), 1.0))), double(n * n));
  ref.backward();

  Tensor a = my_rows(A, b).set_requires_grad(), bb = my_rows(Bm, b).set_requires_grad();
  Tensor block = bb;
  Tensor local = sum(logsigmoid(sub(matmul(a, transpose(block, 0, 1)), 1.0)));
  for (int k = 1; k < w; ++k) {
    block = ring_shift(block, comm(), 1);
    local = add(local, sum(logsigmoid(sub(matmul(a, transpose(block, 0, 1)), 1.0))));
  }
  // The global loss is the sum of the ranks' terms over n²; each rank's share is local/(n²).
  Tensor loss = div(local, double(n * n));
  loss.backward();
  Tensor total = loss.detach();
  comm().all_reduce(total, ReduceOp::Sum);
  EXPECT_LT(rel_err(total, ref), kTol);
  EXPECT_LT(rel_err(a.grad(), my_rows(ra.grad(), b)), kTol);
  EXPECT_LT(rel_err(bb.grad(), my_rows(rb.grad(), b)), kTol);
}

}  // namespace
}  // namespace mm::dist
