// The image transforms (data/image/transforms.h, pipeline.h) against torchvision 0.14 on PIL
// images (tests/golden/images/transforms.safetensors, written by tools/golden/images.py), and the
// properties of the random ones: in range, deterministic per (seed, epoch, index), varied across samples.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "data/image/pipeline.h"
#include "data/image/transforms.h"
#include "runtime/safetensors.h"

namespace mm::data {
namespace {

const std::string kFile = std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/images/transforms.safetensors";

Image to_image(const Tensor& hwc) {
  Image img(hwc.size(1), hwc.size(0));
  std::memcpy(img.pixels.data(), hwc.data<uint8_t>(), img.pixels.size());
  return img;
}

int max_diff(const Image& img, const Tensor& ref) {
  if (ref.dim() != 3 || ref.size(0) != img.height || ref.size(1) != img.width || ref.size(2) != 3) return -1;
  const uint8_t* r = ref.data<uint8_t>();
  int m = 0;
  for (size_t i = 0; i < img.pixels.size(); ++i) m = std::max(m, std::abs(int(img.pixels[i]) - int(r[i])));
  return m;
}

float max_diff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return INFINITY;
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep) out.emplace_back();
    else out.back().push_back(c);
  }
  return out;
}

std::array<int64_t, 2> hw(const std::string& s) {
  const auto p = split(s, 'x');
  return {std::stoll(p[0]), std::stoll(p[1])};
}

Interpolation interp(const std::string& s) { return s == "bicubic" ? Interpolation::Bicubic : Interpolation::Bilinear; }

// Every uint8 reference is matched exactly: the resampler is PIL's algorithm with PIL's fixed point,
// and the colour ops reproduce Pillow's arithmetic.
TEST(ImageTransform, MatchesTorchvisionOnPil) {
  const auto f = safetensors::File::open(kFile);
  const Image src = to_image(f.load("src")), src_t = to_image(f.load("src_t")), colors = to_image(f.load("colors"));
  std::map<std::string, int> count;
  for (const auto& info : f.tensors()) {
    const auto p = split(info.name, '/');
    const std::string& kind = p[0];
    if (p.size() == 1 && kind != "hflip" && kind != "normalize") continue;  // inputs
    SCOPED_TRACE(info.name);
    const Tensor ref = f.load(info.name);
    int d = -2;
    if (kind == "resize") {
      const auto [h, w] = hw(p[2]);
      d = max_diff(resize(src, h, w, interp(p[1])), ref);
    } else if (kind == "resized_crop") {
      const auto b = split(p[2], '_');
      const auto [h, w] = hw(p[3]);
      const CropBox box{std::stoll(b[0]), std::stoll(b[1]), std::stoll(b[2]), std::stoll(b[3])};
      d = max_diff(resized_crop(src, box, h, w, interp(p[1])), ref);
      // The fused path equals crop-then-resize (what torchvision does).
      EXPECT_EQ(resized_crop(src, box, h, w, interp(p[1])).pixels, resize(crop(src, box), h, w, interp(p[1])).pixels);
    } else if (kind == "shorter" || kind == "shorter_t") {
      d = max_diff(resize_shorter(kind == "shorter" ? src : src_t, std::stoll(p[2]), interp(p[1])), ref);
    } else if (kind == "center_crop") {
      const auto [h, w] = hw(p[1]);
      d = max_diff(center_crop(src, h, w), ref);
    } else if (kind == "hflip") {
      Image img = src;
      hflip_inplace(img);
      d = max_diff(img, ref);
      // The flip fused into to_tensor_normalize equals flipping first.
      EXPECT_EQ(max_diff(to_tensor_normalize(src, kImageNetMean, kImageNetStd, true), to_tensor_normalize(img)), 0.0f);
    } else if (kind == "normalize") {
      d = max_diff(to_tensor_normalize(src), ref) == 0.0f ? 0 : 1;  // bit-identical to torch's f32 ops
    } else if (kind == "eval") {
      TransformOptions o;
      o.eval_resize = std::stoll(p[1]);
      o.size = std::stoll(p[2]);
      SampleRng rng(0, 0, 0);
      d = max_diff(TransformPipeline(o, false).apply(src, rng), ref) == 0.0f ? 0 : 1;
    } else {
      Image img = colors;
      const double factor = std::stod(p[1]);
      if (kind == "brightness") adjust_brightness(img, factor);
      else if (kind == "contrast") adjust_contrast(img, factor);
      else if (kind == "saturation") adjust_saturation(img, factor);
      else if (kind == "hue") adjust_hue(img, factor);
      else FAIL() << "unknown reference " << info.name;
      d = max_diff(img, ref);
    }
    EXPECT_EQ(d, 0);
    ++count[kind];
  }
  // Every family was present (a renamed key in the script would otherwise skip silently).
  for (const char* k : {"resize", "resized_crop", "shorter", "shorter_t", "center_crop", "hflip", "normalize", "eval",
                        "brightness", "contrast", "saturation", "hue"})
    EXPECT_GT(count[k], 0) << k;
}

