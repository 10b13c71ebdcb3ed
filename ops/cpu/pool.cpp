// CPU pooling loops. Every (n, c) plane is independent: planes are split across threads, and each
// plane's backward scatter runs sequentially on one thread, so results never depend on timing. The
// window geometry (avg_window, tap_range, adaptive_start/end) is shared with the CUDA kernels.
#include <cmath>
#include <limits>

#include "ops/cpu/loops.h"
#include "ops/pool.h"

namespace mm::cpu {
namespace {

// Planes per parallel chunk: about kGrain elements of work each.
int64_t plane_grain(int64_t plane_elems) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, plane_elems)); }

template <typename T>
void max_pool_forward(const Tensor& x, const Pool2dGeometry& g, Tensor& out, Tensor& indices) {
  const T* X = x.data<T>();
  T* Y = out.data<T>();
  int64_t* I = indices.data<int64_t>();
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  parallel_for(0, g.planes, plane_grain(HW), [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const T* xp = X + plane * HW;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        int64_t h0 = oh * g.sH - g.pH;
        TapRange th = tap_range(h0, g.kH, g.dH, g.H);
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          int64_t w0 = ow * g.sW - g.pW;
          TapRange tw = tap_range(w0, g.kW, g.dW, g.W);
          // -inf and index -1 stay only for a window with no input element (all padding).
          T best = -std::numeric_limits<T>::infinity();
          int64_t arg = -1;
          for (int64_t i = th.lo; i < th.hi; ++i) {
            int64_t ih = h0 + i * g.dH;
            for (int64_t j = tw.lo; j < tw.hi; ++j) {
              int64_t iw = w0 + j * g.dW;
              T v = xp[ih * g.W + iw];
              // As PyTorch: NaN propagates (a NaN is never beaten by `v > best`).
              if (arg < 0 || v > best || std::isnan(v)) {
                best = v;
                arg = ih * g.W + iw;
              }
            }
          }
          Y[plane * OHW + oh * g.OW + ow] = best;
          I[plane * OHW + oh * g.OW + ow] = arg;
        }
      }
    }
  });
}

template <typename T>
void max_pool_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g, Tensor& grad_x) {
  const T* G = grad_out.data<T>();
  const int64_t* I = indices.data<int64_t>();
  T* GX = grad_x.data<T>();
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  // Indices were range-checked by the front end; -1 (an all-padding window) gets no gradient.
  parallel_for(0, g.planes, plane_grain(HW), [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      T* gx = GX + plane * HW;
      std::fill(gx, gx + HW, T(0));
      for (int64_t o = 0; o < OHW; ++o) {
        int64_t i = I[plane * OHW + o];
        if (i >= 0) gx[i] += G[plane * OHW + o];
      }
    }
  });
}

// Window of output (oh, ow) for avg_pool2d or adaptive_avg_pool2d.
AvgWindow window_of(OpId op, const Pool2dGeometry& g, int64_t oh, int64_t ow) {
  if (op == OpId::avg_pool2d) return avg_window(g, oh, ow);
  int64_t h0 = adaptive_start(oh, g.H, g.OH), h1 = adaptive_end(oh, g.H, g.OH);
  int64_t w0 = adaptive_start(ow, g.W, g.OW), w1 = adaptive_end(ow, g.W, g.OW);
  return {h0, h1, w0, w1, (h1 - h0) * (w1 - w0)};
}

template <typename T>
void avg_pool_forward(OpId op, const Tensor& x, const Pool2dGeometry& g, Tensor& out) {
  const T* X = x.data<T>();
  T* Y = out.data<T>();
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  parallel_for(0, g.planes, plane_grain(HW), [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const T* xp = X + plane * HW;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          AvgWindow wd = window_of(op, g, oh, ow);
          T s = 0;
          for (int64_t ih = wd.h0; ih < wd.h1; ++ih)
            for (int64_t iw = wd.w0; iw < wd.w1; ++iw) s += xp[ih * g.W + iw];
          Y[plane * OHW + oh * g.OW + ow] = wd.divisor > 0 ? s / static_cast<T>(wd.divisor) : T(0);
        }
    }
  });
}

template <typename T>
void avg_pool_backward(OpId op, const Tensor& grad_out, const Pool2dGeometry& g, Tensor& grad_x) {
  const T* G = grad_out.data<T>();
  T* GX = grad_x.data<T>();
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  parallel_for(0, g.planes, plane_grain(HW), [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      T* gx = GX + plane * HW;
      std::fill(gx, gx + HW, T(0));
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          AvgWindow wd = window_of(op, g, oh, ow);
          if (wd.divisor <= 0) continue;
          T v = G[plane * OHW + oh * g.OW + ow] / static_cast<T>(wd.divisor);
          for (int64_t ih = wd.h0; ih < wd.h1; ++ih)
            for (int64_t iw = wd.w0; iw < wd.w1; ++iw) gx[ih * g.W + iw] += v;
        }
    }
  });
}

void max_pool2d_kernel(const Tensor& x, const Pool2dGeometry& g, Tensor& out, Tensor& indices) {
  MM_DISPATCH_FLOAT(x.dtype(), "max_pool2d", [&] { max_pool_forward<scalar_t>(x, g, out, indices); });
}
void max_pool2d_backward_kernel(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g, Tensor& grad_x) {
  MM_DISPATCH_FLOAT(grad_out.dtype(), "max_pool2d_backward",
                    [&] { max_pool_backward<scalar_t>(grad_out, indices, g, grad_x); });
}
void avg_pool2d_kernel(OpId op, const Tensor& x, const Pool2dGeometry& g, Tensor& out) {
  MM_DISPATCH_FLOAT(x.dtype(), op_name(op), [&] { avg_pool_forward<scalar_t>(op, x, g, out); });
}
void avg_pool2d_backward_kernel(OpId op, const Tensor& grad_out, const Pool2dGeometry& g, Tensor& grad_x) {
  MM_DISPATCH_FLOAT(grad_out.dtype(), op_name(op), [&] { avg_pool_backward<scalar_t>(op, grad_out, g, grad_x); });
}

}  // namespace

MM_REGISTER_KERNEL(max_pool2d, CPU, &max_pool2d_kernel);
MM_REGISTER_KERNEL(max_pool2d_backward, CPU, &max_pool2d_backward_kernel);
MM_REGISTER_KERNEL(avg_pool2d, CPU, &avg_pool2d_kernel);
MM_REGISTER_KERNEL(avg_pool2d_backward, CPU, &avg_pool2d_backward_kernel);
MM_REGISTER_KERNEL(adaptive_avg_pool2d, CPU, &avg_pool2d_kernel);
MM_REGISTER_KERNEL(adaptive_avg_pool2d_backward, CPU, &avg_pool2d_backward_kernel);

}  // namespace mm::cpu
