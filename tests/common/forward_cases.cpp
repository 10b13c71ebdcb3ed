#include "tests/common/forward_cases.h"

#include "autograd/gradcheck_cases.h"

namespace mm::testing {

namespace {
std::vector<ForwardCase>& registry() {
  static std::vector<ForwardCase> cases;
  return cases;
}
}  // namespace

void register_forward_case(ForwardCase c) { registry().push_back(std::move(c)); }
const std::vector<ForwardCase>& forward_cases() { return registry(); }

Tensor randn(const Shape& shape, uint64_t seed, double scale) { return case_randn(shape, seed, scale); }
Tensor uniform(const Shape& shape, uint64_t seed, double lo, double hi) { return case_uniform(shape, seed, lo, hi); }

Tensor int_tensor(const std::vector<int64_t>& values, const Shape& shape) { return Tensor::from_vector<int64_t>(values, shape); }

Tensor bool_tensor(const std::vector<bool>& values, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::Bool, kCPU);
  MM_INTERNAL_ASSERT(static_cast<int64_t>(values.size()) == t.numel());
  bool* p = t.data<bool>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return t;
}

Tensor make_strided(const Tensor& t) {
  if (t.dim() == 0) return t;
  // Lay the dims out in reversed order in memory with a gap of 2 in each stride, then copy.
  int64_t nd = t.dim();
  Strides st(nd);
  int64_t acc = 2;
  for (int64_t d = 0; d < nd; ++d) {  // dim 0 innermost in memory
    st[d] = acc;
    acc *= std::max<int64_t>(t.shape()[d], 1) * 2;
  }
  Storage s = make_storage(static_cast<size_t>(acc) * t.element_size(), t.device());
  Tensor v = Tensor::make_view(s, t.shape(), st, 0, t.dtype());
  ops::copy_(v, t);
  return v;
}

Tensor cast_floating(const Tensor& t, DType dtype) { return is_floating(t.dtype()) ? ops::to_dtype(t, dtype) : t; }

}  // namespace mm::testing
