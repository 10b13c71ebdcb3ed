// The loader (data/loader.h): batches depend only on (seed, epoch) — identical with 0, 1, 2 and 4
// workers; each sample once per epoch; rank slices that add up to the global batch whatever the world
// size; exact resume; bad-sample policies; bounded prefetch; argument errors.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "data/loader.h"
#include "data/sample_rng.h"
#include "ops/copy.h"
#include "tests/common/expect_error.h"

namespace mm::data {
namespace {

// A sample: a [3, 2, 2] "image" whose values come from SampleRng(seed 99, epoch, index), like an
// augmentation would, and a caption naming the index.
Example make_example(int64_t index, uint64_t epoch) {
  SampleRng rng(99, epoch, static_cast<uint64_t>(index));
  std::vector<float> v(12);
  for (float& x : v) x = static_cast<float>(rng.uniform());
  Example e;
  e.image = Tensor::from_vector<float>(v, {3, 2, 2});
  e.caption = "sample " + std::to_string(index);
  e.image_index = index / 2;
  return e;
}

// Everything an epoch yields, as comparable values.
std::vector<std::vector<double>> run_epoch(Loader& loader, uint64_t epoch, int64_t first_step = 0) {
  loader.start_epoch(epoch, first_step);
  std::vector<std::vector<double>> out;
  Batch b;
  while (loader.next(b)) {
    std::vector<double> row{static_cast<double>(b.step)};
    for (const Example& e : b.examples) {
      row.push_back(static_cast<double>(e.index));
      for (double x : e.image.to_double_vector()) row.push_back(x);
    }
    out.push_back(row);
  }
  return out;
}

LoaderOptions opts(int workers, int64_t batch = 8) {
  LoaderOptions o;
  o.batch_size = batch;
  o.seed = 5;
  o.num_workers = workers;
  o.drop_last = false;
  return o;
}

TEST(Loader, SameBatchesWithAnyNumberOfWorkers) {
  Loader l0(61, make_example, opts(0));
  const auto want = run_epoch(l0, 3);
  ASSERT_EQ(want.size(), 8u);  // 7 full batches of 8 and one of 5
  for (int workers : {1, 2, 4}) {
    Loader l(61, make_example, opts(workers));
    EXPECT_EQ(run_epoch(l, 3), want) << workers << " workers";
  }
}

TEST(Loader, EachSampleOncePerEpochAndEpochsDiffer) {
  Loader l(61, make_example, opts(2));
  std::vector<int64_t> e0 = l.epoch_order(0), e1 = l.epoch_order(1);
  EXPECT_NE(e0, e1);
  std::set<int64_t> seen;
  l.start_epoch(0);
  Batch b;
  while (l.next(b))
    for (const Example& e : b.examples) EXPECT_TRUE(seen.insert(e.index).second) << e.index;
  EXPECT_EQ(seen.size(), 61u);
  LoaderOptions o = opts(0);
  o.shuffle = false;
  o.drop_last = true;
  Loader plain(61, make_example, o);
  EXPECT_EQ(plain.steps_per_epoch(), 7);
  plain.start_epoch(0);
  ASSERT_TRUE(plain.next(b));
  for (size_t i = 0; i < b.examples.size(); ++i) EXPECT_EQ(b.examples[i].index, static_cast<int64_t>(i));
}

TEST(Loader, RankSlicesMakeUpTheGlobalBatch) {
  for (bool drop_last : {true, false}) {
    LoaderOptions o = opts(0, 12);
    o.drop_last = drop_last;
    Loader single(50, make_example, o);
    auto order = single.epoch_order(2);
    for (int world : {2, 4}) {
      for (int64_t step = 0; step < single.steps_per_epoch(); ++step) {
        std::vector<int64_t> joined;
        for (int rank = 0; rank < world; ++rank) {
          LoaderOptions r = o;
          r.world = world;
          r.rank = rank;
          Loader l(50, make_example, r);
          auto part = l.batch_indices(order, step);
          if (step * 12 + 12 <= 50) {
            EXPECT_EQ(part.size(), static_cast<size_t>(12 / world));
          }
          joined.insert(joined.end(), part.begin(), part.end());
        }
        EXPECT_EQ(joined, single.batch_indices(order, step)) << "world " << world << " step " << step;
      }
    }
  }
}

TEST(Loader, ResumeGivesTheRemainingBatchesExactly) {
  Loader full(61, make_example, opts(2));
  auto all = run_epoch(full, 4);
  Loader resumed(61, make_example, opts(3));
  auto tail = run_epoch(resumed, 4, 5);
  ASSERT_EQ(tail.size(), all.size() - 5);
  for (size_t i = 0; i < tail.size(); ++i) EXPECT_EQ(tail[i], all[i + 5]);
  // position() says where a checkpoint would resume
  resumed.start_epoch(4, 2);
  Batch b;
  ASSERT_TRUE(resumed.next(b));
  EXPECT_EQ(resumed.position().step, 3);
  EXPECT_EQ(resumed.position().epoch, 4u);
}

Example sometimes_bad(int64_t index, uint64_t epoch) {
  MM_CHECK(index != 5 && index != 17, Runtime, "image", "x/" + std::to_string(index) + ".jpg: truncated JPEG");
  return make_example(index, epoch);
}

TEST(Loader, BadSamplesStopOrAreSkippedAndCounted) {
  for (int workers : {0, 2}) {
    LoaderOptions o = opts(workers);
    o.shuffle = false;
    Loader strict(30, sometimes_bad, o);
    strict.start_epoch(0);
    Batch b;
    EXPECT_ERROR_CONTAINS(strict.next(b), ErrorKind::Runtime, "sample 5", "x/5.jpg", "truncated JPEG");
    o.bad_samples = BadSamplePolicy::Skip;
    Loader lenient(30, sometimes_bad, o);
    lenient.start_epoch(0);
    int64_t total = 0;
    while (lenient.next(b)) {
      total += static_cast<int64_t>(b.examples.size());
      if (b.step == 0) {
        ASSERT_EQ(b.skipped.size(), 1u);
        EXPECT_NE(b.skipped[0].find("x/5.jpg"), std::string::npos);
      }
    }
    EXPECT_EQ(total, 28);
    EXPECT_EQ(lenient.skipped_total(), 2);
  }
}

TEST(Loader, PrefetchIsBounded) {
  std::atomic<int> built{0};
  LoaderOptions o = opts(2, 4);
  o.prefetch = 3;
  Loader l(400, [&](int64_t i, uint64_t e) { ++built; return make_example(i, e); }, o);
  l.start_epoch(0);
  for (int wait = 0; wait < 1000 && built.load() < 12; ++wait) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(built.load(), 3 * 4);  // three batches of four, and no more until next() takes one
  Batch b;
  ASSERT_TRUE(l.next(b));
  for (int wait = 0; wait < 1000 && built.load() < 16; ++wait) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(built.load(), 4 * 4);
}

TEST(Loader, ArgumentErrors) {
  LoaderOptions o = opts(0, 10);
  o.world = 4;
  EXPECT_ERROR_CONTAINS(Loader(100, make_example, o), ErrorKind::Value, "global batch size 10", "world size 4");
  o = opts(0, 8);
  o.rank = 2;
  o.world = 2;
  EXPECT_ERROR_CONTAINS(Loader(100, make_example, o), ErrorKind::Value, "rank 2");
  o = opts(0, 8);
  o.drop_last = true;
  EXPECT_ERROR_CONTAINS(Loader(5, make_example, o), ErrorKind::Value, "5 samples", "fewer than one batch");
  Loader l(20, make_example, opts(0));
  Batch b;
  EXPECT_ERROR_CONTAINS(l.next(b), ErrorKind::Value, "start_epoch");
  EXPECT_ERROR_CONTAINS(l.start_epoch(0, 9), ErrorKind::Value, "resume step 9");
}

}  // namespace
}  // namespace mm::data
