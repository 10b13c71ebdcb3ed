// The NCCL backend (CUDA tensors): the same collectives as test_communicator.cpp, checked on the
// host. Runs where a CUDA device is visible — the emulation build (NCCL emulated over MPI, one
// emulated device per process) and a GPU machine; skipped (on every rank alike) otherwise.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "autograd/dist.h"
#include "ops/copy.h"
#include "tests/dist/dist_test_util.h"

namespace mm::dist {
namespace {

using testing::global_randn;
using testing::my_rows;
using testing::rel_err;

int cuda_devices() { return device_backend_available(DeviceKind::CUDA) ? device_backend(DeviceKind::CUDA, "test").device_count() : 0; }

TEST(NcclCommunicator, CollectivesOnCudaTensors) {
  if (cuda_devices() == 0) GTEST_SKIP() << "no CUDA device";
  Communicator& cpu = world_communicator(kCPU);
  const Device dev = cuda_device(cpu.local_rank() % cuda_devices());
  Communicator& nccl = world_communicator(dev);
  EXPECT_EQ(std::string(nccl.backend()), launched_by_mpi() ? "nccl" : "local");
  EXPECT_EQ(nccl.rank(), cpu.rank());
  const int w = nccl.world();
  Tensor X = global_randn({w * 2, 3}, 71);

  // all_reduce (sum, avg, max) against the reduction of every rank's rows, computed here.
  Tensor sum_rows = zeros({2, 3}, DType::F64), max_rows = testing::rows_of(X, 0, 2);
  for (int r = 0; r < w; ++r) {
    sum_rows = add(sum_rows, testing::rows_of(X, r, 2));
    max_rows = maximum(max_rows, testing::rows_of(X, r, 2));
  }
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max}) {
    Tensor t = ops::to_device(my_rows(X, 2), dev);
    nccl.all_reduce(t, op);
    Tensor want = op == ReduceOp::Sum ? sum_rows : op == ReduceOp::Avg ? div(sum_rows, double(w)) : max_rows;
    // Sums of w values of order 1 in another order: a few ulps.
    EXPECT_LT(rel_err(ops::to_device(t, kCPU), want), 1e-15) << reduce_op_name(op);
  }
  // all_gather reassembles X; reduce_scatter of X gives w times my block (X is the same everywhere).
  Tensor gathered = nccl.all_gather(ops::to_device(my_rows(X, 2), dev));
  EXPECT_EQ(rel_err(ops::to_device(gathered, kCPU), X), 0.0);
  Tensor scattered = nccl.reduce_scatter(ops::to_device(X, dev), ReduceOp::Sum);
  EXPECT_LT(rel_err(ops::to_device(scattered, kCPU), mul(my_rows(X, 2), double(w))), 1e-15);
  // broadcast from the last rank, and a ring step.
  Tensor b = ops::to_device(my_rows(X, 2), dev);
  nccl.broadcast(b, w - 1);
  EXPECT_EQ(rel_err(ops::to_device(b, kCPU), testing::rows_of(X, w - 1, 2)), 0.0);
  Tensor in = Tensor::empty({2, 3}, DType::F64, dev);
  nccl.sendrecv(ops::to_device(my_rows(X, 2), dev), (nccl.rank() + 1) % w, in, (nccl.rank() + w - 1) % w);
  EXPECT_EQ(rel_err(ops::to_device(in, kCPU), testing::rows_of(X, (nccl.rank() + w - 1) % w, 2)), 0.0);
  nccl.barrier();
  // The differentiable all_gather on the device: backward is NCCL's reduce_scatter.
  Tensor x = ops::to_device(my_rows(X, 2), dev).set_requires_grad();
  sum(mul(all_gather(x, nccl), 3.0)).backward();
  EXPECT_LT(rel_err(ops::to_device(x.grad(), kCPU), full({2, 3}, 3.0 * w, DType::F64)), 1e-15);
  // Wrong device kind: a clear error, no communication.
  EXPECT_THROW(nccl.all_reduce(my_rows(X, 2)), Error);
}

