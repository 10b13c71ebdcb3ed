// From a runtime OpId to the compile-time functor of its element-wise family, in one place:
//   visit_unary_functor(op, [&]<typename F>() { loop<F, T>(...); });
// The CPU loops and the CUDA kernels both dispatch through these, so the op → functor mapping is
// written once (it comes from the X-macro lists of ops/op_table.h).
#pragma once

#include "ops/math/binary_functors.h"
#include "ops/math/unary_functors.h"
#include "ops/registry.h"

namespace mm {

#define MM_VISIT_CASE(name, F) \
  case OpId::name:             \
    return fn.template operator()<F>();

template <typename Fn>
void visit_unary_functor(OpId op, Fn&& fn) {
  switch (op) {
    MM_UNARY_OPS(MM_VISIT_CASE)
    default: fail(ErrorKind::NotImplemented, op_name(op), "is not a unary element-wise op");
  }
}

template <typename Fn>
void visit_binary_functor(OpId op, Fn&& fn) {
  switch (op) {
    MM_BINARY_OPS(MM_VISIT_CASE)
    default: fail(ErrorKind::NotImplemented, op_name(op), "is not a binary element-wise op");
  }
}

template <typename Fn>
void visit_compare_functor(OpId op, Fn&& fn) {
  switch (op) {
    MM_COMPARE_OPS(MM_VISIT_CASE)
    default: fail(ErrorKind::NotImplemented, op_name(op), "is not a comparison op");
  }
}

#undef MM_VISIT_CASE

}  // namespace mm
