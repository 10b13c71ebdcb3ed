// THE op table: every op mmalign has, in one place.
//
// Dispatch (ops/registry.h), `mmalign gradcheck --all`, the forward tests and the registry test all
// derive from these lists; nothing else enumerates ops by hand. Adding an op = one line here, plus
// its front end, its CPU (and CUDA) loop, its backward and its test cases — see docs/ARCHITECTURE.md.
//
// Columns of MM_OP(name, family, arity, grad, impl):
//   name    the op's public name (also mm::name, the differentiable function in autograd/functions.h)
//   family  the file family: ops/<family>.cpp front end, ops/cpu/<family>.cpp, ops/cuda/<family>.cu,
//           autograd/grad/<family>.cpp
//   arity   number of tensor inputs (-1: variable, e.g. cat)
//   grad    Diff: differentiable in its floating inputs; NoDiff: no gradient (SPEC's "nd": integer
//           outputs, masks, random draws, creation; and the <op>_backward kernels, which are run —
//           and so tested — by their forward op's gradient checks)
//   impl    Kernel: has its own CPU and CUDA kernels; Composite: written with other ops (so it runs on
//           every backend those ops run on); View: metadata only, shares storage
//
// Element-wise families additionally name the shared __host__ __device__ functor (ops/math/).
#pragma once

// Unary element-wise: X(name, Functor). Every one is Diff + Kernel, arity 1; the functor carries both
// the forward value and the derivative (ops/math/unary_functors.h).
#define MM_UNARY_OPS(X)        \
  X(neg, NegFn)                \
  X(abs, AbsFn)                \
  X(exp, ExpFn)                \
  X(log, LogFn)                \
  X(log1p, Log1pFn)            \
  X(sqrt, SqrtFn)              \
  X(rsqrt, RsqrtFn)            \
  X(reciprocal, ReciprocalFn)  \
  X(square, SquareFn)          \
  X(pow_scalar, PowScalarFn)   \
  X(sin, SinFn)                \
  X(cos, CosFn)                \
  X(tanh, TanhFn)              \
  X(sigmoid, SigmoidFn)        \
  X(relu, ReluFn)              \
  X(relu6, Relu6Fn)            \
  X(gelu, GeluFn)              \
  X(gelu_tanh, GeluTanhFn)     \
  X(silu, SiluFn)              \
  X(softplus, SoftplusFn)      \
  X(logsigmoid, LogSigmoidFn)  \
  X(erf, ErfFn)                \
  X(clamp, ClampFn)

// Binary element-wise with broadcasting and type promotion: X(name, Functor). Diff + Kernel.
#define MM_BINARY_OPS(X) \
  X(add, AddFn)          \
  X(sub, SubFn)          \
  X(mul, MulFn)          \
  X(div, DivFn)          \
  X(pow, PowFn)          \
  X(maximum, MaximumFn)  \
  X(minimum, MinimumFn)

// Comparisons and logic: bool results, NoDiff + Kernel.
#define MM_COMPARE_OPS(X)      \
  X(eq, EqFn)                  \
  X(ne, NeFn)                  \
  X(lt, LtFn)                  \
  X(le, LeFn)                  \
  X(gt, GtFn)                  \
  X(ge, GeFn)                  \
  X(logical_and, LogicalAndFn) \
  X(logical_or, LogicalOrFn)   \
  X(logical_xor, LogicalXorFn)

