// PIL's resampling core (Pillow 9.4, libImaging/Resample.c), re-implemented for interleaved RGB:
// the building block of resize, resized_crop and the eval pipeline's resize + center crop.
#pragma once

#include <cstdint>

#include "data/image/image.h"
#include "data/image/transforms.h"

namespace mm::data::detail {

// Resizes the region `in_box` of `img` (taps clamped to the region, as if it had been cropped
// first) to out_h × out_w, but computes only the output window `out_window` (rows/columns of the
// out_h × out_w result). Every output pixel depends only on its own filter taps, so a window is
// exactly the corresponding part of the full result: resize + crop without resizing what the crop
// throws away. The window must lie inside the output, the box inside the image.
Image resample(const Image& img, const CropBox& in_box, int64_t out_h, int64_t out_w, const CropBox& out_window,
               Interpolation interp);

}  // namespace mm::data::detail