TEST(ImageTransform, RandomResizedCropInRangeDeterministicVaried) {
  RandomResizedCropParams p;
  std::set<std::array<int64_t, 4>> seen;
  for (int64_t i = 0; i < 500; ++i) {
    const int64_t H = 20 + i % 300, W = 30 + (i * 7) % 500;
    SampleRng a(42, 3, i), b(42, 3, i);
    const CropBox box = random_resized_crop_box(H, W, p, a);
    const CropBox again = random_resized_crop_box(H, W, p, b);
    EXPECT_EQ(std::memcmp(&box, &again, sizeof box), 0);
    ASSERT_GE(box.top, 0);
    ASSERT_GE(box.left, 0);
    ASSERT_GT(box.height, 0);
    ASSERT_GT(box.width, 0);
    ASSERT_LE(box.top + box.height, H);
    ASSERT_LE(box.left + box.width, W);
    // An accepted draw has area within the scale range and ratio within the ratio range, up to the
    // rounding of h and w to integers.
    const double area = double(box.height * box.width) / double(H * W);
    EXPECT_GE(area, 0.08 * 0.7);
    seen.insert({box.top, box.left, box.height, box.width});
  }
  EXPECT_GT(seen.size(), 490u);
  // Same index, other epoch or seed: another crop.
  SampleRng e0(42, 0, 7), e1(42, 1, 7), s1(43, 0, 7);
  const CropBox c0 = random_resized_crop_box(375, 500, p, e0), c1 = random_resized_crop_box(375, 500, p, e1),
                c2 = random_resized_crop_box(375, 500, p, s1);
  EXPECT_FALSE(c0.top == c1.top && c0.left == c1.left && c0.height == c1.height);
  EXPECT_FALSE(c0.top == c2.top && c0.left == c2.left && c0.height == c2.height);
}

TEST(ImageTransform, RandomResizedCropFallbackIsCentral) {
  // A 10 x 1000 strip: no crop with ratio in [3/4, 4/3] covers ≥ 90% of it, so all 10 tries fail
  // and torchvision's fallback takes h = 10, w = round(10 · 4/3) = 13, centred.
  RandomResizedCropParams p;
  p.scale_min = 0.9;
  SampleRng rng(1, 0, 0);
  const CropBox b = random_resized_crop_box(10, 1000, p, rng);
  EXPECT_EQ(b.height, 10);
  EXPECT_EQ(b.width, 13);
  EXPECT_EQ(b.top, 0);
  EXPECT_EQ(b.left, (1000 - 13) / 2);
  SampleRng rng2(1, 0, 0);
  const CropBox t = random_resized_crop_box(1000, 10, p, rng2);  // tall: w = 10, h = round(10 / (3/4)) = 13
  EXPECT_EQ(t.width, 10);
  EXPECT_EQ(t.height, 13);
  EXPECT_EQ(t.top, (1000 - 13) / 2);
}

Image test_image(int64_t w, int64_t h) {
  Image img(w, h);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>((i * 37 + i / 97) & 0xFF);
  return img;
}

TEST(ImageTransform, TrainPipelineDeterministicPerSampleAndEqualToItsParts) {
  const Image img = test_image(120, 90);
  TransformOptions o;
  o.size = 32;
  const TransformPipeline train(o, true);
  int flips = 0;
  for (int64_t i = 0; i < 200; ++i) {
    SampleRng a(5, 2, i), b(5, 2, i), parts(5, 2, i);
    const Tensor x = train.apply(img, a), y = train.apply(img, b);
    ASSERT_EQ(x.shape(), (Shape{3, 32, 32}));
    ASSERT_EQ(max_diff(x, y), 0.0f);
    // The same draws by hand, unfused: crop box, resize, flip, tensor.
    const CropBox box = random_resized_crop_box(img.height, img.width, o.crop, parts);
    Image r = resize(crop(img, box), 32, 32, Interpolation::Bilinear);
    const bool flip = parts.bernoulli(0.5);
    flips += flip;
    if (flip) hflip_inplace(r);
    ASSERT_EQ(max_diff(x, to_tensor_normalize(r)), 0.0f) << i;
  }
  EXPECT_GT(flips, 70);  // p = 0.5 over 200 samples
  EXPECT_LT(flips, 130);
  SampleRng i0(5, 2, 0), i1(5, 2, 1), ep(5, 3, 0);
  const Tensor t0 = train.apply(img, i0);
  EXPECT_GT(max_diff(t0, train.apply(img, i1)), 0.1f);
  EXPECT_GT(max_diff(t0, train.apply(img, ep)), 0.1f);
}

