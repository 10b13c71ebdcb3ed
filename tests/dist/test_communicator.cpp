// The communicator's collectives against references each rank computes itself: rank r contributes
// value(r, i) to element i (small integers, exact in every dtype used), so every expected result is
// known locally without trusting the code under test.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/dist/communicator.h"

namespace mm::dist {
namespace {

Communicator& comm() { return world_communicator(); }

double value(int r, int64_t i) { return static_cast<double>((r + 1) * 10 + i % 7); }

template <typename T>
Tensor contribution(int r, const Shape& shape) {
  std::vector<T> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(value(r, static_cast<int64_t>(i)));
  return Tensor::from_vector<T>(v, shape);
}

template <typename T>
void check_all_reduce(DType dt) {
  const int w = comm().world();
  const Shape shape{3, 5};
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max}) {
    Tensor t = contribution<T>(comm().rank(), shape);
    comm().all_reduce(t, op);
    std::vector<double> got = t.to_double_vector();
    for (int64_t i = 0; i < 15; ++i) {
      double sum = 0, max = -1e300;
      for (int r = 0; r < w; ++r) {
        sum += value(r, i);
        max = std::max(max, value(r, i));
      }
      // Integers average with truncation toward zero (NCCL's ncclAvg); the sums are exact.
      double avg = is_floating(dt) ? sum / w : static_cast<double>(static_cast<int64_t>(sum / w));
      double want = op == ReduceOp::Sum ? sum : op == ReduceOp::Avg ? avg : max;
      // f16/bf16: the average of these values is a multiple of 1/w ≤ 81 needing ≤ 9 significant
      // bits, which bf16 (8 bits) may round: a tolerance of one bf16 ulp at 128.
      double tol = dt == DType::BF16 ? 0.5 : dt == DType::F16 ? 0.0625 : 0.0;
      EXPECT_NEAR(got[i], want, tol) << dtype_name(dt) << " " << reduce_op_name(op) << " element " << i;
    }
  }
}

TEST(Communicator, WorldRankAndLocalRank) {
  EXPECT_GE(comm().world(), 1);
  EXPECT_LT(comm().rank(), comm().world());
  EXPECT_LT(comm().local_rank(), comm().world());
  EXPECT_EQ(std::string(comm().backend()), launched_by_mpi() ? "mpi" : "local");
  // Every rank agrees on the world size and ranks are distinct: their sum is w(w−1)/2.
  Tensor t = Tensor::from_vector<int64_t>({comm().rank(), comm().world()}, {2});
  comm().all_reduce(t);
  const int w = comm().world();
  EXPECT_EQ(t.to_double_vector()[0], w * (w - 1) / 2);
  EXPECT_EQ(t.to_double_vector()[1], w * w);
}

TEST(Communicator, AllReduceEveryDType) {
  check_all_reduce<float>(DType::F32);
  check_all_reduce<double>(DType::F64);
  check_all_reduce<int64_t>(DType::I64);
  check_all_reduce<int32_t>(DType::I32);
  check_all_reduce<uint8_t>(DType::U8);
  check_all_reduce<Half>(DType::F16);
  check_all_reduce<BFloat16>(DType::BF16);
}

TEST(Communicator, AllGatherConcatenatesRanksAlongDim0) {
  const int w = comm().world();
  Tensor in = contribution<float>(comm().rank(), {2, 3});
  Tensor out = comm().all_gather(in);
  ASSERT_EQ(out.shape(), (Shape{2 * w, 3}));
  std::vector<double> got = out.to_double_vector();
  for (int r = 0; r < w; ++r)
    for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(got[r * 6 + i], value(r, i)) << "block of rank " << r;
}

TEST(Communicator, ReduceScatterGivesEachRankItsBlock) {
  const int w = comm().world();
  const int me = comm().rank();
  Tensor in = contribution<double>(me, {2 * w, 2});
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Avg}) {
    Tensor out = comm().reduce_scatter(in, op);
    ASSERT_EQ(out.shape(), (Shape{2, 2}));
    std::vector<double> got = out.to_double_vector();
    for (int64_t i = 0; i < 4; ++i) {
      double sum = 0;
      for (int r = 0; r < w; ++r) sum += value(r, me * 4 + i);
      EXPECT_DOUBLE_EQ(got[i], op == ReduceOp::Sum ? sum : sum / w) << reduce_op_name(op) << " element " << i;
    }
  }
}

TEST(Communicator, BroadcastFromEveryRoot) {
  for (int root = 0; root < comm().world(); ++root) {
    Tensor t = contribution<int64_t>(comm().rank(), {4});
    comm().broadcast(t, root);
    std::vector<double> got = t.to_double_vector();
    for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(got[i], value(root, i)) << "root " << root;
  }
}

