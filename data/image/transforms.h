// The image transforms of SPEC §6, each matching torchvision 0.14 on PIL images (Pillow 9.4), the
// reference tools/golden/images.py checks against:
//   resize          PIL Image.resize(size, BILINEAR | BICUBIC): separable convolution, support
//                   scaled by the downscale factor (antialiasing), fixed-point coefficients (22
//                   fractional bits), horizontal pass first, both passes rounded and clamped to uint8
//                   — PIL's own algorithm (libImaging/Resample.c), so results are identical, not close;
//   resize_shorter  torchvision Resize(int): the shorter side to `size`, the longer int(size·long/short);
//   center_crop     torchvision CenterCrop: offsets int(round((H − h)/2)) (round half to even), zero
//                   padding where the crop is larger than the image;
//   random resized crop, horizontal flip, color jitter, random erasing: torchvision's algorithms with
//                   every random number drawn from SampleRng (Philox keyed by seed, epoch, sample
//                   index) instead of torch's global generator: same distributions, reproducible per
//                   sample whatever the worker;
//   to_tensor_normalize  ToTensor + Normalize: f32 CHW, (v/255 − mean)/std in float32 as torch computes it.
#pragma once

#include <array>
#include <cstdint>

#include "data/image/image.h"
#include "data/sample_rng.h"
#include "runtime/tensor.h"

namespace mm::data {

enum class Interpolation { Bilinear, Bicubic };

// A rectangle of an image in pixels: rows [top, top + height), columns [left, left + width).
struct CropBox {
  int64_t top = 0, left = 0, height = 0, width = 0;
};

// ---- geometry ----------------------------------------------------------------------------------

// PIL img.crop(box).resize((out_w, out_h), interp), without copying the crop: the filter taps are
// clamped to the box, exactly as if it had been cut out first. The box must lie inside the image.
Image resized_crop(const Image& img, const CropBox& box, int64_t out_h, int64_t out_w, Interpolation interp);
// PIL img.resize((out_w, out_h), interp).
Image resize(const Image& img, int64_t out_h, int64_t out_w, Interpolation interp);
// torchvision Resize(size) (an int): the shorter side becomes `size`, the aspect ratio is kept.
Image resize_shorter(const Image& img, int64_t size, Interpolation interp);
// The (height, width) resize_shorter produces.
std::array<int64_t, 2> shorter_side_size(int64_t height, int64_t width, int64_t size);

// A copy of `box`; parts outside the image are zero (PIL's crop).
Image crop(const Image& img, const CropBox& box);
// torchvision CenterCrop((h, w)).
Image center_crop(const Image& img, int64_t h, int64_t w);
void hflip_inplace(Image& img);

struct RandomResizedCropParams {
  double scale_min = 0.08, scale_max = 1.0;        // fraction of the image area
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;  // width / height
};
// torchvision RandomResizedCrop.get_params: 10 tries of (area, log-uniform ratio), then the
// largest central crop whose ratio is clamped into the range.
CropBox random_resized_crop_box(int64_t height, int64_t width, const RandomResizedCropParams& p, SampleRng& rng);

// ---- colour (PIL ImageEnhance / torchvision F_pil.adjust_*) ------------------------------------

void adjust_brightness(Image& img, double factor);
void adjust_contrast(Image& img, double factor);
void adjust_saturation(Image& img, double factor);
void adjust_hue(Image& img, double hue_factor);  // hue_factor in [-0.5, 0.5]

// torchvision ColorJitter(brightness, contrast, saturation, hue): factors drawn uniformly from
// [max(0, 1 − b), 1 + b] (likewise c, s) and [−h, h]; a 0 disables that adjustment; the four are
// applied in a random order (a random permutation, as torchvision's randperm(4)).
struct ColorJitter {
  double brightness = 0, contrast = 0, saturation = 0, hue = 0;
  bool enabled() const { return brightness > 0 || contrast > 0 || saturation > 0 || hue > 0; }
  void apply(Image& img, SampleRng& rng) const;
};

// ---- tensor ------------------------------------------------------------------------------------

inline constexpr std::array<float, 3> kImageNetMean = {0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> kImageNetStd = {0.229f, 0.224f, 0.225f};

// ToTensor + Normalize: f32 [3, H, W], ((v / 255) − mean[c]) / std[c]. `flip` mirrors the image
// horizontally on the way (the same values as hflip_inplace first, one pass fewer).
Tensor to_tensor_normalize(const Image& img, const std::array<float, 3>& mean = kImageNetMean,
                           const std::array<float, 3>& std = kImageNetStd, bool flip = false);

// torchvision RandomErasing(p, scale, ratio, value = 0) on a [C, H, W] f32 tensor, in place.
struct RandomErasing {
  double p = 0.5;
  double scale_min = 0.02, scale_max = 0.33;
  double ratio_min = 0.3, ratio_max = 3.3;  // height / width, as torchvision draws it
  float value = 0.0f;
  void apply(Tensor& chw, SampleRng& rng) const;
};

}  // namespace mm::data
