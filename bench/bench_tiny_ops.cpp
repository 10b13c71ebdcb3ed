// tiny_ops_10k: framework overhead. On [4]-element tensors, a chain of 10,000 small differentiable
// ops (2,500 x {mul by a tensor, add a scalar, tanh, sub a tensor}) forward, then backward through
// the whole chain. Reports the time per op (us_per_op = iteration time / 10,000) and its split into
// forward and backward (fwd_us_per_op, bwd_us_per_op).
// Peer: bench/peers/tiny_ops_10k.py.
#include <chrono>

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
  double fwd_s = 0, bwd_s = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    Tensor y = x;
    for (int r = 0; r < kReps; ++r) {
      y = mm::mul(y, scale);
      y = mm::add(y, 0.0001);
      y = mm::tanh(y);
      y = mm::sub(y, shift);
    }
    const auto t1 = std::chrono::steady_clock::now();
    y.backward(gy);
    fwd_s += std::chrono::duration<double>(t1 - t0).count();
    bwd_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    benchmark::DoNotOptimize(x.grad().raw_data());
    x.zero_grad();
  }
  state.counters["us_per_op"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kOps / 1e6,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  // The split (steady_clock around the two halves): forward and backward time per op, in µs.
  const double ops_total = static_cast<double>(state.iterations()) * kOps;
  state.counters["fwd_us_per_op"] = fwd_s / ops_total * 1e6;
  state.counters["bwd_us_per_op"] = bwd_s / ops_total * 1e6;
}

}  // namespace

BENCHMARK(tiny_ops_10k)->UseRealTime()->Unit(benchmark::kMillisecond);