TEST(Communicator, SendRecvRingBothDirections) {
  const int w = comm().world(), me = comm().rank();
  for (int shift : {1, -1, 2}) {
    const int dst = ((me + shift) % w + w) % w, src = ((me - shift) % w + w) % w;
    Tensor out = contribution<float>(me, {5});
    Tensor in = Tensor::empty({5});
    comm().sendrecv(out, dst, in, src);
    std::vector<double> got = in.to_double_vector();
    for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(got[i], value(src, i)) << "shift " << shift;
  }
}

TEST(Communicator, PointToPointSendAndRecv) {
  if (comm().world() < 2) GTEST_SKIP() << "needs two ranks";
  // Rank 0 sends to the last rank; a lone send/recv pair between two ranks, the others idle.
  const int last = comm().world() - 1;
  if (comm().rank() == 0) comm().send(contribution<double>(0, {3}), last);
  if (comm().rank() == last) {
    Tensor in = Tensor::empty({3}, DType::F64);
    comm().recv(in, 0);
    EXPECT_EQ(in.to_double_vector(), (std::vector<double>{value(0, 0), value(0, 1), value(0, 2)}));
  }
  comm().barrier();
}

TEST(Communicator, AsyncWorkCompletesInAnyWaitOrder) {
  const int w = comm().world();
  std::vector<Tensor> ts;
  std::vector<WorkPtr> works;
  for (int k = 0; k < 4; ++k) {
    ts.push_back(Tensor::from_vector<double>({double(k)}, {1}));
    works.push_back(comm().all_reduce_async(ts.back(), ReduceOp::Sum));
  }
  WorkPtr gather = comm().all_gather_async(Tensor::from_vector<float>({float(comm().rank())}, {1}));
  for (int k = 3; k >= 0; --k) works[k]->wait();
  gather->wait();
  EXPECT_TRUE(gather->completed());
  for (int k = 0; k < 4; ++k) EXPECT_EQ(ts[k].to_double_vector()[0], double(k * w)) << "work " << k;
  std::vector<double> g = gather->result().to_double_vector();
  for (int r = 0; r < w; ++r) EXPECT_EQ(g[r], r);
}

TEST(Communicator, ErrorsNameTheCollectiveTheRankAndTheRule) {
  const std::string rank = "rank " + std::to_string(comm().rank());
  Tensor m = contribution<float>(0, {3, 4});
  Tensor transposed = Tensor::make_view(m.storage(), {4, 3}, {1, 4}, 0, DType::F32);
  try {
    comm().all_reduce(transposed);
    ADD_FAILURE() << "a non-contiguous tensor was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("all_reduce (" + rank), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not contiguous"), std::string::npos) << e.what();
  }
  if (comm().world() > 1) {
    try {
      comm().reduce_scatter(contribution<float>(0, {comm().world() + 1, 2}));
      ADD_FAILURE() << "a dim 0 not divisible by the world size was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("multiple of the world size"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(comm().send(m, comm().world()), Error);
  EXPECT_THROW(comm().all_gather(Tensor::from_vector<float>({1.f}, {})), Error);
  EXPECT_THROW(comm().all_reduce(Tensor::from_vector<bool>({true}, {1})), Error);
}

TEST(Communicator, ByteCountersCountPayloads) {
  comm().reset_stats();
  Tensor t = contribution<float>(comm().rank(), {10});
  comm().all_reduce(t);
  comm().all_reduce(t);
  comm().all_gather(t);
  EXPECT_EQ(comm().stats(Collective::AllReduce).calls, 2);
  EXPECT_EQ(comm().stats(Collective::AllReduce).bytes, 80);
  EXPECT_EQ(comm().stats(Collective::AllGather).bytes, 40);
  EXPECT_EQ(comm().stats(Collective::Broadcast).calls, 0);
}

TEST(LocalCommunicator, IsTheIdentityForAWorldOfOne) {
  LocalCommunicator local(DeviceKind::CPU);
  Tensor t = contribution<float>(3, {2, 2});
  Tensor g = local.all_gather(t);
  EXPECT_FALSE(g.same(t));
  EXPECT_EQ(g.to_double_vector(), t.to_double_vector());
  local.all_reduce(t, ReduceOp::Avg);
  EXPECT_EQ(t.to_double_vector(), contribution<float>(3, {2, 2}).to_double_vector());
  Tensor in = Tensor::empty({2, 2});
  local.sendrecv(t, 0, in, 0);
  EXPECT_EQ(in.to_double_vector(), t.to_double_vector());
  EXPECT_THROW(local.send(t, 0), Error);  // would never complete
}

}  // namespace
}  // namespace mm::dist
