// The NCCL backend (CUDA tensors): the same collectives as test_communicator.cpp, checked on the
// host. Runs where a CUDA device is visible — the emulation build (NCCL emulated over MPI, one
// emulated device per process) and a GPU machine; skipped (on every rank alike) otherwise.
#include <gtest/gtest.h>

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

// KNOWN FAILURE in the emulation build (Open MPI 4.1.4, 2 ranks), disabled so the suite stays
// meaningful: after an in-place MPI all-reduce of CPU memory on *another* communicator (ours, or
// even a raw MPI_Allreduce(MPI_IN_PLACE, ...) on a fresh MPI_Comm_dup), the emulated ncclAllGather
// returns stale data on every rank although its input is intact; without the CPU collective it is
// exact. Not diagnosed yet (emulated NCCL over MPI vs Open MPI); DDP mixes the two (its
// construction-time fingerprint is an MPI all_gather), so it matters for emulated multi-rank runs.
// Run with --gtest_also_run_disabled_tests.
TEST(NcclCommunicator, DISABLED_InterleavedWithCpuCollectives) {
  if (cuda_devices() == 0) GTEST_SKIP() << "no CUDA device";
  Communicator& cpu = world_communicator(kCPU);
  Communicator& nccl = world_communicator(cuda_device(cpu.local_rank() % cuda_devices()));
  Tensor X = global_randn({nccl.world() * 2, 3}, 72);
  Tensor t = ops::to_device(my_rows(X, 2), cuda_device(cpu.local_rank() % cuda_devices()));
  nccl.all_reduce(t, ReduceOp::Sum);
  Tensor host = my_rows(X, 2);
  cpu.all_reduce(host, ReduceOp::Sum);
  Tensor gathered = nccl.all_gather(ops::to_device(my_rows(X, 2), t.device()));
  EXPECT_EQ(rel_err(ops::to_device(gathered, kCPU), X), 0.0);
}

}  // namespace
}  // namespace mm::dist
