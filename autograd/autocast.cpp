// AutocastGuard and the two casts of autograd/autocast.h.
#include "autograd/autocast.h"

#include "autograd/grad/elementwise.h"
#include "runtime/error.h"

namespace mm {

AutocastGuard::AutocastGuard(DType low) : prev_enabled_(autocast_detail::enabled), prev_low_(autocast_detail::low) {
  MM_CHECK(low == DType::F16 || low == DType::BF16 || low == DType::F32, DType, "autocast",
           "the low-precision dtype must be f16 or bf16 (f32 disables autocast), got ", dtype_name(low));
  autocast_detail::enabled = low != DType::F32;
  autocast_detail::low = low;
}

AutocastGuard::~AutocastGuard() {
  autocast_detail::enabled = prev_enabled_;
  autocast_detail::low = prev_low_;
}

Tensor autocast_to_low(const Tensor& t) {
  if (!t.defined()) return t;
  const DType d = t.dtype();
  if (!is_floating(d) || d == DType::F64 || d == autocast_detail::low) return t;
  return to(t, autocast_detail::low);
}

Tensor autocast_to_f32(const Tensor& t) {
  if (!t.defined()) return t;
  if (!is_half_dtype(t.dtype())) return t;
  return to(t, DType::F32);
}

}  // namespace mm
