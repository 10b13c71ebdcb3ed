// layer_norm_8192x768: layer norm over the last dim of [8192, 768] with weight and bias (eps 1e-5),
// forward + backward (grads of x, weight and bias) with a fixed random output gradient.
// Peer: bench/peers/layer_norm_8192x768.py.
#include "autograd/grad/norm.h"
#include "bench/bench_common.h"

namespace {

void layer_norm_8192x768(benchmark::State& state) {
  using namespace mm;
  const Tensor x = bench::uniform({8192, 768}, 1);
  const Tensor w = bench::uniform({768}, 2, 0.5f, 1.5f);
  const Tensor b = bench::uniform({768}, 3);
  const Tensor gy = bench::uniform({8192, 768}, 4);
  for (const Tensor& t : {x, w, b}) t.set_requires_grad(true);
  for (auto _ : state) {
    for (const Tensor& t : {x, w, b}) t.zero_grad();
    Tensor y = mm::layer_norm(x, {768}, w, b, 1e-5);
    y.backward(gy);
    benchmark::DoNotOptimize(x.grad().raw_data());
  }
}

}  // namespace

BENCHMARK(layer_norm_8192x768)->UseRealTime()->Unit(benchmark::kMillisecond);
