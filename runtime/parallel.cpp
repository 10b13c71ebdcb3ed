#include "runtime/parallel.h"

#include <omp.h>

#include <algorithm>

extern "C" void openblas_set_num_threads(int);

namespace mm {

int num_threads() { return omp_get_max_threads(); }

void set_num_threads(int n) {
  if (n < 1) n = 1;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

bool in_parallel_region() { return omp_in_parallel() != 0; }

void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& f) {
  int64_t n = end - begin;
  if (n <= 0) return;
  int nt = num_threads();
  if (nt <= 1 || n <= grain || omp_in_parallel()) {
    f(begin, end);
    return;
  }
  int64_t chunks = std::min<int64_t>(nt, (n + grain - 1) / std::max<int64_t>(grain, 1));
#pragma omp parallel num_threads(static_cast<int>(chunks))
  {
    // OpenMP may start fewer threads than requested (OMP_THREAD_LIMIT, OMP_DYNAMIC): each thread
    // takes every team-size-th chunk, so all chunks run and their boundaries stay the same.
    int64_t team = omp_get_num_threads();
    for (int64_t t = omp_get_thread_num(); t < chunks; t += team) {
      int64_t lo = begin + n * t / chunks;
      int64_t hi = begin + n * (t + 1) / chunks;
      if (lo < hi) f(lo, hi);
    }
  }
}

int64_t reduction_chunks(int64_t n, int64_t grain) {
  if (n <= grain) return 1;
  return std::min<int64_t>(64, (n + grain - 1) / grain);
}

}  // namespace mm
