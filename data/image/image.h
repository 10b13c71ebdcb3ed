// An 8-bit RGB image in memory: the common currency of the decoder and the uint8 transforms.
//
// Pixels are interleaved and row-major (HWC: pixel (x, y) channel c at (y·width + x)·3 + c), the
// layout stb_image and PIL produce, so decoding needs no reshuffle. The transforms keep uint8 until
// the final to-tensor step, as PIL does: rounding happens at the same points, which is what lets
// them match PIL/torchvision level for level.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mm::data {

struct Image {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> pixels;  // width·height·3 bytes, RGB

  Image() = default;
  Image(int64_t w, int64_t h) : width(w), height(h), pixels(static_cast<size_t>(w * h * 3)) {}

  static constexpr int64_t kChannels = 3;
  int64_t row_bytes() const { return width * kChannels; }
  uint8_t* row(int64_t y) { return pixels.data() + y * row_bytes(); }
  const uint8_t* row(int64_t y) const { return pixels.data() + y * row_bytes(); }
  uint8_t* at(int64_t x, int64_t y) { return row(y) + x * kChannels; }
  const uint8_t* at(int64_t x, int64_t y) const { return row(y) + x * kChannels; }
  bool empty() const { return width == 0 || height == 0; }
};

}  // namespace mm::data
