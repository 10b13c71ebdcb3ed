// CUDA strided copy with dtype conversion, and fill.
#include <type_traits>

#include "ops/common/broadcast.h"
#include "ops/cuda/loops.cuh"
#include "ops/kernels.h"

namespace mm::cuda {
namespace {

template <typename D, typename S>
__device__ D convert(S v) {
  if constexpr (std::is_same_v<D, bool>) {
    if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) return static_cast<float>(v) != 0.0f;
    else return v != S(0);  // in the source type: a tiny f64 is still true
  }
  else if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) return static_cast<D>(static_cast<float>(v));
  else if constexpr (std::is_same_v<D, Half> || std::is_same_v<D, BFloat16>) return D(static_cast<float>(v));
  else return static_cast<D>(v);
}

template <typename D, typename S>
struct CopyApply {
  D* d;
  const S* s;
  __device__ void operator()(const int64_t* off) const { d[off[0]] = convert<D, S>(s[off[1]]); }
};

void copy_kernel(const Tensor& src, Tensor& dst) {
  auto ix = make_indexer<2>(dst.shape(), {&dst, &src}, "copy");
  bool contig = all_contiguous_same_shape(dst.shape(), {&dst, &src});
  MM_DISPATCH_ALL(dst.dtype(), "copy", [&] {
    using D = scalar_t;
    MM_DISPATCH_ALL(src.dtype(), "copy", [&] {
      launch_elementwise<2>(ix, dst.numel(), contig, "copy",
                            CopyApply<D, scalar_t>{static_cast<D*>(dst.raw_data()), static_cast<const scalar_t*>(src.raw_data())});
    });
  });
}

template <typename T>
struct FillApply {
  T* d;
  T v;
  __device__ void operator()(const int64_t* off) const { d[off[0]] = v; }
};

void fill_kernel(Tensor& dst, double value) {
  auto ix = make_indexer<1>(dst.shape(), {&dst}, "full");
  bool contig = dst.is_contiguous();
  MM_DISPATCH_ALL(dst.dtype(), "full", [&] {
    scalar_t v;
    if constexpr (std::is_same_v<scalar_t, bool>) v = value != 0.0;
    else if constexpr (std::is_same_v<scalar_t, Half> || std::is_same_v<scalar_t, BFloat16>) v = scalar_t(static_cast<float>(value));
    else v = static_cast<scalar_t>(value);
    launch_elementwise<1>(ix, dst.numel(), contig, "full", FillApply<scalar_t>{dst.data<scalar_t>(), v});
  });
}

}  // namespace

MM_REGISTER_KERNEL(copy, CUDA, &copy_kernel);
MM_REGISTER_KERNEL(full, CUDA, &fill_kernel);

}  // namespace mm::cuda
