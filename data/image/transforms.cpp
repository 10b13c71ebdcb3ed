// Geometry, random crops, to-tensor and random erasing (transforms.h). Colour lives in color.cpp,
// the resampling core in resample.cpp.
#include "data/image/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "data/image/resample.h"
#include "runtime/error.h"

namespace mm::data {

namespace {

// Python's round() on the values torchvision rounds: half to even (nearbyint in the default mode).
int64_t round_half_even(double v) { return static_cast<int64_t>(std::nearbyint(v)); }

void check_size(const char* op, int64_t h, int64_t w) {
  MM_CHECK(h > 0 && w > 0, Value, op, "output size must be positive, got ", h, "x", w, " (height x width)");
}

void check_image(const char* op, const Image& img) {
  MM_CHECK(!img.empty() && static_cast<int64_t>(img.pixels.size()) == img.width * img.height * 3, Value, op,
           "image is empty or its buffer does not match ", img.width, "x", img.height, "x3");
}

}  // namespace

Image resized_crop(const Image& img, const CropBox& box, int64_t out_h, int64_t out_w, Interpolation interp) {
  check_image("resized_crop", img);
  check_size("resized_crop", out_h, out_w);
  MM_CHECK(box.top >= 0 && box.left >= 0 && box.height > 0 && box.width > 0 && box.top + box.height <= img.height &&
               box.left + box.width <= img.width,
           Value, "resized_crop", "box (top ", box.top, ", left ", box.left, ", ", box.height, "x", box.width,
           ") is not inside the ", img.height, "x", img.width, " image");
  return detail::resample(img, box, out_h, out_w, CropBox{0, 0, out_h, out_w}, interp);
}

Image resize(const Image& img, int64_t out_h, int64_t out_w, Interpolation interp) {
  return resized_crop(img, CropBox{0, 0, img.height, img.width}, out_h, out_w, interp);
}

std::array<int64_t, 2> shorter_side_size(int64_t height, int64_t width, int64_t size) {
  check_size("resize_shorter", size, size);
  const int64_t s = std::min(height, width), l = std::max(height, width);
  // torchvision: int(size * long / short), a float division truncated.
  const int64_t new_long = static_cast<int64_t>(static_cast<double>(size * l) / static_cast<double>(s));
  return width <= height ? std::array<int64_t, 2>{new_long, size} : std::array<int64_t, 2>{size, new_long};
}

Image resize_shorter(const Image& img, int64_t size, Interpolation interp) {
  check_image("resize_shorter", img);
  const auto [h, w] = shorter_side_size(img.height, img.width, size);
  return resize(img, h, w, interp);
}

Image crop(const Image& img, const CropBox& box) {
  check_size("crop", box.height, box.width);
  Image out(box.width, box.height);  // zero-filled: PIL's crop pads with 0
  const int64_t x0 = std::max<int64_t>(box.left, 0), x1 = std::min(box.left + box.width, img.width);
  const int64_t y0 = std::max<int64_t>(box.top, 0), y1 = std::min(box.top + box.height, img.height);
  if (x0 >= x1 || y0 >= y1) return out;
  for (int64_t y = y0; y < y1; ++y)
    std::memcpy(out.at(x0 - box.left, y - box.top), img.at(x0, y), static_cast<size_t>((x1 - x0) * 3));
  return out;
}

Image center_crop(const Image& img, int64_t h, int64_t w) {
  check_image("center_crop", img);
  check_size("center_crop", h, w);
  // torchvision pads a too-small side by ((w − W)//2, (w − W + 1)//2), after which the crop starts at 0
  // of the padded side, i.e. at −(w − W)//2 of the image; other sides start at round((W − w)/2).
  const int64_t top = h > img.height ? -((h - img.height) / 2) : round_half_even((img.height - h) / 2.0);
  const int64_t left = w > img.width ? -((w - img.width) / 2) : round_half_even((img.width - w) / 2.0);
  return crop(img, CropBox{top, left, h, w});
}

void hflip_inplace(Image& img) {
  for (int64_t y = 0; y < img.height; ++y) {
    uint8_t* r = img.row(y);
    for (int64_t a = 0, b = img.width - 1; a < b; ++a, --b)
      for (int c = 0; c < 3; ++c) std::swap(r[a * 3 + c], r[b * 3 + c]);
  }
}

CropBox random_resized_crop_box(int64_t height, int64_t width, const RandomResizedCropParams& p, SampleRng& rng) {
  MM_CHECK(height > 0 && width > 0, Value, "random_resized_crop", "empty image (", height, "x", width, ")");
  MM_CHECK(0 < p.scale_min && p.scale_min <= p.scale_max && 0 < p.ratio_min && p.ratio_min <= p.ratio_max, Value,
           "random_resized_crop", "need 0 < scale_min <= scale_max and 0 < ratio_min <= ratio_max, got scale (",
           p.scale_min, ", ", p.scale_max, "), ratio (", p.ratio_min, ", ", p.ratio_max, ")");
  const double area = static_cast<double>(height * width);
  const double lr0 = std::log(p.ratio_min), lr1 = std::log(p.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(p.scale_min, p.scale_max);
    const double aspect = std::exp(rng.uniform(lr0, lr1));
    const int64_t w = round_half_even(std::sqrt(target_area * aspect));
    const int64_t h = round_half_even(std::sqrt(target_area / aspect));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int64_t top = rng.below(height - h + 1);
      const int64_t left = rng.below(width - w + 1);
      return CropBox{top, left, h, w};
    }
  }
  // Fallback: the whole image, its aspect ratio clamped into [ratio_min, ratio_max], centred.
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (in_ratio < p.ratio_min) {
    h = round_half_even(static_cast<double>(w) / p.ratio_min);
  } else if (in_ratio > p.ratio_max) {
    w = round_half_even(static_cast<double>(h) * p.ratio_max);
  }
  return CropBox{(height - h) / 2, (width - w) / 2, h, w};
}

