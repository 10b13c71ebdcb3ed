// CPU reduction driver. Three loops, chosen from the shapes alone (never from the thread count, so
// a result is bitwise identical whatever the number of threads):
//
//  * outer-dims path — contiguous input whose innermost dims are kept, e.g. sum over dim 0 of
//    [B, D] (bias gradients) or over dims (0, 1) of [B, T, D]. Walking each output's reduced
//    elements would jump D elements per step; instead we stream the input row by row and accumulate
//    into a block of per-column accumulators, so every load is unit-stride and the column loop
//    vectorises. Each column is still accumulated in row order, however the columns are split.
//  * per-output path — many outputs: the outputs are split across threads and each walks its
//    reduced sub-space; unit-stride runs use several accumulator lanes (breaks the add latency chain
//    and lets the compiler vectorise; the lanes are merged in a fixed order).
//  * chunked path — few outputs, long reductions (a full sum): the reduced range is cut into a
//    fixed number of chunks whose partials are merged in chunk order.
#include <limits>
#include <utility>
#include <vector>

#include "ops/cpu/loops.h"
#include "ops/math/reduce_functors.h"
#include "ops/reduce.h"
#include "ops/reduce_dispatch.h"

namespace mm::cpu {
namespace {

// Where a reduction writes: values (may be null for argmax/argmin) and indices (only for reducers
// that track a position, when requested).
template <typename R, typename T>
struct ReduceOut {
  T* values = nullptr;
  int64_t* indices = nullptr;
  void write(int64_t o, const typename R::Acc& a) const {
    if (values) values[o] = R::value(a);
    if constexpr (requires { R::index(a); }) {
      if (indices) indices[o] = R::index(a);
    }
  }
};

// Contiguous runs of max/min-type reductions. extreme_beats() is too branchy to vectorise; instead
// the extreme ignoring NaN and a "saw a NaN" flag are two plain vectorisable reductions, and the
// position (for max/min with indices) is the first element equal to the extreme, found by a scan.
template <typename R> struct ExtremeTraits { static constexpr bool is_extreme = false; };
template <bool M, typename T> struct ExtremeTraits<ExtremeReducer<M, T>> {
  static constexpr bool is_extreme = true, is_max = M, indexed = false;
};
template <bool M, typename T> struct ExtremeTraits<ExtremeIndexReducer<M, T>> {
  static constexpr bool is_extreme = true, is_max = M, indexed = true;
};

template <typename R, typename T>
typename R::Acc extreme_run(const T* p, int64_t cnt, int64_t pos, typename R::Acc acc) {
  constexpr bool kMax = ExtremeTraits<R>::is_max;
  T m = kMax ? lowest_value<T>() : highest_value<T>();
  int nan = 0;
  if constexpr (kMax) {
#pragma omp simd reduction(max : m) reduction(| : nan)
    for (int64_t i = 0; i < cnt; ++i) {
      m = p[i] > m ? p[i] : m;
      nan |= p[i] != p[i];
    }
  } else {
#pragma omp simd reduction(min : m) reduction(| : nan)
    for (int64_t i = 0; i < cnt; ++i) {
      m = p[i] < m ? p[i] : m;
      nan |= p[i] != p[i];
    }
  }
  if constexpr (std::numeric_limits<T>::has_quiet_NaN) {
    if (nan) m = std::numeric_limits<T>::quiet_NaN();
  }
  if constexpr (ExtremeTraits<R>::indexed) {
    int64_t i = 0;
    while (!(p[i] == m || (nan && p[i] != p[i]))) ++i;  // stops: the extreme is in the run
    return R::merge(acc, typename R::Acc{p[i], pos + i});  // p[i], not m: keeps the sign of a zero
  } else {
    return R::merge(acc, m);
  }
}

// Reduces inner elements [b, e) of the output whose input base pointer is `base`. Positions passed
// to combine are linear indices into the reduced sub-space (what argmax returns).
template <typename R, typename T>
typename R::Acc reduce_range(const T* base, const StridedIndexer<1>& inner, int64_t b, int64_t e,
                             typename R::Acc acc) {
  using Acc = typename R::Acc;
  constexpr int kLanes = 8;
  int64_t pos = b;
  for_each_run<1>(inner, b, e, [&](const int64_t* off, const int64_t* s, int64_t cnt) {
    const T* p = base + off[0];
    if constexpr (ExtremeTraits<R>::is_extreme) {
      if (s[0] == 1) {
        acc = extreme_run<R, T>(p, cnt, pos, acc);
        pos += cnt;
        return;
      }
    }
    int64_t j = 0;
    if (s[0] == 1 && cnt >= 2 * kLanes) {
      Acc lane[kLanes];
      for (int k = 0; k < kLanes; ++k) lane[k] = R::identity();
      for (; j + kLanes <= cnt; j += kLanes)
        for (int k = 0; k < kLanes; ++k) lane[k] = R::combine(lane[k], p[j + k], pos + j + k);
      for (int k = 0; k < kLanes; ++k) acc = R::merge(acc, lane[k]);
    }
    for (; j < cnt; ++j) acc = R::combine(acc, p[j * s[0]], pos + j);
    pos += cnt;
  });
  return acc;
}

// The outer-dims path (see the file comment). Returns false when it does not apply.
template <typename R, typename T>
bool reduce_outer_dims(const Tensor& x, const ReduceGeometry& geo, const ReduceOut<R, T>& out) {
  using Acc = typename R::Acc;
  constexpr int64_t kMaxWidth = 2048;  // accumulators per column block: ≤ 16 KiB of doubles, in L1
  if (!x.is_contiguous() || geo.dims.empty()) return false;
  const int64_t last = geo.dims.back();
  if (last == x.dim() - 1) return false;
  int64_t cols = 1;  // the trailing block of kept dims, contiguous in input and output
  for (int64_t d = last + 1; d < x.dim(); ++d) cols *= x.shape()[d];
  if (cols < 16) return false;  // narrow rows: the per-output loop does as well
  const ReducePlan p = reduce_plan(x, geo, last + 1);
  const int64_t rows = p.num_inner;
  const int64_t width = std::min(cols, kMaxWidth);
  const int64_t blocks = (cols + width - 1) / width;
  const int64_t items = p.num_out * blocks;  // (prefix position, column block) pairs
  // Few items but many rows: also cut the rows into a fixed number of chunks (from the shape only)
  // whose partial accumulators are merged in chunk order.
  const int64_t rchunks = items >= 16 ? 1 : reduction_chunks(rows * width, kGrain);
  std::vector<Acc> partial(rchunks > 1 ? static_cast<size_t>(items * rchunks * width) : 0);
  const T* xb = x.data<T>();

  struct Block {
    int64_t out0, cn;  // first output element and number of columns
  };
  auto block_of = [&](int64_t item) {
    int64_t c0 = (item % blocks) * width;
    return Block{(item / blocks) * cols + c0, std::min(width, cols - c0)};
  };
  // Task t = (item, row chunk): accumulates rows [r0, r1) of its column block into acc.
  auto run_task = [&](int64_t t, Acc* acc) {
    const int64_t item = t / rchunks, rc = t % rchunks;
    const Block blk = block_of(item);
    const int64_t c0 = (item % blocks) * width;
    const int64_t r0 = rows * rc / rchunks, r1 = rows * (rc + 1) / rchunks;
    int64_t base[1];
    p.outer.offsets(item / blocks, base);
    for (int64_t c = 0; c < blk.cn; ++c) acc[c] = R::identity();
    int64_t r = r0;
    for_each_run<1>(p.inner, r0, r1, [&](const int64_t* off, const int64_t* s, int64_t cnt) {
      for (int64_t j = 0; j < cnt; ++j, ++r) {
        const T* row = xb + base[0] + off[0] + j * s[0] + c0;
        for (int64_t c = 0; c < blk.cn; ++c) acc[c] = R::combine(acc[c], row[c], r);
      }
    });
    return blk;
  };

  parallel_for(0, items * rchunks, std::max<int64_t>(1, kGrain / (rows / rchunks * width + 1)),
               [&](int64_t tb, int64_t te) {
                 std::vector<Acc> local(rchunks > 1 ? 0 : static_cast<size_t>(width));
                 for (int64_t t = tb; t < te; ++t) {
                   Acc* acc = rchunks > 1 ? &partial[static_cast<size_t>(t * width)] : local.data();
                   Block blk = run_task(t, acc);
                   if (rchunks == 1)
                     for (int64_t c = 0; c < blk.cn; ++c) out.write(blk.out0 + c, acc[c]);
                 }
               });
  for (int64_t item = 0; rchunks > 1 && item < items; ++item) {
    const Block blk = block_of(item);
    const Acc* part = &partial[static_cast<size_t>(item * rchunks * width)];
    for (int64_t c = 0; c < blk.cn; ++c) {
      Acc a = part[c];
      for (int64_t rc = 1; rc < rchunks; ++rc) a = R::merge(a, part[rc * width + c]);
      out.write(blk.out0 + c, a);
    }
  }
  return true;
}

template <typename R, typename T>
void reduce_loop(const Tensor& x, const ReduceGeometry& geo, const ReduceOut<R, T>& out) {
  using Acc = typename R::Acc;
  if (reduce_outer_dims<R, T>(x, geo, out)) return;
  ReducePlan p = reduce_plan(x, geo, x.dim());
  const T* xb = x.data<T>();
  if (p.num_out >= 16 || p.num_inner < kGrain) {
    parallel_for(0, p.num_out, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, p.num_inner)),
                 [&](int64_t ob, int64_t oe) {
                   int64_t off[1];
                   for (int64_t o = ob; o < oe; ++o) {
                     p.outer.offsets(o, off);
                     out.write(o, reduce_range<R, T>(xb + off[0], p.inner, 0, p.num_inner, R::identity()));
                   }
                 });
    return;
  }
  // Few outputs, long reductions: fixed chunking of the reduced range.
  int64_t chunks = reduction_chunks(p.num_inner, kGrain);
  std::vector<Acc> partial(static_cast<size_t>(chunks * p.num_out));
  for (int64_t o = 0; o < p.num_out; ++o) {
    int64_t off[1];
    p.outer.offsets(o, off);
    parallel_for(0, chunks, 1, [&](int64_t cb, int64_t ce) {
      for (int64_t c = cb; c < ce; ++c) {
        int64_t b = p.num_inner * c / chunks, e = p.num_inner * (c + 1) / chunks;
        partial[o * chunks + c] = reduce_range<R, T>(xb + off[0], p.inner, b, e, R::identity());
      }
    });
    Acc acc = partial[o * chunks];
    for (int64_t c = 1; c < chunks; ++c) acc = R::merge(acc, partial[o * chunks + c]);
    out.write(o, acc);
  }
}

