// matmul_1024: C = A·B, 1024×1024×1024 f32, forward only. Peer: bench/peers/matmul_1024.py.
#include "autograd/grad/linalg.h"
#include "bench/bench_common.h"

namespace {

void matmul_1024(benchmark::State& state) {
  using namespace mm;
  constexpr int64_t n = 1024;
  const Tensor a = bench::uniform({n, n}, 1);
  const Tensor b = bench::uniform({n, n}, 2);
  NoGradGuard no_grad;
  for (auto _ : state) {
    Tensor c = mm::matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.counters["GFLOPS"] = benchmark::Counter(static_cast<double>(state.iterations()) * 2.0 * n * n * n / 1e9,
                                                benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(matmul_1024)->UseRealTime()->Unit(benchmark::kMillisecond);