Tensor to_tensor_normalize(const Image& img, const std::array<float, 3>& mean, const std::array<float, 3>& std,
                           bool flip) {
  check_image("to_tensor_normalize", img);
  for (int c = 0; c < 3; ++c)
    MM_CHECK(std[c] != 0.0f, Value, "to_tensor_normalize", "std[", c, "] is 0");
  // 256 values per channel, computed with torch's float32 operations in torch's order
  // (ToTensor: v / 255; Normalize: (x − mean) / std), so every output is bit-identical to torchvision's.
  float lut[3][256];
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) lut[c][v] = (static_cast<float>(v) / 255.0f - mean[c]) / std[c];
  const int64_t H = img.height, W = img.width, plane = H * W;
  Tensor t = Tensor::empty({3, H, W}, DType::F32);
  float* out = t.data<float>();
  for (int64_t y = 0; y < H; ++y) {
    const uint8_t* r = img.row(y);
    float* o0 = out + y * W;
    float* o1 = o0 + plane;
    float* o2 = o1 + plane;
    if (flip) {
      for (int64_t x = 0; x < W; ++x) {
        const uint8_t* p = r + (W - 1 - x) * 3;
        o0[x] = lut[0][p[0]];
        o1[x] = lut[1][p[1]];
        o2[x] = lut[2][p[2]];
      }
    } else {
      for (int64_t x = 0; x < W; ++x) {
        const uint8_t* p = r + x * 3;
        o0[x] = lut[0][p[0]];
        o1[x] = lut[1][p[1]];
        o2[x] = lut[2][p[2]];
      }
    }
  }
  return t;
}

void RandomErasing::apply(Tensor& chw, SampleRng& rng) const {
  MM_CHECK(chw.dim() == 3 && chw.dtype() == DType::F32 && chw.device() == kCPU && chw.is_contiguous(), Value,
           "random_erasing", "expects a contiguous f32 CPU tensor [C, H, W], got ", dtype_name(chw.dtype()), " ",
           shape_str(chw.shape()));
  MM_CHECK(0 < scale_min && scale_min <= scale_max && 0 < ratio_min && ratio_min <= ratio_max, Value,
           "random_erasing", "need 0 < scale_min <= scale_max and 0 < ratio_min <= ratio_max");
  if (!(rng.uniform() < p)) return;
  const int64_t C = chw.size(0), H = chw.size(1), W = chw.size(2);
  const double area = static_cast<double>(H * W);
  const double lr0 = std::log(ratio_min), lr1 = std::log(ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double erase_area = area * rng.uniform(scale_min, scale_max);
    const double aspect = std::exp(rng.uniform(lr0, lr1));
    const int64_t h = round_half_even(std::sqrt(erase_area * aspect));
    const int64_t w = round_half_even(std::sqrt(erase_area / aspect));
    if (!(h < H && w < W)) continue;
    const int64_t top = rng.below(H - h + 1);
    const int64_t left = rng.below(W - w + 1);
    float* d = chw.data<float>();
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = top; y < top + h; ++y) std::fill_n(d + (c * H + y) * W + left, w, value);
    return;
  }
  // torchvision returns the image unchanged when no attempt fits.
}

}  // namespace mm::data