// Everything else: X(name, family, arity, grad, impl).
#define MM_OTHER_OPS(X)                                       \
  /* creation */                                              \
  X(full, creation, 0, NoDiff, Kernel)                        \
  X(arange, creation, 0, NoDiff, Kernel)                      \
  X(eye, creation, 0, NoDiff, Kernel)                         \
  X(rand, creation, 0, NoDiff, Kernel)                        \
  X(randn, creation, 0, NoDiff, Kernel)                       \
  X(randint, creation, 0, NoDiff, Kernel)                     \
  X(bernoulli, creation, 1, NoDiff, Kernel)                   \
  X(tril_mask, creation, 0, NoDiff, Kernel)                   \
  X(triu_mask, creation, 0, NoDiff, Kernel)                   \
  /* copies and conversions (to(device), to(dtype), contiguous) */ \
  X(copy, copy, 1, Diff, Kernel)                              \
  /* element-wise extras */                                   \
  X(logical_not, elementwise, 1, NoDiff, Kernel)              \
  X(where, elementwise, 3, Diff, Kernel)                      \
  X(masked_fill, elementwise, 2, Diff, Composite)             \
  X(unary_backward, elementwise, 3, NoDiff, Kernel)           \
  /* views: share storage */                                  \
  X(reshape, shape, 1, Diff, View)                            \
  X(permute, shape, 1, Diff, View)                            \
  X(transpose, shape, 1, Diff, View)                          \
  X(slice, shape, 1, Diff, View)                              \
  X(select, shape, 1, Diff, View)                             \
  X(expand, shape, 1, Diff, View)                             \
  X(squeeze, shape, 1, Diff, View)                            \
  X(unsqueeze, shape, 1, Diff, View)                          \
  X(flatten, shape, 1, Diff, View)                            \
  X(diagonal, shape, 1, Diff, View)                           \
  X(split, shape, 1, Diff, View)                              \
  X(chunk, shape, 1, Diff, View)                              \
  /* shape ops that copy */                                   \
  X(cat, shape, -1, Diff, Composite)                          \
  X(stack, shape, -1, Diff, Composite)                        \
  X(pad, shape, 1, Diff, Composite)                           \
  X(repeat, shape, 1, Diff, Composite)                        \
  /* reductions over dims, keepdim */                         \
  X(sum, reduce, 1, Diff, Kernel)                             \
  X(mean, reduce, 1, Diff, Composite)                         \
  X(max, reduce, 1, Diff, Kernel)                             \
  X(min, reduce, 1, Diff, Kernel)                             \
  X(amax, reduce, 1, Diff, Kernel)                            \
  X(amin, reduce, 1, Diff, Kernel)                            \
  X(argmax, reduce, 1, NoDiff, Kernel)                        \
  X(argmin, reduce, 1, NoDiff, Kernel)                        \
  X(logsumexp, reduce, 1, Diff, Composite)                    \
  X(var, reduce, 1, Diff, Composite)                          \
  X(std, reduce, 1, Diff, Composite)                          \
  X(norm, reduce, 1, Diff, Composite)                         \
  /* linear algebra */                                        \
  X(matmul, linalg, 2, Diff, Kernel)                          \
  X(bmm, linalg, 2, Diff, Composite)                          \
  X(linear, linalg, 3, Diff, Composite)                       \
  X(addmm, linalg, 3, Diff, Composite)                        \
  /* normalisation and softmax */                             \
  X(softmax, softmax, 1, Diff, Kernel)                        \
  X(softmax_backward, softmax, 2, NoDiff, Kernel)             \
  X(log_softmax, softmax, 1, Diff, Kernel)                    \
  X(log_softmax_backward, softmax, 2, NoDiff, Kernel)         \
  X(layer_norm, norm, 3, Diff, Kernel)                        \
  X(layer_norm_backward, norm, 3, NoDiff, Kernel)             \
  X(batch_norm, norm, 5, Diff, Kernel)                        \
  X(batch_norm_backward, norm, 3, NoDiff, Kernel)             \
  /* losses and distances */                                  \
  X(cross_entropy, loss, 2, Diff, Composite)                  \
  X(nll_loss, loss, 2, Diff, Composite)                       \
  X(binary_cross_entropy_with_logits, loss, 2, Diff, Composite) \
  X(mse_loss, loss, 2, Diff, Composite)                       \
  X(normalize, loss, 1, Diff, Composite)                      \
  X(cosine_similarity, loss, 2, Diff, Composite)              \
  X(cdist, loss, 2, Diff, Composite)                          \
  /* convolution and pooling */                               \
  X(conv2d, conv, 3, Diff, Kernel)                            \
  X(conv2d_backward, conv, 3, NoDiff, Kernel)                 \
  X(max_pool2d, pool, 1, Diff, Kernel)                        \
  X(max_pool2d_backward, pool, 2, NoDiff, Kernel)             \
  X(avg_pool2d, pool, 1, Diff, Kernel)                        \
  X(avg_pool2d_backward, pool, 1, NoDiff, Kernel)             \
  X(adaptive_avg_pool2d, pool, 1, Diff, Kernel)               \
  X(adaptive_avg_pool2d_backward, pool, 1, NoDiff, Kernel)    \
  /* other neural ops */                                      \
  X(embedding, index, 2, Diff, Composite)                     \
  X(dropout, nn, 1, Diff, Composite)                          \
  X(scaled_dot_product_attention, nn, 3, Diff, Composite)     \
  X(lstm, nn, 5, Diff, Composite)                             \
  /* indexing */                                              \
  X(index_select, index, 2, Diff, Kernel)                     \
  X(gather, index, 2, Diff, Kernel)                           \
  X(scatter_add, index, 3, Diff, Kernel)                      \
  X(one_hot, index, 1, NoDiff, Kernel)                        \
  X(topk, index, 1, NoDiff, Kernel)                           \
  X(sort, index, 1, NoDiff, Kernel)                           \
  X(argsort, index, 1, NoDiff, Composite)                     \
                                                              \
  X(adamw_step, optim, 4, NoDiff, Kernel)                     \
  X(sgd_step, optim, 3, NoDiff, Kernel)
