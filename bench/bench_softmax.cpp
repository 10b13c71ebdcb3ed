// softmax_8192x768: softmax along the last dim of [8192, 768], forward + backward with a fixed random
// output gradient. Peer: bench/peers/softmax_8192x768.py.
#include "autograd/grad/softmax.h"
#include "bench/bench_common.h"

namespace {

void softmax_8192x768(benchmark::State& state) {
  using namespace mm;
  const Tensor x = bench::uniform({8192, 768}, 1, -4.0f, 4.0f);
  x.set_requires_grad(true);
  const Tensor gy = bench::uniform({8192, 768}, 4);
  for (auto _ : state) {
    x.zero_grad();
    Tensor y = mm::softmax(x, -1);
    y.backward(gy);
    benchmark::DoNotOptimize(x.grad().raw_data());
  }
}

}  // namespace

BENCHMARK(softmax_8192x768)->UseRealTime()->Unit(benchmark::kMillisecond);
