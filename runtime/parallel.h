// Deterministic CPU parallelism.
//
// parallel_for splits [begin, end) into one contiguous chunk per thread (OpenMP static schedule).
// The partition depends only on the range, the grain and the thread count, never on timing, so a
// kernel whose chunks write disjoint outputs, or whose per-chunk partial results are combined in
// chunk order, gives bitwise-identical results run to run for a given thread count.
//
// We use OpenMP so that our loops and OpenBLAS (the OpenMP build, libopenblas-openmp-dev) share one
// thread pool: with 2 cores, two competing pools would oversubscribe them.
#pragma once

#include <cstdint>
#include <functional>

namespace mm {

int num_threads();
void set_num_threads(int n);  // also sets OpenBLAS's thread count
bool in_parallel_region();

// Calls f(chunk_begin, chunk_end) on each chunk. Runs inline when the range is smaller than
// `grain` elements (thread start-up costs more than it saves) or when already inside a parallel region.
void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& f);

// The fixed chunking parallel_reduce uses: the number of chunks for n elements. Depends on n and the
// grain only (not on thread count), so reductions give identical bits whatever the thread count.
int64_t reduction_chunks(int64_t n, int64_t grain);

}  // namespace mm
