// add_16M: c = a + b for two 16M-float tensors, forward only (memory-bound: 3 x 64 MB per iteration).
// Peer: bench/peers/add_16M.py.
#include "bench/bench_common.h"

namespace {

void add_16M(benchmark::State& state) {
  using namespace mm;
  const int64_t n = int64_t{1} << 24;
  const Tensor a = bench::uniform({n}, 1);
  const Tensor b = bench::uniform({n}, 2);
  NoGradGuard no_grad;
  for (auto _ : state) {
    Tensor c = mm::add(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 3 * n * static_cast<int64_t>(sizeof(float)));
}

}  // namespace

BENCHMARK(add_16M)->UseRealTime()->Unit(benchmark::kMillisecond);
