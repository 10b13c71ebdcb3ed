// The MPI process group, for backends that bootstrap over MPI (NCCL's unique id) and for tests.
// mpi.h stays out of this header, so including it costs nothing and pulls no MPI C++ bindings.
#pragma once

#include <chrono>
#include <cstddef>

namespace mm::dist {

struct MpiWorld {
  int rank = 0;
  int world = 1;
  int local_rank = 0;  // rank among the processes on this host (MPI_COMM_TYPE_SHARED)
};

// Initialises MPI on first use (MPI_Init_thread; finalised at exit unless someone else initialised it),
// installs the fault handling described in communicator.h, and returns this process's place in the job.
const MpiWorld& mpi_world();

// Blocking broadcast of raw bytes over the job's private MPI communicator (NCCL's unique id).
void mpi_broadcast_bytes(void* data, size_t nbytes, int root, const char* op);

// For a backend's wait loop (NCCL's): call poll() while waiting; once a peer has announced its exit
// and the wait has gone on for a grace period (10 s) after that, it aborts the job naming the peer
// (see mpi_communicator.cpp).
struct PeerExitWatch {
  bool noticed = false;
  int rank = -1;
  std::chrono::steady_clock::time_point since;
  void poll(const char* op);
};

}  // namespace mm::dist
