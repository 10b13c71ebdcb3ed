// The data loader: worker threads build batches ahead of the training loop, into a bounded buffer,
// in an order that depends only on (seed, epoch) — never on the number of workers or on timing.
//
// Sample order: epoch e visits the samples in a Philox permutation keyed by (seed, e) (or in index
// order without shuffle). Global batch k holds positions [k·G, (k+1)·G) of that order, G being the
// GLOBAL batch size; in distributed training rank r of W takes the r-th of W equal slices of every
// global batch (SPEC §8), so the samples of a step are the same whatever W is. drop_last drops the
// final partial batch; without it the last batch is smaller (split as evenly as possible by rank).
//
// Workers: batch k is built by whichever worker is free (examples in order, then `collate`), at
// most `prefetch` batches ahead of the consumer; next() returns batches strictly in order. Every
// random choice a sample makes comes from SampleRng(seed, epoch, sample index) inside `make`, so a
// sample is the same whichever worker builds it. With num_workers = 0 everything runs in next().
//
// Bad samples: `make` throws mm::Error for a sample it cannot build (unreadable image, ...). Policy
// Error (default) rethrows it from next() with the sample index; Skip leaves the sample out of its
// batch and counts it (skipped_total(), and each batch lists its own).
//
// Resuming: position() is (epoch, next batch); start_epoch(epoch, batch) continues from there and
// produces exactly the batches the interrupted run would have.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/tensor.h"

namespace mm::data {

enum class BadSamplePolicy { Error, Skip };

struct Example {
  int64_t index = -1;  // the sample's index in the data set
  Tensor image;        // [3, H, W] f32 (or undefined for text-only sets)
  std::string caption;
  int64_t image_index = -1;  // which image (captions of one image share it)
  int64_t label = -1;
};

struct Batch {
  uint64_t epoch = 0;
  int64_t step = 0;  // batch index within the epoch
  std::vector<Example> examples;
  std::vector<std::string> skipped;  // "sample N: reason", policy Skip only
  Tensor images, input_ids, attention_mask;  // filled by the collate function, if any
};

struct LoaderOptions {
  int64_t batch_size = 64;  // global: all ranks together
  bool shuffle = true;
  bool drop_last = true;
  uint64_t seed = 0;
  int num_workers = 2;
  int prefetch = 4;  // batches built ahead of the consumer, at most
  int rank = 0, world = 1;
  BadSamplePolicy bad_samples = BadSamplePolicy::Error;
};

struct LoaderPosition {
  uint64_t epoch = 0;
  int64_t step = 0;  // the next batch next() will return
};

class Loader {
 public:
  using MakeExample = std::function<Example(int64_t index, uint64_t epoch)>;
  using Collate = std::function<void(Batch&)>;

  Loader(int64_t num_samples, MakeExample make, LoaderOptions options, Collate collate = {});
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  void start_epoch(uint64_t epoch, int64_t first_step = 0);
  // The next batch of the epoch (this rank's slice); false when the epoch is done.
  bool next(Batch& out);

  int64_t steps_per_epoch() const;
  LoaderPosition position() const;
  int64_t skipped_total() const;
  // The global visiting order of an epoch.
  std::vector<int64_t> epoch_order(uint64_t epoch) const;
  // The sample indices of this rank's slice of global batch `step`.
  std::vector<int64_t> batch_indices(const std::vector<int64_t>& order, int64_t step) const;

 private:
  Batch build(int64_t step, uint64_t epoch, const std::vector<int64_t>& order) const;
  void worker_loop();
  void stop_workers();

  int64_t num_samples_;
  MakeExample make_;
  LoaderOptions options_;
  Collate collate_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
  // the current epoch's state (guarded by mu_)
  uint64_t epoch_ = 0;
  uint64_t generation_ = 0;  // bumps at every start_epoch, so stale work is discarded
  std::shared_ptr<const std::vector<int64_t>> order_;
  int64_t next_to_build_ = 0, next_to_return_ = 0, end_step_ = 0;
  std::map<int64_t, Batch> ready_;
  std::map<int64_t, std::exception_ptr> failed_;
  int64_t skipped_ = 0;
};

}  // namespace mm::data
