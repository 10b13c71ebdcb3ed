// The distributed test program: run under mpirun (CI: -np 2 and -np 4, MPI backend); without a
// launcher it runs as a world of one. Every rank runs every test in the same order and makes the same
// collective calls whatever its checks find (EXPECT, not ASSERT, between collectives), so a failure
// on one rank never leaves the others waiting. The exit status is the worst over all ranks. Do not
// run it with --gtest_shuffle or with a --gtest_filter that differs between ranks.
//
// `test_dist --fault=throw|kill|exit` is the fault drill run by test_dist_faults.sh: rank 1 throws,
// kills itself with SIGKILL, or calls exit(1), while the others wait in a collective.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "runtime/dist/communicator.h"

namespace {

// Ranks other than 0 print only their failures, each line prefixed with the rank.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::string line = "rank ";
    line.append(std::to_string(rank_)).append(": ").append(r.file_name() ? r.file_name() : "?").append(":");
    line.append(std::to_string(r.line_number())).append(": ").append(r.summary()).append("\n");
    std::fputs(line.c_str(), stderr);
  }

 private:
  int rank_;
};

[[noreturn]] void fault_drill(const std::string& mode) {
  mm::dist::Communicator& comm = mm::dist::world_communicator();
  mm::Tensor t = mm::Tensor::from_vector<float>({1.f, 2.f}, {2});
  comm.all_reduce(t);  // everyone is up and talking
  if (comm.rank() == 1) {
    if (mode == "kill") std::raise(SIGKILL);
    if (mode == "exit") std::exit(1);  // an error path that forgets abort_world: exit runs MPI_Finalize
    // Uncaught on purpose: the terminate handler must bring the whole job down.
    mm::fail(mm::ErrorKind::Runtime, "fault_drill", "rank 1 fails on purpose");
  }
  // The other ranks wait for rank 1 in a collective that will never complete.
  comm.all_reduce(t);
  comm.barrier();
  std::fputs("fault drill: a surviving rank got past a collective rank 1 never joined\n", stderr);
  std::_Exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--fault=", 8) == 0) fault_drill(argv[i] + 8);
  }
  ::testing::InitGoogleTest(&argc, argv);
  mm::dist::Communicator& comm = mm::dist::world_communicator();
  if (comm.rank() != 0) {
    ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(comm.rank()));
  }
  int rc = RUN_ALL_TESTS() == 0 ? 0 : 1;
  mm::Tensor status = mm::Tensor::from_vector<int32_t>({rc}, {1});
  comm.all_reduce(status, mm::dist::ReduceOp::Max);
  const int worst = static_cast<int>(status.item());
  if (comm.rank() == 0 && worst != 0 && rc == 0) std::fputs("another rank failed (see its lines above)\n", stderr);
  return worst;
}
