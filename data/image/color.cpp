// Colour adjustments as torchvision's F_pil does them, i.e. through Pillow 9.4:
//   brightness  ImageEnhance.Brightness: blend(black, img, f)
//   contrast    ImageEnhance.Contrast:   blend(mean grey, img, f), mean = int(mean of the L image + 0.5)
//   saturation  ImageEnhance.Color:      blend(img.convert("L") as RGB, img, f)
//   hue         img.convert("HSV"), H += uint8(hue·255) modulo 256, back to RGB
// with Pillow's integer/float arithmetic (ImagingBlend computes in float and truncates; the L
// conversion is 16-bit fixed point; HSV follows Convert.c), so the results match PIL exactly.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "data/image/transforms.h"
#include "runtime/error.h"

// Pillow is built for baseline x86-64 and rounds every float/double product before adding; with
// -march=native GCC would fuse a + b·c into one FMA (C++ defaults to -ffp-contract=fast), which
// changes results by a level now and then. Keep the products rounded, as Pillow's are.
#pragma GCC optimize("fp-contract=off")

namespace mm::data {

namespace {

// Pillow's RGB → L: ITU-R 601-2 luma in 16-bit fixed point (Convert.c, L24).
inline uint8_t luma(const uint8_t* p) {
  return static_cast<uint8_t>((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
}

// Pillow's ImagingBlend for one value: in1 + alpha·(in2 − in1) in float, truncated toward zero;
// clamped to [0, 255] only when alpha lies outside [0, 1] (inside, the value cannot leave it).
inline uint8_t blend(int in1, int in2, float alpha) {
  const float t = static_cast<float>(in1) + alpha * static_cast<float>(in2 - in1);
  if (alpha >= 0.0f && alpha <= 1.0f) return static_cast<uint8_t>(t);
  if (t <= 0.0f) return 0;
  if (t >= 255.0f) return 255;
  return static_cast<uint8_t>(t);
}

void check_factor(const char* op, double f) {
  MM_CHECK(f >= 0 && std::isfinite(f), Value, op, "factor must be finite and non-negative, got ", f);
}

inline uint8_t clip8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

// Pillow's rgb2hsv_row (Convert.c, after colorsys.py): H, S, V each in 0..255.
inline void rgb_to_hsv(const uint8_t* in, uint8_t* out) {
  const uint8_t r = in[0], g = in[1], b = in[2];
  const uint8_t maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
  uint8_t uh = 0, us = 0;
  if (minc != maxc) {
    const float cr = static_cast<float>(maxc - minc);
    const float s = cr / static_cast<float>(maxc);
    const float rc = static_cast<float>(maxc - r) / cr;
    const float gc = static_cast<float>(maxc - g) / cr;
    const float bc = static_cast<float>(maxc - b) / cr;
    float h;
    if (r == maxc) {
      h = bc - gc;
    } else if (g == maxc) {
      h = static_cast<float>(2.0 + rc - bc);
    } else {
      h = static_cast<float>(4.0 + gc - rc);
    }
    h = static_cast<float>(std::fmod(h / 6.0 + 1.0, 1.0));
    uh = clip8(static_cast<int>(h * 255.0));
    us = clip8(static_cast<int>(s * 255.0));
  }
  out[0] = uh;
  out[1] = us;
  out[2] = maxc;
}

// Pillow's hsv2rgb (Convert.c).
inline void hsv_to_rgb(const uint8_t* in, uint8_t* out) {
  const uint8_t h = in[0], s = in[1], v = in[2];
  if (s == 0) {
    out[0] = out[1] = out[2] = v;
    return;
  }
  const int i = static_cast<int>(std::floor(static_cast<float>(h) * 6.0 / 255.0));
  const float f = static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(i));
  const float fs = static_cast<float>(static_cast<float>(s) / 255.0);
  const uint8_t up = clip8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs))));
  const uint8_t uq = clip8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs * f))));
  const uint8_t ut = clip8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs * (1.0 - f)))));
  switch (i % 6) {
    case 0: out[0] = v, out[1] = ut, out[2] = up; break;
    case 1: out[0] = uq, out[1] = v, out[2] = up; break;
    case 2: out[0] = up, out[1] = v, out[2] = ut; break;
    case 3: out[0] = up, out[1] = uq, out[2] = v; break;
    case 4: out[0] = ut, out[1] = up, out[2] = v; break;
    default: out[0] = v, out[1] = up, out[2] = uq; break;
  }
}

}  // namespace

