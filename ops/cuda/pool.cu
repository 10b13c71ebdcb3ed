// CUDA pooling kernels: one thread per output element forward; the backward passes are gathers
// (one thread per input element sums the gradients of the windows that read it, in a fixed order),
// so there are no atomics and results are deterministic. The window math (avg_window, tap_range,
// windows_touching, adaptive_start/end) is the same __host__ __device__ code as on the CPU.
#include <limits>

#include "ops/pool.h"
#include "runtime/cuda/launch.h"

namespace mm::cuda {
namespace {

inline constexpr int kThreads = 256;

#define MM_GRID_STRIDE(i, total)                                                             \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (total); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

template <typename T>
__global__ void max_pool_forward_kernel(const T* x, Pool2dGeometry g, T* y, int64_t* indices) {
  const int64_t OHW = g.OH * g.OW;
  MM_GRID_STRIDE(i, g.planes * OHW) {
    int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, plane = i / OHW;
    const T* xp = x + plane * g.H * g.W;
    int64_t h0 = oh * g.sH - g.pH, w0 = ow * g.sW - g.pW;
    TapRange th = tap_range(h0, g.kH, g.dH, g.H), tw = tap_range(w0, g.kW, g.dW, g.W);
    T best = -std::numeric_limits<T>::infinity();
    int64_t arg = -1;  // stays -1 only for a window that lies entirely in the padding
    for (int64_t a = th.lo; a < th.hi; ++a)
      for (int64_t b = tw.lo; b < tw.hi; ++b) {
        int64_t idx = (h0 + a * g.dH) * g.W + w0 + b * g.dW;
        T v = xp[idx];
        if (arg < 0 || v > best || isnan(v)) {  // NaN propagates, as in PyTorch
          best = v;
          arg = idx;
        }
      }
    y[i] = best;
    indices[i] = arg;
  }
}

template <typename T>
__global__ void max_pool_backward_kernel(const T* gy, const int64_t* indices, Pool2dGeometry g, T* gx) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  MM_GRID_STRIDE(i, g.planes * HW) {
    int64_t iw = i % g.W, ih = (i / g.W) % g.H, plane = i / HW, flat = ih * g.W + iw;
    TapRange rh = windows_touching(ih, g.sH, g.pH, (g.kH - 1) * g.dH + 1, g.OH);
    TapRange rw = windows_touching(iw, g.sW, g.pW, (g.kW - 1) * g.dW + 1, g.OW);
    T acc = 0;
    for (int64_t oh = rh.lo; oh < rh.hi; ++oh)
      for (int64_t ow = rw.lo; ow < rw.hi; ++ow) {
        int64_t o = plane * OHW + oh * g.OW + ow;
        if (indices[o] == flat) acc += gy[o];  // out-of-range indices match no pixel: ignored
      }
    gx[i] = acc;
  }
}

__device__ AvgWindow window_of(bool adaptive, const Pool2dGeometry& g, int64_t oh, int64_t ow) {
  if (!adaptive) return avg_window(g, oh, ow);
  int64_t h0 = adaptive_start(oh, g.H, g.OH), h1 = adaptive_end(oh, g.H, g.OH);
  int64_t w0 = adaptive_start(ow, g.W, g.OW), w1 = adaptive_end(ow, g.W, g.OW);
  return {h0, h1, w0, w1, (h1 - h0) * (w1 - w0)};
}

template <typename T>
__global__ void avg_pool_forward_kernel(const T* x, Pool2dGeometry g, bool adaptive, T* y) {
  const int64_t OHW = g.OH * g.OW;
  MM_GRID_STRIDE(i, g.planes * OHW) {
    int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, plane = i / OHW;
    const T* xp = x + plane * g.H * g.W;
    AvgWindow wd = window_of(adaptive, g, oh, ow);
    T s = 0;
    for (int64_t ih = wd.h0; ih < wd.h1; ++ih)
      for (int64_t iw = wd.w0; iw < wd.w1; ++iw) s += xp[ih * g.W + iw];
    y[i] = wd.divisor > 0 ? s / static_cast<T>(wd.divisor) : T(0);
  }
}

template <typename T>
__global__ void avg_pool_backward_kernel(const T* gy, Pool2dGeometry g, bool adaptive, T* gx) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  MM_GRID_STRIDE(i, g.planes * HW) {
    int64_t iw = i % g.W, ih = (i / g.W) % g.H, plane = i / HW;
    TapRange rh, rw;
    if (adaptive) {
      // Bin o covers pixel i exactly when start(i) <= o < end(i) with the roles of the sizes swapped
      // (floor(o·H/OH) <= i < ceil((o+1)·H/OH) solved for o).
      rh = {adaptive_start(ih, g.OH, g.H), adaptive_end(ih, g.OH, g.H) < g.OH ? adaptive_end(ih, g.OH, g.H) : g.OH};
      rw = {adaptive_start(iw, g.OW, g.W), adaptive_end(iw, g.OW, g.W) < g.OW ? adaptive_end(iw, g.OW, g.W) : g.OW};
    } else {
      rh = windows_touching(ih, g.sH, g.pH, g.kH, g.OH);
      rw = windows_touching(iw, g.sW, g.pW, g.kW, g.OW);
    }
    T acc = 0;
    for (int64_t oh = rh.lo; oh < rh.hi; ++oh)
      for (int64_t ow = rw.lo; ow < rw.hi; ++ow) {
        AvgWindow wd = window_of(adaptive, g, oh, ow);
        if (ih < wd.h0 || ih >= wd.h1 || iw < wd.w0 || iw >= wd.w1 || wd.divisor <= 0) continue;
        acc += gy[plane * OHW + oh * g.OW + ow] / static_cast<T>(wd.divisor);
      }
    gx[i] = acc;
  }
}

