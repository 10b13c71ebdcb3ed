// Reference points for reading the results (no PyTorch peer, not in run_compare.py's table): what the
// memory system delivers to plain loops on the same threads, to compare add_16M against.
//   ref_memcpy_64MB : memcpy of 64 MB, split over the threads (2 x 64 MB moved per iteration);
//   ref_add_loop_16M: c[i] = a[i] + b[i] over 16M floats into a preallocated c, split over the threads
//                     (3 x 64 MB per iteration, like add_16M but without tensor allocation or dispatch).
#include <cstring>
#include <vector>

#include "bench/bench_common.h"
#include "runtime/parallel.h"

namespace {

constexpr int64_t kN = int64_t{1} << 24;

void ref_memcpy_64MB(benchmark::State& state) {
  std::vector<float> src(kN, 1.0f), dst(kN, 0.0f);
  for (auto _ : state) {
    mm::parallel_for(0, kN, 1 << 16, [&](int64_t b, int64_t e) {
      std::memcpy(dst.data() + b, src.data() + b, static_cast<size_t>(e - b) * sizeof(float));
    });
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 2 * kN * static_cast<int64_t>(sizeof(float)));
}

void ref_add_loop_16M(benchmark::State& state) {
  std::vector<float> a(kN, 1.0f), b(kN, 2.0f), c(kN, 0.0f);
  for (auto _ : state) {
    mm::parallel_for(0, kN, 1 << 16, [&](int64_t lo, int64_t hi) {
      const float* pa = a.data();
      const float* pb = b.data();
      float* pc = c.data();
      for (int64_t i = lo; i < hi; ++i) pc[i] = pa[i] + pb[i];
    });
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 3 * kN * static_cast<int64_t>(sizeof(float)));
}

}  // namespace

BENCHMARK(ref_memcpy_64MB)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(ref_add_loop_16M)->UseRealTime()->Unit(benchmark::kMillisecond);