// A copy that shares nothing with `t`. my_rows(X, b) and rows_of are *views* of X whenever the rows
// are contiguous (ops::contiguous returns its argument then), so an in-place collective on them
// writes into X itself; the tests below give in-place collectives copies.
Tensor copy_of(const Tensor& t) {
  Tensor c = Tensor::empty(t.shape(), t.dtype(), t.device());
  ops::copy_(c, t);
  return c;
}

// The sum over ranks of every rank's b rows of X, computed here.
Tensor sum_of_blocks(const Tensor& X, int w, int64_t b) {
  Tensor s = zeros({b, X.size(1)}, X.dtype());
  for (int r = 0; r < w; ++r) s = add(s, testing::rows_of(X, r, b));
  return s;
}

// Issue 8: "an in-place CPU all-reduce followed by an NCCL all_gather returns stale data" was this
// test's own aliasing — the CPU all-reduce ran on my_rows(X, 2), a view of X, so it replaced this
// rank's rows of X (the reference) by their sum over ranks; the NCCL all_gather then gathered those
// sums and was compared with the altered X. The same sequence on a copy, with every step checked.
TEST(NcclCommunicator, InterleavedWithCpuCollectives) {
  if (cuda_devices() == 0) GTEST_SKIP() << "no CUDA device";
  Communicator& cpu = world_communicator(kCPU);
  const Device dev = cuda_device(cpu.local_rank() % cuda_devices());
  Communicator& nccl = world_communicator(dev);
  const int w = nccl.world();
  Tensor X = global_randn({w * 2, 3}, 72);
  const Tensor X0 = copy_of(X);
  const Tensor sum_rows = sum_of_blocks(X, w, 2);

  Tensor t = ops::to_device(my_rows(X, 2), dev);
  nccl.all_reduce(t, ReduceOp::Sum);
  Tensor host = copy_of(my_rows(X, 2));
  cpu.all_reduce(host, ReduceOp::Sum);
  Tensor gathered = nccl.all_gather(ops::to_device(my_rows(X, 2), dev));
  // Sums of w values in another order: a few ulps; moved data: exact.
  EXPECT_LT(rel_err(ops::to_device(t, kCPU), sum_rows), 1e-15);
  EXPECT_LT(rel_err(host, sum_rows), 1e-15);
  EXPECT_EQ(rel_err(ops::to_device(gathered, kCPU), X), 0.0);
  EXPECT_EQ(rel_err(X, X0), 0.0) << "a collective wrote into the reference";
}

// What misled the diagnosis of issue 8, pinned for both backends: an in-place collective on a
// contiguous view writes through to the viewed tensor - exactly the view's rows, nothing else.
TEST(NcclCommunicator, InPlaceCollectiveOnAViewWritesThrough) {
  if (cuda_devices() == 0) GTEST_SKIP() << "no CUDA device";
  Communicator& cpu = world_communicator(kCPU);
  const Device dev = cuda_device(cpu.local_rank() % cuda_devices());
  Communicator& nccl = world_communicator(dev);
  const int w = nccl.world(), r = nccl.rank();
  Tensor X = global_randn({w * 2, 3}, 73);
  // Rank r's rows of X replaced by their sum over ranks: what an in-place all-reduce of a view of
  // them must leave in X.
  std::vector<double> want = X.to_double_vector();
  const std::vector<double> sums = sum_of_blocks(X, w, 2).to_double_vector();
  std::copy(sums.begin(), sums.end(), want.begin() + r * 6);

  Tensor host = copy_of(X);
  cpu.all_reduce(ops::slice(host, 0, r * 2, (r + 1) * 2), ReduceOp::Sum);
  Tensor device = ops::to_device(X, dev);
  nccl.all_reduce(ops::slice(device, 0, r * 2, (r + 1) * 2), ReduceOp::Sum);
  const std::vector<double> got_cpu = host.to_double_vector();
  const std::vector<double> got_nccl = ops::to_device(device, kCPU).to_double_vector();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got_cpu[i], want[i], 1e-14) << "mpi, element " << i;
    EXPECT_NEAR(got_nccl[i], want[i], 1e-14) << "nccl, element " << i;
  }
}

