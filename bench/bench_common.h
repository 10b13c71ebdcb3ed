// Helpers shared by the benchmark cases: deterministic random inputs (never timed) and the
// thread-count convention (MMALIGN_THREADS, default 2; the PyTorch peers read the same variable).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

#include "autograd/functions.h"
#include "runtime/philox.h"

namespace mm::bench {

// Threads from MMALIGN_THREADS (default 2).
int bench_threads();

// A contiguous f32 CPU tensor filled with uniform values in [lo, hi) from Philox(seed).
Tensor uniform(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

}  // namespace mm::bench
