// CUDA kernels of the element-wise family: the functors of ops/math/ applied by one generic strided
// grid-stride kernel (ops/cuda/loops.cuh). Geometry comes from the same make_indexer as on the CPU.
#include "ops/common/broadcast.h"
#include "ops/cuda/loops.cuh"
#include "ops/kernels.h"
#include "ops/math/visit_functor.h"

namespace mm::cuda {
namespace {

template <typename F, typename T>
struct UnaryApply {
  T* o;
  const T* x;
  UnaryArgs args;
  __device__ void operator()(const int64_t* off) const { o[off[0]] = F::fwd(x[off[1]], args); }
};

void unary_kernel(OpId op, const Tensor& x, Tensor& out, const UnaryArgs& args) {
  auto ix = make_indexer<2>(out.shape(), {&out, &x}, op_name(op));
  bool contig = all_contiguous_same_shape(out.shape(), {&out, &x});
  MM_DISPATCH_FLOAT(x.dtype(), op_name(op), [&] {
    visit_unary_functor(op, [&]<typename F>() {
      launch_elementwise<2>(ix, out.numel(), contig, op_name(op),
                            UnaryApply<F, scalar_t>{out.data<scalar_t>(), x.data<scalar_t>(), args});
    });
  });
}

template <typename F, typename T>
struct UnaryBackwardApply {
  T* o;
  const T *g, *x, *y;
  UnaryArgs args;
  __device__ void operator()(const int64_t* off) const { o[off[0]] = F::bwd(g[off[1]], x[off[2]], y[off[3]], args); }
};

void unary_backward_kernel(OpId op, const Tensor& g, const Tensor& x, const Tensor& y, Tensor& out,
                           const UnaryArgs& args) {
  auto ix = make_indexer<4>(out.shape(), {&out, &g, &x, &y}, "unary_backward");
  bool contig = all_contiguous_same_shape(out.shape(), {&out, &g, &x, &y});
  MM_DISPATCH_FLOAT(x.dtype(), "unary_backward", [&] {
    using T = scalar_t;
    visit_unary_functor(op, [&]<typename F>() {
      launch_elementwise<4>(ix, out.numel(), contig, "unary_backward",
                            UnaryBackwardApply<F, T>{out.data<T>(), g.data<T>(), x.data<T>(), y.data<T>(), args});
    });
  });
}

template <typename F, typename T, typename R>
struct BinaryApply {
  R* o;
  const T *a, *b;
  __device__ void operator()(const int64_t* off) const { o[off[0]] = F::apply(a[off[1]], b[off[2]]); }
};

template <typename F, typename T, typename R>
void binary_launch(const Tensor& a, const Tensor& b, Tensor& out, const char* op) {
  auto ix = make_indexer<3>(out.shape(), {&out, &a, &b}, op);
  bool contig = all_contiguous_same_shape(out.shape(), {&out, &a, &b});
  launch_elementwise<3>(ix, out.numel(), contig, op,
                        BinaryApply<F, T, R>{static_cast<R*>(out.raw_data()), a.data<T>(), b.data<T>()});
}

void binary_kernel(OpId op, const Tensor& a, const Tensor& b, Tensor& out) {
  MM_DISPATCH_NUMERIC(out.dtype(), op_name(op), [&] {
    visit_binary_functor(op, [&]<typename F>() { binary_launch<F, scalar_t, scalar_t>(a, b, out, op_name(op)); });
  });
}

void compare_kernel(OpId op, const Tensor& a, const Tensor& b, Tensor& out) {
  MM_DISPATCH_NUMERIC(a.dtype(), op_name(op), [&] {
    visit_compare_functor(op, [&]<typename F>() { binary_launch<F, scalar_t, bool>(a, b, out, op_name(op)); });
  });
}

template <typename T>
struct WhereApply {
  T* o;
  const bool* c;
  const T *a, *b;
  __device__ void operator()(const int64_t* off) const { o[off[0]] = c[off[1]] ? a[off[2]] : b[off[3]]; }
};

void where_kernel(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  auto ix = make_indexer<4>(out.shape(), {&out, &cond, &a, &b}, "where");
  bool contig = all_contiguous_same_shape(out.shape(), {&out, &cond, &a, &b});
  MM_DISPATCH_ALL(out.dtype(), "where", [&] {
    launch_elementwise<4>(ix, out.numel(), contig, "where",
                          WhereApply<scalar_t>{out.data<scalar_t>(), cond.data<bool>(), a.data<scalar_t>(), b.data<scalar_t>()});
  });
}

struct NotApply {
  bool* o;
  const bool* x;
  __device__ void operator()(const int64_t* off) const { o[off[0]] = !x[off[1]]; }
};

void logical_not_kernel(const Tensor& x, Tensor& out) {
  auto ix = make_indexer<2>(out.shape(), {&out, &x}, "logical_not");
  launch_elementwise<2>(ix, out.numel(), all_contiguous_same_shape(out.shape(), {&out, &x}), "logical_not",
                        NotApply{out.data<bool>(), x.data<bool>()});
}

}  // namespace

#define MM_REG_UNARY(name, F) MM_REGISTER_KERNEL(name, CUDA, &unary_kernel);
MM_UNARY_OPS(MM_REG_UNARY)
#undef MM_REG_UNARY
#define MM_REG_BINARY(name, F) MM_REGISTER_KERNEL(name, CUDA, &binary_kernel);
MM_BINARY_OPS(MM_REG_BINARY)
#undef MM_REG_BINARY
#define MM_REG_COMPARE(name, F) MM_REGISTER_KERNEL(name, CUDA, &compare_kernel);
MM_COMPARE_OPS(MM_REG_COMPARE)
#undef MM_REG_COMPARE
MM_REGISTER_KERNEL(unary_backward, CUDA, &unary_backward_kernel);
MM_REGISTER_KERNEL(where, CUDA, &where_kernel);
MM_REGISTER_KERNEL(logical_not, CUDA, &logical_not_kernel);

}  // namespace mm::cuda
