// Binary element-wise math shared by the CPU loops and the CUDA kernels. Their gradients are
// written with framework ops in autograd/grad/binary.cpp (they need broadcasting reductions).
#pragma once

#include <type_traits>

#include "ops/math/scalar_math.h"

namespace mm {

#define MM_BIN(Name, expr) \
  struct Name { template <typename T> MM_HOST_DEVICE MM_INLINE static T apply(T a, T b) { return expr; } };

MM_BIN(AddFn, a + b)
MM_BIN(SubFn, a - b)
MM_BIN(MulFn, a * b)
MM_BIN(DivFn, a / b)
// Integer pow goes through double (the front end promotes integer pow to f32, so this is only for
// completeness of the instantiation).
struct PowFn {
  template <typename T> MM_HOST_DEVICE MM_INLINE static T apply(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) return math::pow(a, b);
    else return T(math::pow(double(a), double(b)));
  }
};
// NaN propagates, as in torch.maximum/minimum.
MM_BIN(MaximumFn, (a != a || b != b) ? (a != a ? a : b) : (a > b ? a : b))
MM_BIN(MinimumFn, (a != a || b != b) ? (a != a ? a : b) : (a < b ? a : b))
#undef MM_BIN

#define MM_CMP(Name, expr) \
  struct Name { template <typename T> MM_HOST_DEVICE MM_INLINE static bool apply(T a, T b) { return expr; } };
MM_CMP(EqFn, a == b)
MM_CMP(NeFn, a != b)
MM_CMP(LtFn, a < b)
MM_CMP(LeFn, a <= b)
MM_CMP(GtFn, a > b)
MM_CMP(GeFn, a >= b)
MM_CMP(LogicalAndFn, (a != T(0)) && (b != T(0)))
MM_CMP(LogicalOrFn, (a != T(0)) || (b != T(0)))
MM_CMP(LogicalXorFn, (a != T(0)) != (b != T(0)))
#undef MM_CMP

}  // namespace mm
