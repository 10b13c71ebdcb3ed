#include "data/image/pipeline.h"

#include <cmath>
#include <utility>

#include "data/image/resample.h"
#include "runtime/error.h"

namespace mm::data {

TransformPipeline::TransformPipeline(TransformOptions options, bool train) : options_(std::move(options)), train_(train) {
  MM_CHECK(options_.size > 0, Value, "TransformPipeline", "size must be positive, got ", options_.size);
  MM_CHECK(options_.eval_resize >= 0, Value, "TransformPipeline", "eval_resize must be >= 0, got ", options_.eval_resize);
  MM_CHECK(options_.flip_p >= 0 && options_.flip_p <= 1, Value, "TransformPipeline", "flip_p must be in [0, 1]");
}

Tensor TransformPipeline::apply(const Image& img, SampleRng& rng) const {
  const TransformOptions& o = options_;
  MM_CHECK(!img.empty(), Value, "TransformPipeline", "empty image");
  if (train_) {
    const CropBox box = random_resized_crop_box(img.height, img.width, o.crop, rng);
    Image out = resized_crop(img, box, o.size, o.size, o.interpolation);
    const bool flip = o.flip_p > 0 && rng.bernoulli(o.flip_p);
    if (o.jitter.enabled()) o.jitter.apply(out, rng);  // pointwise: commutes with the flip
    Tensor t = to_tensor_normalize(out, o.mean, o.std, flip);
    if (o.erasing.p > 0) o.erasing.apply(t, rng);
    return t;
  }
  const int64_t resize_to = o.eval_resize > 0 ? o.eval_resize : o.size;
  const auto [rh, rw] = shorter_side_size(img.height, img.width, resize_to);
  if (rh >= o.size && rw >= o.size) {
    // The center crop's window of the resized image (CenterCrop's offsets, round half to even).
    const int64_t top = static_cast<int64_t>(std::nearbyint((rh - o.size) / 2.0));
    const int64_t left = static_cast<int64_t>(std::nearbyint((rw - o.size) / 2.0));
    const Image out = detail::resample(img, CropBox{0, 0, img.height, img.width}, rh, rw,
                                       CropBox{top, left, o.size, o.size}, o.interpolation);
    return to_tensor_normalize(out, o.mean, o.std);
  }
  // The crop is larger than the resized image (zero padding): the general path.
  return to_tensor_normalize(center_crop(resize(img, rh, rw, o.interpolation), o.size, o.size), o.mean, o.std);
}

}  // namespace mm::data
