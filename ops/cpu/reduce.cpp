// CPU reduction driver. For each output element we walk the reduced sub-space of the input; the
// output elements are split across threads. When there are fewer outputs than threads (a full
// reduction), the reduced range is cut into a fixed number of chunks whose partials are merged in
// chunk order, so the result is bitwise identical whatever the thread count.
#include <vector>

#include "ops/common/broadcast.h"
#include "ops/cpu/loops.h"
#include "ops/math/reduce_functors.h"
#include "ops/reduce.h"

namespace mm::cpu {
namespace {

struct ReducePlan {
  StridedIndexer<1> outer;  // over kept dims of the input (output order)
  StridedIndexer<1> inner;  // over reduced dims of the input
  int64_t num_out = 1;
  int64_t num_inner = 1;
};

ReducePlan make_plan(const Tensor& x, const ReduceGeometry& geo) {
  ReducePlan p;
  // Build explicit (size, stride) lists, then let make_indexer's merging logic collapse them by
  // viewing them as tensors over the input's storage.
  Shape osz, isz;
  Strides ost, ist;
  std::vector<bool> reduced(x.dim(), false);
  for (int64_t d : geo.dims) reduced[d] = true;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (reduced[d]) {
      isz.push_back(x.shape()[d]);
      ist.push_back(x.strides()[d]);
    } else {
      osz.push_back(x.shape()[d]);
      ost.push_back(x.strides()[d]);
    }
  }
  Tensor ov = Tensor::make_view(x.storage(), osz, ost, x.offset(), x.dtype());
  Tensor iv = Tensor::make_view(x.storage(), isz, ist, x.offset(), x.dtype());
  p.outer = make_indexer<1>(osz, {&ov}, "reduce");
  p.inner = make_indexer<1>(isz, {&iv}, "reduce");
  p.num_out = shape_numel(osz);
  p.num_inner = shape_numel(isz);
  return p;
}

// Reduces inner elements [b, e) of the output element whose input base pointer is `base`.
template <typename R, typename T>
typename R::Acc reduce_range(const T* base, const StridedIndexer<1>& inner, int64_t b, int64_t e,
                             typename R::Acc acc) {
  int64_t pos = b;
  for_each_run<1>(inner, b, e, [&](const int64_t* off, const int64_t* s, int64_t cnt) {
    const T* p = base + off[0];
    for (int64_t j = 0; j < cnt; ++j) acc = R::combine(acc, p[j * s[0]], pos + j);
    pos += cnt;
  });
  return acc;
}

template <typename R, typename T>
void reduce_values(const Tensor& x, const ReduceGeometry& geo, Tensor& values) {
  using Acc = typename R::Acc;
  ReducePlan p = make_plan(x, geo);
  const T* xb = x.data<T>();
  T* out = values.data<T>();
  if (p.num_out >= 4 * num_threads() || p.num_inner < kGrain) {
    parallel_for(0, p.num_out, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, p.num_inner)),
                 [&](int64_t ob, int64_t oe) {
                   int64_t off[1];
                   for (int64_t o = ob; o < oe; ++o) {
                     p.outer.offsets(o, off);
                     out[o] = R::value(reduce_range<R, T>(xb + off[0], p.inner, 0, p.num_inner, R::identity()));
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
    out[o] = R::value(acc);
  }
}

void reduce_kernel(OpId op, const Tensor& x, const ReduceGeometry& geo, Tensor& values, Tensor* indices) {
  (void)indices;
  switch (op) {
    case OpId::sum:
      MM_DISPATCH_NUMERIC(x.dtype(), "sum", [&] { reduce_values<SumReducer<scalar_t>, scalar_t>(x, geo, values); });
      return;
    default:
      fail(ErrorKind::NotImplemented, op_name(op), "no CPU reduction");
  }
}

}  // namespace

MM_REGISTER_KERNEL(sum, CPU, &reduce_kernel);

}  // namespace mm::cpu