template <typename R, typename T>
void run(const Tensor& x, const ReduceGeometry& geo, Tensor& values, Tensor* indices) {
  ReduceOut<R, T> out;
  out.values = values.defined() ? values.data<T>() : nullptr;
  out.indices = indices != nullptr ? indices->data<int64_t>() : nullptr;
  reduce_loop<R, T>(x, geo, out);
}

void reduce_kernel(OpId op, const Tensor& x, const ReduceGeometry& geo, Tensor& values, Tensor* indices) {
  dispatch_reduction(op, x.dtype(), "CPU", [&](auto tag, bool with_indices) {
    using Tag = decltype(tag);
    run<typename Tag::Reducer, typename Tag::Scalar>(x, geo, values, with_indices ? indices : nullptr);
  });
}

}  // namespace

MM_REGISTER_KERNEL(sum, CPU, &reduce_kernel);
MM_REGISTER_KERNEL(max, CPU, &reduce_kernel);
MM_REGISTER_KERNEL(min, CPU, &reduce_kernel);
MM_REGISTER_KERNEL(amax, CPU, &reduce_kernel);
MM_REGISTER_KERNEL(amin, CPU, &reduce_kernel);
MM_REGISTER_KERNEL(argmax, CPU, &reduce_kernel);
MM_REGISTER_KERNEL(argmin, CPU, &reduce_kernel);

}  // namespace mm::cpu
