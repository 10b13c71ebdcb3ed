// The reducer of each reduction op, shared by the reduction backends (ops/cpu/reduce.cpp,
// ops/cuda/reduce.cu) so that both map an op to the same reducer (ops/math/reduce_functors.h).
#pragma once

#include "ops/math/reduce_functors.h"
#include "ops/reduce.h"

namespace mm {

// Calls run(ReducerTag<R, T>{}, with_indices) with R the reducer of `op` over T, the C++ type of
// `dtype` (u8/i32/i64/f32/f64); with_indices is true for the ops that can return positions (max,
// min, argmax, argmin). Any other op is a NotImplemented error naming `backend` ("CPU", "CUDA").
template <typename R, typename T>
struct ReducerTag {
  using Reducer = R;
  using Scalar = T;
};
template <typename Run>
void dispatch_reduction(OpId op, DType dtype, const char* backend, Run&& run) {
  const char* name = op_name(op);
  switch (op) {
    case OpId::sum:
      return MM_DISPATCH_NUMERIC(dtype, name, [&] { run(ReducerTag<SumReducer<scalar_t>, scalar_t>{}, false); });
    case OpId::max:
    case OpId::argmax:
      return MM_DISPATCH_NUMERIC(dtype, name, [&] { run(ReducerTag<MaxReducer<scalar_t>, scalar_t>{}, true); });
    case OpId::min:
    case OpId::argmin:
      return MM_DISPATCH_NUMERIC(dtype, name, [&] { run(ReducerTag<MinReducer<scalar_t>, scalar_t>{}, true); });
    case OpId::amax:
      return MM_DISPATCH_NUMERIC(dtype, name, [&] { run(ReducerTag<AMaxReducer<scalar_t>, scalar_t>{}, false); });
    case OpId::amin:
      return MM_DISPATCH_NUMERIC(dtype, name, [&] { run(ReducerTag<AMinReducer<scalar_t>, scalar_t>{}, false); });
    default:
      fail(ErrorKind::NotImplemented, name, "no ", backend, " reduction");
  }
}

}  // namespace mm