// Other interleavings of the two backends (they share one MPI in the emulation build): broadcast
// then reduce_scatter, and CPU collectives left in flight while NCCL ones run.
TEST(NcclCommunicator, CpuBroadcastThenNcclReduceScatter) {
  if (cuda_devices() == 0) GTEST_SKIP() << "no CUDA device";
  Communicator& cpu = world_communicator(kCPU);
  const Device dev = cuda_device(cpu.local_rank() % cuda_devices());
  Communicator& nccl = world_communicator(dev);
  const int w = nccl.world();
  Tensor X = global_randn({w * 2, 3}, 74);
  for (int round = 0; round < 3; ++round) {
    const int root = (w - 1 + round) % w;
    Tensor b = copy_of(my_rows(X, 2));
    cpu.broadcast(b, root);
    Tensor scattered = nccl.reduce_scatter(ops::to_device(X, dev), ReduceOp::Sum);
    Tensor nb = ops::to_device(my_rows(X, 2), dev);
    nccl.broadcast(nb, root);
    Tensor gathered = cpu.all_gather(copy_of(my_rows(X, 2)));
    EXPECT_EQ(rel_err(b, testing::rows_of(X, root, 2)), 0.0) << "round " << round;
    EXPECT_LT(rel_err(ops::to_device(scattered, kCPU), mul(my_rows(X, 2), double(w))), 1e-15) << "round " << round;
    EXPECT_EQ(rel_err(ops::to_device(nb, kCPU), testing::rows_of(X, root, 2)), 0.0) << "round " << round;
    EXPECT_EQ(rel_err(gathered, X), 0.0) << "round " << round;
  }
}

TEST(NcclCommunicator, CpuCollectivesInFlightDuringNcclOnes) {
  if (cuda_devices() == 0) GTEST_SKIP() << "no CUDA device";
  Communicator& cpu = world_communicator(kCPU);
  const Device dev = cuda_device(cpu.local_rank() % cuda_devices());
  Communicator& nccl = world_communicator(dev);
  const int w = nccl.world(), r = nccl.rank();
  Tensor X = global_randn({w * 2, 3}, 75);
  const Tensor sum_rows = sum_of_blocks(X, w, 2);
  for (int round = 0; round < 3; ++round) {
    // Started, not waited for: MPI progresses them while the NCCL operations below wait.
    Tensor host = copy_of(my_rows(X, 2));
    WorkPtr cpu_reduce = cpu.all_reduce_async(host, ReduceOp::Sum);
    WorkPtr cpu_gather = cpu.all_gather_async(copy_of(my_rows(X, 2)));
    Tensor ring_in = Tensor::empty({2, 3}, DType::F64);
    WorkPtr cpu_ring = cpu.sendrecv_async(copy_of(my_rows(X, 2)), (r + 1) % w, ring_in, (r + w - 1) % w);

    Tensor gathered = nccl.all_gather(ops::to_device(my_rows(X, 2), dev));
    Tensor t = ops::to_device(my_rows(X, 2), dev);
    nccl.all_reduce(t, ReduceOp::Sum);
    Tensor nccl_in = Tensor::empty({2, 3}, DType::F64, dev);
    nccl.sendrecv(ops::to_device(my_rows(X, 2), dev), (r + w - 1) % w, nccl_in, (r + 1) % w);  // the other way

    cpu_ring->wait();
    cpu_gather->wait();
    cpu_reduce->wait();
    EXPECT_EQ(rel_err(ops::to_device(gathered, kCPU), X), 0.0) << "round " << round;
    EXPECT_LT(rel_err(ops::to_device(t, kCPU), sum_rows), 1e-15) << "round " << round;
    EXPECT_EQ(rel_err(ops::to_device(nccl_in, kCPU), testing::rows_of(X, (r + 1) % w, 2)), 0.0) << "round " << round;
    EXPECT_LT(rel_err(host, sum_rows), 1e-15) << "round " << round;
    EXPECT_EQ(rel_err(cpu_gather->result(), X), 0.0) << "round " << round;
    EXPECT_EQ(rel_err(ring_in, testing::rows_of(X, (r + w - 1) % w, 2)), 0.0) << "round " << round;
  }
}

}  // namespace
}  // namespace mm::dist
