// TransformPipeline: decoded image → normalised f32 [3, size, size] tensor, for the loader.
//
//   train: RandomResizedCrop(size, scale, ratio) → RandomHorizontalFlip(flip_p) → [ColorJitter]
//          → ToTensor + Normalize → [RandomErasing]          (torchvision's usual training order)
//   eval:  Resize(eval_resize, shorter side) → CenterCrop(size) → ToTensor + Normalize
//
// eval_resize defaults to `size` (CLIP's preprocessing, Resize(224) + CenterCrop(224): the whole
// shorter side is kept, which matters for captions that mention things near the border); set it
// to size·256/224 for torchvision's ImageNet recipe (Resize(256) + CenterCrop(224)).
//
// Every random choice is drawn from the SampleRng passed to apply(), in the order listed above, so a
// sample's augmentation depends only on (seed, epoch, index). apply() is const and thread-safe.
// Work is fused where the result is provably the same: the random crop is resampled straight from
// the decoded image (no crop copy), the flip happens while writing the tensor, and the eval resize
// computes only the pixels the center crop keeps.
#pragma once

#include <array>
#include <cstdint>

#include "data/image/transforms.h"

namespace mm::data {

struct TransformOptions {
  int64_t size = 224;  // output height = width
  Interpolation interpolation = Interpolation::Bilinear;
  // train
  RandomResizedCropParams crop;
  double flip_p = 0.5;
  ColorJitter jitter;        // all zero: off
  RandomErasing erasing{0.0};  // p = 0: off
  // eval
  int64_t eval_resize = 0;  // shorter side before the center crop; 0 means `size`
  std::array<float, 3> mean = kImageNetMean;
  std::array<float, 3> std = kImageNetStd;
};

class TransformPipeline {
 public:
  TransformPipeline(TransformOptions options, bool train);
  const TransformOptions& options() const { return options_; }
  bool train() const { return train_; }
  Tensor apply(const Image& img, SampleRng& rng) const;

 private:
  TransformOptions options_;
  bool train_;
};

}  // namespace mm::data
