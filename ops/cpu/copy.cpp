// CPU strided copy with dtype conversion, and fill. Conversions go through the destination type's
// constructor from the source value (f16/bf16 via float, round-to-nearest-even).
#include <algorithm>
#include <cstring>

#include "ops/common/broadcast.h"
#include "ops/cpu/loops.h"
#include "ops/kernels.h"

namespace mm::cpu {
namespace {

template <typename D, typename S>
D convert(S v) {
  if constexpr (std::is_same_v<D, bool>) {
    if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) return static_cast<float>(v) != 0.0f;
    else return v != S(0);  // in the source type: a tiny f64 is still true
  } else if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) {
    return static_cast<D>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<D, Half> || std::is_same_v<D, BFloat16>) {
    return D(static_cast<float>(v));
  } else {
    return static_cast<D>(v);
  }
}

template <typename D, typename S>
void copy_loop(const Tensor& src, Tensor& dst) {
  D* d = static_cast<D*>(dst.raw_data());
  const S* s = static_cast<const S*>(src.raw_data());
  int64_t n = dst.numel();
  if constexpr (std::is_same_v<D, S>) {
    if (src.is_contiguous() && dst.is_contiguous()) {
      parallel_for(0, n, kGrain * 4, [&](int64_t b, int64_t e) { std::memcpy(d + b, s + b, (e - b) * sizeof(D)); });
      return;
    }
  }
  auto ix = make_indexer<2>(dst.shape(), {&dst, &src}, "copy");
  parallel_for_each_run<2>(ix, n, [&](const int64_t* off, const int64_t* st, int64_t cnt) {
    D* dp = d + off[0];
    const S* sp = s + off[1];
    if (st[0] == 1 && st[1] == 1) {
      for (int64_t j = 0; j < cnt; ++j) dp[j] = convert<D, S>(sp[j]);
    } else {
      for (int64_t j = 0; j < cnt; ++j) dp[j * st[0]] = convert<D, S>(sp[j * st[1]]);
    }
  });
}

void copy_kernel(const Tensor& src, Tensor& dst) {
  MM_DISPATCH_ALL(dst.dtype(), "copy", [&] {
    using D = scalar_t;
    MM_DISPATCH_ALL(src.dtype(), "copy", [&] { copy_loop<D, scalar_t>(src, dst); });
  });
}

void fill_kernel(Tensor& dst, double value) {
  MM_DISPATCH_ALL(dst.dtype(), "full", [&] {
    scalar_t v = convert<scalar_t, double>(value);
    scalar_t* d = dst.data<scalar_t>();
    if (dst.is_contiguous()) {  // the common case (new tensors, scalars): no indexer set-up
      parallel_for(0, dst.numel(), kGrain * 4, [&](int64_t b, int64_t e) { std::fill(d + b, d + e, v); });
      return;
    }
    auto ix = make_indexer<1>(dst.shape(), {&dst}, "full");
    parallel_for_each_run<1>(ix, dst.numel(), [&](const int64_t* off, const int64_t* st, int64_t cnt) {
      for (int64_t j = 0; j < cnt; ++j) d[off[0] + j * st[0]] = v;
    });
  });
}

}  // namespace

MM_REGISTER_KERNEL(copy, CPU, &copy_kernel);
MM_REGISTER_KERNEL(full, CPU, &fill_kernel);

}  // namespace mm::cpu
