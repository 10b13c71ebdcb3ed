// tiny_ops_10k: framework overhead. On [4]-element tensors, a chain of 10,000 small differentiable
// ops (2,500 x {mul by a tensor, add a scalar, tanh, sub a tensor}) forward, then backward through
// the whole chain. Reports the time per op (us_per_op = iteration time / 10,000).
// Peer: bench/peers/tiny_ops_10k.py.
#include "bench/bench_common.h"

namespace {

constexpr int kReps = 2500;
constexpr int kOps = 4 * kReps;

void tiny_ops_10k(benchmark::State& state) {
  using namespace mm;
  const Tensor x = bench::uniform({4}, 7);
  x.set_requires_grad(true);
  const Tensor scale = ops::full({4}, 1.0001);
  const Tensor shift = ops::full({4}, 0.0001);
  const Tensor gy = ops::ones({4});
  for (auto _ : state) {
    Tensor y = x;
    for (int r = 0; r < kReps; ++r) {
      y = mm::mul(y, scale);
      y = mm::add(y, 0.0001);
      y = mm::tanh(y);
      y = mm::sub(y, shift);
    }
    y.backward(gy);
    benchmark::DoNotOptimize(x.grad().raw_data());
    x.zero_grad();
  }
  state.counters["us_per_op"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kOps / 1e6,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK(tiny_ops_10k)->UseRealTime()->Unit(benchmark::kMillisecond);