void adjust_brightness(Image& img, double factor) {
  check_factor("adjust_brightness", factor);
  const float a = static_cast<float>(factor);
  for (uint8_t& v : img.pixels) v = blend(0, v, a);
}

void adjust_contrast(Image& img, double factor) {
  check_factor("adjust_contrast", factor);
  // ImageStat's mean of the L image (exact in double: a sum of at most 2^53 integers), rounded half up.
  uint64_t sum = 0;
  const int64_t n = img.width * img.height;
  for (int64_t i = 0; i < n; ++i) sum += luma(&img.pixels[i * 3]);
  const int mean = n > 0 ? static_cast<int>(static_cast<double>(sum) / static_cast<double>(n) + 0.5) : 0;
  const float a = static_cast<float>(factor);
  uint8_t lut[256];  // one input value → one output value: a table is exact and faster
  for (int v = 0; v < 256; ++v) lut[v] = blend(mean, v, a);
  for (uint8_t& v : img.pixels) v = lut[v];
}

void adjust_saturation(Image& img, double factor) {
  check_factor("adjust_saturation", factor);
  const float a = static_cast<float>(factor);
  const int64_t n = img.width * img.height;
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* p = &img.pixels[i * 3];
    const int l = luma(p);
    for (int c = 0; c < 3; ++c) p[c] = blend(l, p[c], a);
  }
}

void adjust_hue(Image& img, double hue_factor) {
  MM_CHECK(hue_factor >= -0.5 && hue_factor <= 0.5, Value, "adjust_hue", "hue_factor (", hue_factor,
           ") is not in [-0.5, 0.5]");
  // numpy's uint8(hue·255): truncation toward zero, then modulo 256.
  const uint8_t shift = static_cast<uint8_t>(static_cast<int>(hue_factor * 255.0) & 0xFF);
  const int64_t n = img.width * img.height;
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* p = &img.pixels[i * 3];
    uint8_t hsv[3];
    rgb_to_hsv(p, hsv);
    hsv[0] = static_cast<uint8_t>(hsv[0] + shift);
    hsv_to_rgb(hsv, p);
  }
}

void ColorJitter::apply(Image& img, SampleRng& rng) const {
  MM_CHECK(brightness >= 0 && contrast >= 0 && saturation >= 0 && hue >= 0 && hue <= 0.5, Value, "color_jitter",
           "brightness, contrast, saturation must be >= 0 and hue in [0, 0.5]");
  // torchvision's get_params: the order first (randperm(4)), then each enabled factor in the order
  // brightness, contrast, saturation, hue.
  int order[4] = {0, 1, 2, 3};
  for (int i = 3; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  auto draw = [&](double amount) { return amount > 0 ? rng.uniform(std::max(0.0, 1.0 - amount), 1.0 + amount) : 1.0; };
  const double b = draw(brightness), c = draw(contrast), s = draw(saturation);
  const double h = hue > 0 ? rng.uniform(-hue, hue) : 0.0;
  for (int op : order) {
    if (op == 0 && brightness > 0) adjust_brightness(img, b);
    if (op == 1 && contrast > 0) adjust_contrast(img, c);
    if (op == 2 && saturation > 0) adjust_saturation(img, s);
    if (op == 3 && hue > 0) adjust_hue(img, h);
  }
}

}  // namespace mm::data
