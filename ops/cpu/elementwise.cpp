// CPU loops of the element-wise family. The math is the shared functor (ops/math/); this file only
// iterates: a flat vectorisable loop when every operand is contiguous with the output's shape,
// otherwise runs along the innermost dimension of a collapsed StridedIndexer.
#include "ops/common/broadcast.h"
#include "ops/cpu/loops.h"
#include "ops/kernels.h"
#include "ops/math/visit_functor.h"

namespace mm::cpu {
namespace {

template <typename F, typename T>
void unary_loop(const Tensor& x, Tensor& out, const UnaryArgs& args) {
  T* o = out.data<T>();
  const T* xi = x.data<T>();
  int64_t n = out.numel();
  if (x.is_contiguous()) {
    parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) o[i] = F::fwd(xi[i], args);
    });
    return;
  }
  auto ix = make_indexer<2>(out.shape(), {&out, &x}, "unary");
  parallel_for_each_run<2>(ix, n, [&](const int64_t* off, const int64_t* s, int64_t cnt) {
    for (int64_t j = 0; j < cnt; ++j) o[off[0] + j * s[0]] = F::fwd(xi[off[1] + j * s[1]], args);
  });
}

void unary_kernel(OpId op, const Tensor& x, Tensor& out, const UnaryArgs& args) {
  MM_DISPATCH_FLOAT(x.dtype(), op_name(op), [&] {
    visit_unary_functor(op, [&]<typename F>() { unary_loop<F, scalar_t>(x, out, args); });
  });
}

template <typename F, typename T>
void unary_backward_loop(const Tensor& g, const Tensor& x, const Tensor& y, Tensor& out, const UnaryArgs& args) {
  T* o = out.data<T>();
  const T* gi = g.data<T>();
  const T* xi = x.data<T>();
  const T* yi = y.data<T>();
  auto ix = make_indexer<4>(out.shape(), {&out, &g, &x, &y}, "unary_backward");
  parallel_for_each_run<4>(ix, out.numel(), [&](const int64_t* off, const int64_t* s, int64_t cnt) {
    for (int64_t j = 0; j < cnt; ++j)
      o[off[0] + j * s[0]] = F::bwd(gi[off[1] + j * s[1]], xi[off[2] + j * s[2]], yi[off[3] + j * s[3]], args);
  });
}

void unary_backward_kernel(OpId op, const Tensor& g, const Tensor& x, const Tensor& y, Tensor& out,
                           const UnaryArgs& args) {
  MM_DISPATCH_FLOAT(x.dtype(), "unary_backward", [&] {
    visit_unary_functor(op, [&]<typename F>() { unary_backward_loop<F, scalar_t>(g, x, y, out, args); });
  });
}

// out = F(a, b) for same-dtype operands; R is the result type (T, or bool for comparisons).
template <typename F, typename T, typename R>
void binary_loop(const Tensor& a, const Tensor& b, Tensor& out) {
  R* o = static_cast<R*>(out.raw_data());
  const T* ai = a.data<T>();
  const T* bi = b.data<T>();
  int64_t n = out.numel();
  if (all_contiguous_same_shape(out.shape(), {&a, &b})) {
    parallel_for(0, n, kGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) o[i] = F::apply(ai[i], bi[i]);
    });
    return;
  }
  // tensor ⊙ one-element tensor (x * 0.5, x + bias_scalar): flat loop, no indexer set-up — this is
  // most of the per-op overhead for small tensors.
  if (b.numel() == 1 && all_contiguous_same_shape(out.shape(), {&a})) {
    const T bv = bi[0];
    parallel_for(0, n, kGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) o[i] = F::apply(ai[i], bv);
    });
    return;
  }
  auto ix = make_indexer<3>(out.shape(), {&out, &a, &b}, "binary");
  parallel_for_each_run<3>(ix, n, [&](const int64_t* off, const int64_t* s, int64_t cnt) {
    if (s[0] == 1 && s[1] == 1 && s[2] == 0) {  // tensor ⊙ broadcast scalar row: common, keep it tight
      R* op = o + off[0];
      const T* ap = ai + off[1];
      T bv = bi[off[2]];
      for (int64_t j = 0; j < cnt; ++j) op[j] = F::apply(ap[j], bv);
      return;
    }
    for (int64_t j = 0; j < cnt; ++j) o[off[0] + j * s[0]] = F::apply(ai[off[1] + j * s[1]], bi[off[2] + j * s[2]]);
  });
}

void binary_kernel(OpId op, const Tensor& a, const Tensor& b, Tensor& out) {
  MM_DISPATCH_NUMERIC(out.dtype(), op_name(op), [&] {
    visit_binary_functor(op, [&]<typename F>() { binary_loop<F, scalar_t, scalar_t>(a, b, out); });
  });
}

void compare_kernel(OpId op, const Tensor& a, const Tensor& b, Tensor& out) {
  MM_DISPATCH_NUMERIC(a.dtype(), op_name(op), [&] {
    visit_compare_functor(op, [&]<typename F>() { binary_loop<F, scalar_t, bool>(a, b, out); });
  });
}

void where_kernel(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  MM_DISPATCH_ALL(out.dtype(), "where", [&] {
    scalar_t* o = out.data<scalar_t>();
    const bool* c = cond.data<bool>();
    const scalar_t* ai = a.data<scalar_t>();
    const scalar_t* bi = b.data<scalar_t>();
    auto ix = make_indexer<4>(out.shape(), {&out, &cond, &a, &b}, "where");
    parallel_for_each_run<4>(ix, out.numel(), [&](const int64_t* off, const int64_t* s, int64_t cnt) {
      for (int64_t j = 0; j < cnt; ++j)
        o[off[0] + j * s[0]] = c[off[1] + j * s[1]] ? ai[off[2] + j * s[2]] : bi[off[3] + j * s[3]];
    });
  });
}

void logical_not_kernel(const Tensor& x, Tensor& out) {
  bool* o = out.data<bool>();
  const bool* xi = x.data<bool>();
  auto ix = make_indexer<2>(out.shape(), {&out, &x}, "logical_not");
  parallel_for_each_run<2>(ix, out.numel(), [&](const int64_t* off, const int64_t* s, int64_t cnt) {
    for (int64_t j = 0; j < cnt; ++j) o[off[0] + j * s[0]] = !xi[off[1] + j * s[1]];
  });
}

}  // namespace

#define MM_REG_UNARY(name, F) MM_REGISTER_KERNEL(name, CPU, &unary_kernel);
MM_UNARY_OPS(MM_REG_UNARY)
#undef MM_REG_UNARY
#define MM_REG_BINARY(name, F) MM_REGISTER_KERNEL(name, CPU, &binary_kernel);
MM_BINARY_OPS(MM_REG_BINARY)
#undef MM_REG_BINARY
#define MM_REG_COMPARE(name, F) MM_REGISTER_KERNEL(name, CPU, &compare_kernel);
MM_COMPARE_OPS(MM_REG_COMPARE)
#undef MM_REG_COMPARE
MM_REGISTER_KERNEL(unary_backward, CPU, &unary_backward_kernel);
MM_REGISTER_KERNEL(where, CPU, &where_kernel);
MM_REGISTER_KERNEL(logical_not, CPU, &logical_not_kernel);

}  // namespace mm::cpu
