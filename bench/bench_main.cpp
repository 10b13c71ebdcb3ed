// The benchmark program's entry point: sets the thread count before any case runs.
#include <cstdlib>
#include <string>

#include "bench/bench_common.h"
#include "runtime/parallel.h"

namespace mm::bench {

int bench_threads() {
  const char* env = std::getenv("MMALIGN_THREADS");
  if (env != nullptr && *env != '\0') {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return 2;
}

Tensor uniform(const Shape& shape, uint64_t seed, float lo, float hi) {
  Tensor t = Tensor::empty(shape, DType::F32, kCPU);
  float* p = t.data<float>();
  const int64_t n = t.numel();
  parallel_for(0, n, 1 << 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = lo + (hi - lo) * philox_uniform(seed, static_cast<uint64_t>(i));
  });
  return t;
}

}  // namespace mm::bench

int main(int argc, char** argv) {
  const int threads = mm::bench::bench_threads();
  mm::set_num_threads(threads);
  benchmark::AddCustomContext("mmalign_threads", std::to_string(threads));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
