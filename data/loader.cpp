#include "data/loader.h"

#include <algorithm>
#include <numeric>

#include "data/sample_rng.h"
#include "runtime/error.h"

namespace mm::data {

Loader::Loader(int64_t num_samples, MakeExample make, LoaderOptions options, Collate collate)
    : num_samples_(num_samples), make_(std::move(make)), options_(options), collate_(std::move(collate)) {
  const char* op = "loader";
  MM_CHECK(num_samples_ > 0, Value, op, "the data set is empty");
  MM_CHECK(options_.world >= 1 && options_.rank >= 0 && options_.rank < options_.world, Value, op, "rank ",
           options_.rank, " is not in [0, world = ", options_.world, ")");
  MM_CHECK(options_.batch_size >= 1 && options_.batch_size % options_.world == 0, Value, op, "the global batch size ",
           options_.batch_size, " must be a positive multiple of the world size ", options_.world);
  MM_CHECK(!options_.drop_last || num_samples_ >= options_.batch_size, Value, op, "the data set has ", num_samples_,
           " samples, fewer than one batch of ", options_.batch_size, " (with drop_last nothing would be left)");
  MM_CHECK(options_.num_workers >= 0 && options_.prefetch >= 1, Value, op, "num_workers must be >= 0 and prefetch >= 1");
  for (int w = 0; w < options_.num_workers; ++w) workers_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() { stop_workers(); }

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

int64_t Loader::steps_per_epoch() const {
  const int64_t g = options_.batch_size;
  return options_.drop_last ? num_samples_ / g : (num_samples_ + g - 1) / g;
}

std::vector<int64_t> Loader::epoch_order(uint64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(num_samples_));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (options_.shuffle) {  // Fisher–Yates from one (seed, epoch) stream
    SampleRng rng(options_.seed, epoch, 0x5A3F1E);
    for (int64_t i = num_samples_ - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  }
  return order;
}

std::vector<int64_t> Loader::batch_indices(const std::vector<int64_t>& order, int64_t step) const {
  const int64_t begin = step * options_.batch_size;
  const int64_t size = std::min<int64_t>(options_.batch_size, num_samples_ - begin);
  const int64_t w = options_.world, r = options_.rank;
  const int64_t lo = begin + size * r / w, hi = begin + size * (r + 1) / w;
  return {order.begin() + lo, order.begin() + hi};
}

Batch Loader::build(int64_t step, uint64_t epoch, const std::vector<int64_t>& order) const {
  Batch b;
  b.epoch = epoch;
  b.step = step;
  for (int64_t index : batch_indices(order, step)) {
    try {
      b.examples.push_back(make_(index, epoch));
      b.examples.back().index = index;
    } catch (const Error& e) {
      if (options_.bad_samples == BadSamplePolicy::Error)
        fail(e.kind(), "loader", "sample ", index, " (epoch ", epoch, ", batch ", step, "): ", e.what());
      b.skipped.push_back("sample " + std::to_string(index) + ": " + e.what());
    }
  }
  if (collate_ && !b.examples.empty()) collate_(b);
  return b;
}

void Loader::worker_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] {
      return stopping_ || (order_ && next_to_build_ < end_step_ && next_to_build_ < next_to_return_ + options_.prefetch);
    });
    if (stopping_) return;
    const int64_t step = next_to_build_++;
    const uint64_t gen = generation_, epoch = epoch_;
    auto order = order_;
    lock.unlock();
    Batch b;
    std::exception_ptr err;
    try {
      b = build(step, epoch, *order);
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    if (gen != generation_) continue;  // the epoch was restarted meanwhile: drop the stale batch
    if (err)
      failed_[step] = err;
    else
      ready_[step] = std::move(b);
    cv_.notify_all();
  }
}

void Loader::start_epoch(uint64_t epoch, int64_t first_step) {
  MM_CHECK(first_step >= 0 && first_step <= steps_per_epoch(), Value, "loader", "resume step ", first_step,
           " is outside the epoch's ", steps_per_epoch(), " batches");
  auto order = std::make_shared<const std::vector<int64_t>>(epoch_order(epoch));
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    epoch_ = epoch;
    order_ = std::move(order);
    next_to_build_ = next_to_return_ = first_step;
    end_step_ = steps_per_epoch();
    ready_.clear();
    failed_.clear();
  }
  cv_.notify_all();
}

bool Loader::next(Batch& out) {
  std::unique_lock<std::mutex> lock(mu_);
  MM_CHECK(order_ != nullptr, Value, "loader", "call start_epoch() before next()");
  if (next_to_return_ >= end_step_) return false;
  const int64_t step = next_to_return_;
  if (workers_.empty()) {  // synchronous
    ++next_to_build_;
    auto order = order_;
    const uint64_t epoch = epoch_;
    lock.unlock();
    Batch b = build(step, epoch, *order);
    lock.lock();
    skipped_ += static_cast<int64_t>(b.skipped.size());
    out = std::move(b);
    ++next_to_return_;
    return true;
  }
  cv_.wait(lock, [&] { return ready_.count(step) || failed_.count(step); });
  if (auto f = failed_.find(step); f != failed_.end()) {
    std::exception_ptr e = f->second;
    failed_.erase(f);
    ++next_to_return_;  // the caller may catch and go on; the failed batch is not retried
    cv_.notify_all();
    std::rethrow_exception(e);
  }
  out = std::move(ready_[step]);
  ready_.erase(step);
  skipped_ += static_cast<int64_t>(out.skipped.size());
  ++next_to_return_;
  cv_.notify_all();
  return true;
}

LoaderPosition Loader::position() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {epoch_, next_to_return_};
}

int64_t Loader::skipped_total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return skipped_;
}

}  // namespace mm::data
