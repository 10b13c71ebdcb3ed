// CPU loops of the indexing family. Index values were range-checked by the front end
// (ops/index.cpp), so nothing here can fail inside a parallel region.
//
// gather / index_select walk the index's shape with a StridedIndexer over (out, index, x-with-its-
// stride-along-dim-zeroed) and add index * x.stride(dim) themselves. scatter_add walks the same
// geometry the other way round; see scatter_add_loop for how it stays race-free and deterministic.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "ops/common/broadcast.h"
#include "ops/cpu/loops.h"
#include "ops/index.h"
#include "ops/index_order.h"
#include "ops/shape.h"

namespace mm::cpu {
namespace {

void gather_kernel(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) {
  Tensor xv = index_space_view(x, index.shape(), dim);
  int64_t xstride = x.stride(dim);
  auto ix = make_indexer<3>(index.shape(), {&out, &index, &xv}, "gather");
  const int64_t* ip = index.data<int64_t>();
  dispatch_by_size(x.element_size(), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = static_cast<const T*>(x.raw_data());
    T* op = static_cast<T*>(out.raw_data());
    parallel_for_each_run<3>(ix, index.numel(), [&](const int64_t* off, const int64_t* st, int64_t cnt) {
      T* o = op + off[0];
      const int64_t* i = ip + off[1];
      const T* s = xp + off[2];
      if (st[1] == 0) {  // one index for the whole run (index_select, embedding): a row copy
        const T* row = s + i[0] * xstride;
        if (st[0] == 1 && st[2] == 1) std::memcpy(o, row, static_cast<size_t>(cnt) * sizeof(T));
        else for (int64_t k = 0; k < cnt; ++k) o[k * st[0]] = row[k * st[2]];
      } else {
        for (int64_t k = 0; k < cnt; ++k) o[k * st[0]] = s[k * st[2] + i[k * st[1]] * xstride];
      }
    });
  });
}

// Deterministic scatter-add without atomics. The iteration runs over index's shape with `dim` moved
// to the front, so linear position j * P + p means "entry j along dim of line p", where a line is
// one choice of all the other coordinates (P lines). Every destination of line p lies in the same
// output line p. Each thread owns a fixed range of lines [pb, pe) and walks j = 0, 1, ... over it:
// no two threads ever add into one element, and every element receives its contributions in
// increasing j — the same bits whatever the thread count. The inner runs are along the innermost
// (usually contiguous) line coordinate, so memory is read in order.
template <typename T>
void scatter_add_loop(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  std::vector<int64_t> perm{dim};
  for (int64_t d = 0; d < index.dim(); ++d)
    if (d != dim) perm.push_back(d);
  Tensor ov = ops::permute(index_space_view(out, index.shape(), dim), perm);
  Tensor iv = ops::permute(index, perm);
  Tensor sv = ops::permute(index_space_view(src, index.shape(), -1), perm);
  auto ix = make_indexer<3>(iv.shape(), {&ov, &iv, &sv}, "scatter_add");
  int64_t n = index.size(dim), lines = index.numel() / n;
  int64_t ostride = out.stride(dim);
  T* op = out.data<T>();
  const int64_t* ip = index.data<int64_t>();
  const T* sp = src.data<T>();
  parallel_for(0, lines, std::max<int64_t>(1, kGrain / n), [&](int64_t pb, int64_t pe) {
    for (int64_t j = 0; j < n; ++j)
      for_each_run<3>(ix, j * lines + pb, j * lines + pe, [&](const int64_t* off, const int64_t* st, int64_t cnt) {
        T* o = op + off[0];
        const int64_t* i = ip + off[1];
        const T* s = sp + off[2];
        if (st[1] == 0) {  // one index for the whole run (index_add, embedding backward): a row add
          T* __restrict__ row = o + i[0] * ostride;
          if (st[0] == 1 && st[2] == 1) {
            for (int64_t k = 0; k < cnt; ++k) row[k] += s[k];
          } else {
            for (int64_t k = 0; k < cnt; ++k) row[k * st[0]] += s[k * st[2]];
          }
        } else {
          for (int64_t k = 0; k < cnt; ++k) o[k * st[0] + i[k * st[1]] * ostride] += s[k * st[2]];
        }
      });
  });
}

void scatter_add_kernel(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  MM_DISPATCH_NUMERIC(out.dtype(), "scatter_add", [&] { scatter_add_loop<scalar_t>(out, dim, index, src); });
}

void one_hot_kernel(const Tensor& index, Tensor& out) {
  int64_t classes = out.size(-1), n = index.numel();
  const int64_t* ip = index.data<int64_t>();
  int64_t* op = out.data<int64_t>();
  parallel_for(0, n, std::max<int64_t>(1, kGrain / classes), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t* row = op + i * classes;
      std::fill(row, row + classes, int64_t{0});
      row[ip[i]] = 1;
    }
  });
}

// One row per task: sort a permutation of positions with the total order of ops/index_order.h
// (ties broken by position, so std::sort gives the stable result; partial_sort for topk's k < n).
template <typename T>
void sort_rows(const Tensor& rows, int64_t k, bool descending, Tensor& values, Tensor& indices) {
  int64_t num_rows = rows.size(0), n = rows.size(1);
  const T* xp = rows.data<T>();
  T* vp = values.data<T>();
  int64_t* ip = indices.data<int64_t>();
  parallel_for(0, num_rows, std::max<int64_t>(1, kGrain / n), [&](int64_t rb, int64_t re) {
    std::vector<int64_t> pos(static_cast<size_t>(n));
    for (int64_t r = rb; r < re; ++r) {
      const T* x = xp + r * n;
      std::iota(pos.begin(), pos.end(), int64_t{0});
      auto before = [&](int64_t a, int64_t b) { return sorts_before(x[a], a, x[b], b, descending); };
      if (k < n) std::partial_sort(pos.begin(), pos.begin() + k, pos.end(), before);
      else std::sort(pos.begin(), pos.end(), before);
      for (int64_t i = 0; i < k; ++i) {
        vp[r * k + i] = x[pos[i]];
        ip[r * k + i] = pos[i];
      }
    }
  });
}

void sort_kernel(const Tensor& rows, int64_t k, bool descending, Tensor& values, Tensor& indices) {
  MM_DISPATCH_NUMERIC(rows.dtype(), "sort", [&] { sort_rows<scalar_t>(rows, k, descending, values, indices); });
}

}  // namespace

MM_REGISTER_KERNEL(gather, CPU, &gather_kernel);
MM_REGISTER_KERNEL(index_select, CPU, &gather_kernel);
MM_REGISTER_KERNEL(scatter_add, CPU, &scatter_add_kernel);
MM_REGISTER_KERNEL(one_hot, CPU, &one_hot_kernel);
MM_REGISTER_KERNEL(sort, CPU, &sort_kernel);
MM_REGISTER_KERNEL(topk, CPU, &sort_kernel);

}  // namespace mm::cpu