void max_pool2d_kernel(const Tensor& x, const Pool2dGeometry& g, Tensor& out, Tensor& indices) {
  MM_DISPATCH_FLOAT(x.dtype(), "max_pool2d", [&] {
    launch(max_pool_forward_kernel<scalar_t>, blocks_for(out.numel(), kThreads), dim3(kThreads), 0, "max_pool2d",
           x.data<scalar_t>(), g, out.data<scalar_t>(), indices.data<int64_t>());
  });
}

void max_pool2d_backward_kernel(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g, Tensor& grad_x) {
  MM_DISPATCH_FLOAT(grad_out.dtype(), "max_pool2d_backward", [&] {
    launch(max_pool_backward_kernel<scalar_t>, blocks_for(grad_x.numel(), kThreads), dim3(kThreads), 0,
           "max_pool2d_backward", grad_out.data<scalar_t>(), indices.data<int64_t>(), g, grad_x.data<scalar_t>());
  });
}

void avg_pool2d_kernel(OpId op, const Tensor& x, const Pool2dGeometry& g, Tensor& out) {
  MM_DISPATCH_FLOAT(x.dtype(), op_name(op), [&] {
    launch(avg_pool_forward_kernel<scalar_t>, blocks_for(out.numel(), kThreads), dim3(kThreads), 0, op_name(op),
           x.data<scalar_t>(), g, op == OpId::adaptive_avg_pool2d, out.data<scalar_t>());
  });
}

void avg_pool2d_backward_kernel(OpId op, const Tensor& grad_out, const Pool2dGeometry& g, Tensor& grad_x) {
  MM_DISPATCH_FLOAT(grad_out.dtype(), op_name(op), [&] {
    launch(avg_pool_backward_kernel<scalar_t>, blocks_for(grad_x.numel(), kThreads), dim3(kThreads), 0, op_name(op),
           grad_out.data<scalar_t>(), g, op == OpId::adaptive_avg_pool2d, grad_x.data<scalar_t>());
  });
}

}  // namespace

MM_REGISTER_KERNEL(max_pool2d, CUDA, &max_pool2d_kernel);
MM_REGISTER_KERNEL(max_pool2d_backward, CUDA, &max_pool2d_backward_kernel);
MM_REGISTER_KERNEL(avg_pool2d, CUDA, &avg_pool2d_kernel);
MM_REGISTER_KERNEL(avg_pool2d_backward, CUDA, &avg_pool2d_backward_kernel);
MM_REGISTER_KERNEL(adaptive_avg_pool2d, CUDA, &avg_pool2d_kernel);
MM_REGISTER_KERNEL(adaptive_avg_pool2d_backward, CUDA, &avg_pool2d_backward_kernel);

}  // namespace mm::cuda