TEST(ImageTransform, ColorJitterDeterministicVariedAndOrderRandom) {
  const Image img = test_image(24, 16);
  ColorJitter j{0.4, 0.4, 0.4, 0.1};
  std::set<std::string> outs;  // pixel bytes (a set of vectors trips a GCC 12 -Wstringop-overread false positive)
  for (int64_t i = 0; i < 20; ++i) {
    Image a = img, b = img;
    SampleRng ra(9, 0, i), rb(9, 0, i);
    j.apply(a, ra);
    j.apply(b, rb);
    ASSERT_EQ(a.pixels, b.pixels);
    outs.insert(std::string(a.pixels.begin(), a.pixels.end()));
  }
  EXPECT_EQ(outs.size(), 20u);
  // Brightness alone with factor range [1, 1] is the identity; an all-zero jitter is off.
  EXPECT_FALSE(ColorJitter{}.enabled());
  Image same = img;
  SampleRng r(1, 1, 1);
  ColorJitter{}.apply(same, r);
  EXPECT_EQ(same.pixels, img.pixels);
  // Contrast 0 gives the mean grey everywhere; saturation 0 gives grey pixels.
  Image c = img;
  adjust_contrast(c, 0.0);
  for (size_t k = 1; k < c.pixels.size(); ++k) ASSERT_EQ(c.pixels[k], c.pixels[0]);
  Image s = img;
  adjust_saturation(s, 0.0);
  for (size_t k = 0; k < s.pixels.size(); k += 3) ASSERT_TRUE(s.pixels[k] == s.pixels[k + 1] && s.pixels[k] == s.pixels[k + 2]);
  EXPECT_THROW(adjust_hue(s, 0.6), Error);
}

TEST(ImageTransform, RandomErasingInRangeAndDeterministic) {
  RandomErasing e;
  e.p = 1.0;
  int erased_total = 0;
  for (int64_t i = 0; i < 50; ++i) {
    Tensor a = Tensor::empty({3, 20, 30}), b = Tensor::empty({3, 20, 30});
    std::fill_n(a.data<float>(), a.numel(), 1.0f);
    std::fill_n(b.data<float>(), b.numel(), 1.0f);
    SampleRng ra(3, 0, i), rb(3, 0, i);
    e.apply(a, ra);
    e.apply(b, rb);
    ASSERT_EQ(max_diff(a, b), 0.0f);
    // The erased set is one rectangle, the same in every channel.
    int64_t zeros = 0, y0 = 99, y1 = -1, x0 = 99, x1 = -1;
    for (int64_t y = 0; y < 20; ++y)
      for (int64_t x = 0; x < 30; ++x) {
        const float v = a.data<float>()[y * 30 + x];
        ASSERT_EQ(v, a.data<float>()[600 + y * 30 + x]);
        ASSERT_EQ(v, a.data<float>()[1200 + y * 30 + x]);
        if (v == 0.0f) ++zeros, y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, x), x1 = std::max(x1, x);
      }
    if (zeros) {
      EXPECT_EQ(zeros, (y1 - y0 + 1) * (x1 - x0 + 1));
      EXPECT_LT(y1 - y0 + 1, 20);
      EXPECT_LT(x1 - x0 + 1, 30);
      ++erased_total;
    }
  }
  EXPECT_GT(erased_total, 40);  // with p = 1 nearly every sample finds a fitting rectangle
  e.p = 0.0;
  Tensor c = Tensor::empty({3, 4, 4});
  std::fill_n(c.data<float>(), c.numel(), 1.0f);
  SampleRng r(0, 0, 0);
  e.apply(c, r);
  for (int64_t k = 0; k < c.numel(); ++k) ASSERT_EQ(c.data<float>()[k], 1.0f);
}

TEST(ImageTransform, InvalidArgumentsAreErrors) {
  const Image img = test_image(8, 6);
  EXPECT_THROW(resize(img, 0, 4, Interpolation::Bilinear), Error);
  EXPECT_THROW(resized_crop(img, CropBox{0, 0, 7, 8}, 4, 4, Interpolation::Bilinear), Error);  // box past the bottom
  EXPECT_THROW(resize(Image{}, 4, 4, Interpolation::Bilinear), Error);
  TransformOptions zero;
  zero.size = 0;
  EXPECT_THROW(TransformPipeline(zero, true), Error);
  Tensor bad = Tensor::empty({4, 4});
  std::fill_n(bad.data<float>(), bad.numel(), 0.0f);
  SampleRng r(0, 0, 0);
  EXPECT_THROW(RandomErasing{}.apply(bad, r), Error);
}

}  // namespace
}  // namespace mm::data
