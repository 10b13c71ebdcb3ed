// image_pipeline_1t / image_pipeline_2t: the training input path of one image — decode a 500x375
// JPEG from disk (tests/golden/images/bench_500x375.jpg, 47 KB, written by tools/golden/images.py),
// RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize → f32 [3, 224, 224].
//   _1t: one image per iteration on one thread;
//   _2t: two images per iteration, one on each of two persistent worker threads (as the loader's
//        workers run; the peer uses a ThreadPoolExecutor(2)), so images/s = 2 / (time per iteration).
//        Not parallel_for: its OpenMP barrier spins, and on a loaded 2-core machine a spinning
//        thread delays the other image (measured: 9-13 ms instead of 4.4 ms an iteration).
// Each image gets its own SampleRng(seed, 0, image index), so crops vary as in training.
// Peers: bench/peers/image_pipeline_{1t,2t}.py (PIL + torchvision, same file, same transforms).
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "bench/bench_common.h"
#include "data/image/decode.h"
#include "data/image/pipeline.h"

namespace {

// The repository root from this file's path (CMake compiles it by absolute path); bench/CMakeLists.txt
// defines no source-dir macro.
std::string jpeg_path() {
  std::string here = __FILE__;
  here.resize(here.rfind("bench/bench_image.cpp"));
  return here + "tests/golden/images/bench_500x375.jpg";
}
const std::string kJpeg = jpeg_path();

mm::Tensor one_image(const mm::data::TransformPipeline& pipe, uint64_t index) {
  const mm::data::Image img = mm::data::decode_image_file(kJpeg);
  mm::data::SampleRng rng(1, 0, index);
  return pipe.apply(img, rng);
}

void image_pipeline_1t(benchmark::State& state) {
  const mm::data::TransformPipeline pipe(mm::data::TransformOptions{}, true);
  uint64_t index = 0;
  for (auto _ : state) {
    mm::Tensor t = one_image(pipe, index++);
    benchmark::DoNotOptimize(t.raw_data());
  }
  state.SetItemsProcessed(state.iterations());
}

// Two threads that each run job(k) once per run_once() call and then block (no spinning).
class TwoWorkers {
 public:
  explicit TwoWorkers(std::function<void(int)> job) : job_(std::move(job)) {
    for (int k = 0; k < 2; ++k) threads_[k] = std::thread([this, k] { loop(k); });
  }
  ~TwoWorkers() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    start_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void run_once() {
    std::unique_lock<std::mutex> l(mu_);
    ++generation_;
    pending_ = 2;
    start_.notify_all();
    done_.wait(l, [&] { return pending_ == 0; });
  }

 private:
  void loop(int k) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu_);
        start_.wait(l, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      job_(k);
      std::lock_guard<std::mutex> l(mu_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
  std::function<void(int)> job_;
  std::mutex mu_;
  std::condition_variable start_, done_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::thread threads_[2];
};

void image_pipeline_2t(benchmark::State& state) {
  const mm::data::TransformPipeline pipe(mm::data::TransformOptions{}, true);
  uint64_t index = 0;
  mm::Tensor out[2];
  TwoWorkers workers([&](int k) { out[k] = one_image(pipe, index + static_cast<uint64_t>(k)); });
  for (auto _ : state) {
    workers.run_once();
    index += 2;
    benchmark::DoNotOptimize(out[0].raw_data());
    benchmark::DoNotOptimize(out[1].raw_data());
  }
  state.SetItemsProcessed(2 * state.iterations());
}

}  // namespace

BENCHMARK(image_pipeline_1t)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(image_pipeline_2t)->UseRealTime()->Unit(benchmark::kMillisecond);
