// conv_resnet18_3x3: ResNet-18's 3×3 conv layers forward+backward at batch 32. One iteration runs,
// for each of (64ch, 56²), (128, 28²), (256, 14²), (512, 7²), a 3×3 stride-1 pad-1 conv C→C without
// bias forward, then backward with a fixed random output gradient (grads of input and weight).
// Peer: bench/peers/conv_resnet18_3x3.py.
#include <cmath>
#include <vector>

#include "autograd/grad/conv.h"
#include "bench/bench_common.h"

namespace {

struct Layer {
  mm::Tensor x, w, gy;
};

void conv_resnet18_3x3(benchmark::State& state) {
  using namespace mm;
  constexpr int64_t batch = 32;
  const int64_t shapes[4][2] = {{64, 56}, {128, 28}, {256, 14}, {512, 7}};
  std::vector<Layer> layers;
  double flops = 0;
  for (int i = 0; i < 4; ++i) {
    const int64_t c = shapes[i][0], hw = shapes[i][1];
    const float bound = 1.0f / std::sqrt(static_cast<float>(c * 9));
    Layer l{bench::uniform({batch, c, hw, hw}, 10 + i), bench::uniform({c, c, 3, 3}, 20 + i, -bound, bound),
            bench::uniform({batch, c, hw, hw}, 30 + i)};
    l.x.set_requires_grad(true);
    l.w.set_requires_grad(true);
    layers.push_back(l);
    flops += 3.0 * 2.0 * static_cast<double>(batch * c * hw * hw) * static_cast<double>(c * 9);  // fwd + 2 bwd
  }
  for (auto _ : state) {
    for (const Layer& l : layers) {
      l.x.zero_grad();
      l.w.zero_grad();
      Tensor y = mm::conv2d(l.x, l.w, Tensor(), {1, 1}, {1, 1});
      y.backward(l.gy);
    }
    benchmark::DoNotOptimize(layers.back().w.grad().raw_data());
  }
  state.counters["GFLOPS"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * flops / 1e9, benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(conv_resnet18_3x3)->UseRealTime()->Unit(benchmark::kMillisecond);
