// Separable antialiased resampling, PIL's way, so that results equal PIL's bit for bit:
//   - per axis, output pixel i samples the input around center = (i + 0.5)·scale with the filter
//     stretched by max(scale, 1) (a downscale widens the kernel: that is the antialiasing);
//   - weights are normalised in double, then converted to 22-bit fixed point (rounded away from 0);
//   - horizontal pass first, over only the input rows the vertical pass needs, into a uint8 buffer
//     (rounded and clamped, as PIL does between its passes); then the vertical pass;
//   - a pass whose size does not change is skipped (PIL skips it too; it would be the identity).
// Coefficient tables are computed once per call (per axis), so the inner loops are multiply-adds only.
#include "data/image/resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__SSE4_1__)
#include <smmintrin.h>
#endif

#include "runtime/error.h"

// Pillow is built for baseline x86-64 and rounds every float/double product before adding; with
// -march=native GCC would fuse a + b·c into one FMA (C++ defaults to -ffp-contract=fast), which
// changes results by a level now and then. Keep the products rounded, as Pillow's are.
#pragma GCC optimize("fp-contract=off")

namespace mm::data::detail {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // PIL's PRECISION_BITS for 8-bit images

double bilinear_filter(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double bicubic_filter(double x) {  // Keys cubic with a = −0.5, as PIL
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// One axis: for each output index in [first, first + count), the first input index (absolute, i.e.
// offset by the box origin), the tap count, and `ksize` fixed-point weights.
struct Coeffs {
  int ksize = 0;
  std::vector<int64_t> start;
  std::vector<int> taps;
  std::vector<int32_t> k;  // count × ksize
};

Coeffs precompute(int64_t in_origin, int64_t in_size, int64_t out_size, int64_t first, int64_t count, Interpolation interp) {
  const double support0 = interp == Interpolation::Bicubic ? 2.0 : 1.0;
  double (*filter)(double) = interp == Interpolation::Bicubic ? bicubic_filter : bilinear_filter;
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = support0 * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.start.resize(count);
  c.taps.resize(count);
  c.k.assign(count * c.ksize, 0);
  std::vector<double> w(c.ksize);
  const double ss = 1.0 / filterscale;
  for (int64_t j = 0; j < count; ++j) {
    const int64_t xx = first + j;
    const double center = (static_cast<double>(xx) + 0.5) * scale;
    // (int) truncates toward zero, like PIL's C casts; the clamps make the sign moot.
    int64_t xmin = static_cast<int64_t>(center - support + 0.5);
    int64_t xmax = static_cast<int64_t>(center + support + 0.5);
    xmin = std::max<int64_t>(xmin, 0);
    xmax = std::min<int64_t>(xmax, in_size) - xmin;
    double ww = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      w[x] = filter((static_cast<double>(x + xmin) - center + 0.5) * ss);
      ww += w[x];
    }
    int32_t* k = &c.k[j * c.ksize];
    for (int64_t x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[x] / ww : w[x];
      const double f = v * static_cast<double>(1 << kPrecisionBits);
      k[x] = static_cast<int32_t>(v < 0 ? -0.5 + f : 0.5 + f);
    }
    c.start[j] = in_origin + xmin;
    c.taps[j] = static_cast<int>(xmax);
  }
  return c;
}

inline uint8_t clip8(int32_t v) {
  v >>= kPrecisionBits;  // arithmetic shift, as PIL's lookup index
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// One output row of the horizontal pass. Each output pixel is Σ taps · pixel over 1–10 input
// pixels, three channels at once. With SSE4.1 a tap is one 4-byte load widened to 4 int32 lanes
// (R, G, B and the next pixel's R, which is computed and dropped), one multiply, one add: the same
// integer sums as the scalar loop, so the same bytes. The 4-byte load may read the first byte of
// the next row; only where that would pass the end of the image does the scalar loop run.
void horizontal_row(const uint8_t* in, const uint8_t* img_end, const Coeffs& ch, int64_t width, uint8_t* o) {
  constexpr int C = 3;
  constexpr int32_t half = 1 << (kPrecisionBits - 1);
  for (int64_t j = 0; j < width; ++j) {
    const uint8_t* p = in + ch.start[j] * C;
    const int32_t* k = &ch.k[j * ch.ksize];
    const int taps = ch.taps[j];
#if defined(__SSE4_1__)
    if (p + taps * C + 1 <= img_end) {
      __m128i acc = _mm_set1_epi32(half);
      for (int t = 0; t < taps; ++t, p += C) {
        uint32_t w;
        std::memcpy(&w, p, 4);
        const __m128i px = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(static_cast<int>(w)));
        acc = _mm_add_epi32(acc, _mm_mullo_epi32(px, _mm_set1_epi32(k[t])));
      }
      acc = _mm_srai_epi32(acc, kPrecisionBits);  // then clamp to 0..255, as clip8
      acc = _mm_packus_epi32(acc, acc);           // int32 → uint16, negatives → 0
      acc = _mm_packus_epi16(acc, acc);           // uint16 → uint8, > 255 → 255
      const uint32_t bytes = static_cast<uint32_t>(_mm_cvtsi128_si32(acc));
      o[j * C + 0] = static_cast<uint8_t>(bytes);
      o[j * C + 1] = static_cast<uint8_t>(bytes >> 8);
      o[j * C + 2] = static_cast<uint8_t>(bytes >> 16);
      continue;
    }
#else
    (void)img_end;
#endif
    int32_t s0 = half, s1 = half, s2 = half;
    for (int t = 0; t < taps; ++t, p += C) {
      s0 += p[0] * k[t];
      s1 += p[1] * k[t];
      s2 += p[2] * k[t];
    }
    o[j * C + 0] = clip8(s0);
    o[j * C + 1] = clip8(s1);
    o[j * C + 2] = clip8(s2);
  }
}

}  // namespace

Image resample(const Image& img, const CropBox& in_box, int64_t out_h, int64_t out_w, const CropBox& win,
               Interpolation interp) {
  MM_INTERNAL_ASSERT(in_box.top >= 0 && in_box.left >= 0 && in_box.height > 0 && in_box.width > 0 &&
                     in_box.top + in_box.height <= img.height && in_box.left + in_box.width <= img.width);
  MM_INTERNAL_ASSERT(win.top >= 0 && win.left >= 0 && win.height > 0 && win.width > 0 &&
                     win.top + win.height <= out_h && win.left + win.width <= out_w);
  const bool need_h = out_w != in_box.width;
  const bool need_v = out_h != in_box.height;
  constexpr int C = 3;
  Image out(win.width, win.height);

  // Vertical taps first (as PIL): they say which input rows the horizontal pass must produce.
  Coeffs cv;
  int64_t row_first = in_box.top + win.top, row_last = row_first + win.height;  // input rows needed
  if (need_v) {
    cv = precompute(in_box.top, in_box.height, out_h, win.top, win.height, interp);
    row_first = cv.start[0];
    row_last = cv.start[win.height - 1] + cv.taps[win.height - 1];
  }

  // Horizontal pass → `mid` (rows row_first..row_last, win.width columns); without one, `mid`
  // is a view of the input's columns.
  std::vector<uint8_t> mid_buf;
  const uint8_t* mid = nullptr;  // the row of `mid` holding input row `row_first`
  int64_t mid_stride = 0;
  if (need_h) {
    const Coeffs ch = precompute(in_box.left, in_box.width, out_w, win.left, win.width, interp);
    const int64_t rows = row_last - row_first;
    mid_stride = win.width * C;
    mid_buf.resize(rows * mid_stride);
    const uint8_t* const img_end = img.pixels.data() + img.pixels.size();
    for (int64_t r = 0; r < rows; ++r)
      horizontal_row(img.row(row_first + r), img_end, ch, win.width, mid_buf.data() + r * mid_stride);
    mid = mid_buf.data();
  } else {
    mid_stride = img.row_bytes();
    mid = img.row(row_first) + (in_box.left + win.left) * C;
  }

  const int64_t n = win.width * C;
  if (!need_v) {
    for (int64_t r = 0; r < win.height; ++r) {
      const uint8_t* src = mid + r * mid_stride;
      std::copy(src, src + n, out.row(r));
    }
    return out;
  }
  // Vertical pass, taps outermost: each tap adds a whole row to an int32 accumulator row, a loop
  // the compiler vectorises.
  std::vector<int32_t> acc(n);
  for (int64_t r = 0; r < win.height; ++r) {
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    const int32_t* k = &cv.k[r * cv.ksize];
    for (int t = 0; t < cv.taps[r]; ++t) {
      const uint8_t* src = mid + (cv.start[r] + t - row_first) * mid_stride;
      const int32_t kt = k[t];
      int32_t* a = acc.data();
      for (int64_t i = 0; i < n; ++i) a[i] += src[i] * kt;
    }
    uint8_t* o = out.row(r);
    for (int64_t i = 0; i < n; ++i) o[i] = clip8(acc[i]);
  }
  return out;
}

}  // namespace mm::data::detail
