// The retrieval gallery (train/eval/gallery.h): top-5 order and scores on hand-built embeddings whose
// cosines are known in closed form, tie order, query choice, and thumbnails that decode back.
#include <gtest/gtest.h>
#include <stb_image.h>  // implementation compiled into Debian's libstb

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>

#include "tests/common/expect_error.h"
#include "train/eval/gallery.h"

namespace mm {
namespace {

using train::GalleryOptions;

// Unit vectors at the given angles (degrees) in the plane, scaled by `length` (cosine must not care).
Tensor at_angles(const std::vector<double>& degrees, const std::vector<double>& length = {}) {
  std::vector<float> v;
  for (size_t i = 0; i < degrees.size(); ++i) {
    const double r = degrees[i] * std::numbers::pi / 180, l = length.empty() ? 1.0 : length[i];
    v.push_back(static_cast<float>(l * std::cos(r)));
    v.push_back(static_cast<float>(l * std::sin(r)));
  }
  return Tensor::from_vector<float>(v, {static_cast<int64_t>(degrees.size()), 2});
}

// A w×h image whose pixel (x, y) is (x, y, x + y) mod 256: every pixel differs from its neighbours.
data::Image pattern(int64_t w, int64_t h) {
  data::Image img(w, h);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      uint8_t* p = img.at(x, y);
      p[0] = static_cast<uint8_t>(x), p[1] = static_cast<uint8_t>(y), p[2] = static_cast<uint8_t>(x + y);
    }
  return img;
}

struct Decoded {
  int w = 0, h = 0, comp = 0;
  std::vector<uint8_t> pixels;
};
Decoded decode_uri(const std::string& uri) {
  const std::string prefix = "data:image/png;base64,";
  EXPECT_EQ(uri.rfind(prefix, 0), 0u);
  const std::string png = train::base64_decode(uri.substr(prefix.size()));
  Decoded d;
  unsigned char* p = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()),
                                           static_cast<int>(png.size()), &d.w, &d.h, &d.comp, 3);
  EXPECT_NE(p, nullptr) << stbi_failure_reason();
  if (p) {
    d.pixels.assign(p, p + d.w * d.h * 3);
    stbi_image_free(p);
  }
  return d;
}

TEST(Gallery, TopFiveByCosineWithTrueRank) {
  // Images at 0, 30, 60, 90, 120, 180 degrees (various lengths); caption 0 at 50 degrees describes
  // image 0, caption 1 at 180 degrees describes image 5. Cosines: cos(image angle − caption angle).
  const Tensor images = at_angles({0, 30, 60, 90, 120, 180}, {1, 2, 0.5, 3, 1, 0.25});
  const Tensor texts = at_angles({50, 180}, {4, 1});
  std::vector<int64_t> calls;
  GalleryOptions o;
  o.num_queries = 2;
  const nlohmann::json g = train::make_gallery(images, texts, {0, 5}, {"fifty degrees", "one eighty"},
                                               [&](int64_t i) { calls.push_back(i); return pattern(8 + i, 6); }, o);
  ASSERT_EQ(g["queries"].size(), 2u);
  const auto check = [&](const nlohmann::json& q, std::vector<int64_t> order, std::vector<double> angle) {
    ASSERT_EQ(q["top"].size(), 5u);
    for (size_t r = 0; r < 5; ++r) {
      EXPECT_EQ(q["top"][r]["image"].get<int64_t>(), order[r]) << "rank " << r + 1;
      EXPECT_NEAR(q["top"][r]["score"].get<double>(), std::cos(angle[r] * std::numbers::pi / 180), 1e-6);
    }
  };
  const nlohmann::json& q0 = g["queries"][0];
  EXPECT_EQ(q0["caption"], "fifty degrees");
  EXPECT_EQ(q0["true_image"], 0);
  EXPECT_EQ(q0["true_rank"], 4);  // 60°, 30°, 90° are nearer to 50° than 0°
  check(q0, {2, 1, 3, 0, 4}, {10, 20, 40, 50, 70});
  const nlohmann::json& q1 = g["queries"][1];
  EXPECT_EQ(q1["true_rank"], 1);
  check(q1, {5, 4, 3, 2, 1}, {0, 60, 90, 120, 150});
  // Thumbnails: images 0..5 are all shown (query 0's top five plus query 1's image 5), each encoded once.
  EXPECT_EQ(std::set<int64_t>(calls.begin(), calls.end()), (std::set<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(calls.size(), 6u);
  EXPECT_EQ(g["thumbnails"].size(), 6u);
  // A true image outside the top five still gets its thumbnail (the report shows it beside them).
  const nlohmann::json g2 = train::make_gallery(images, texts, {5, 5}, {"a", "b"},
                                                [&](int64_t i) { return pattern(8 + i, 6); }, o);
  EXPECT_EQ(g2["queries"][0]["true_rank"], 6);
  EXPECT_TRUE(g2["thumbnails"].contains("5"));
}

TEST(Gallery, TiesGoToTheLowerIndexAndTopKIsClamped) {
  const Tensor images = at_angles({10, 0, 10, 0});  // two pairs of identical images
  const Tensor texts = at_angles({0});
  GalleryOptions o;
  o.num_queries = 5;  // more than there are captions: every caption once
  const nlohmann::json g = train::make_gallery(images, texts, {3}, {"x"}, [](int64_t) { return pattern(4, 4); }, o);
  ASSERT_EQ(g["queries"].size(), 1u);
  std::vector<int64_t> order;
  for (const auto& t : g["queries"][0]["top"]) order.push_back(t["image"].get<int64_t>());
  EXPECT_EQ(order, (std::vector<int64_t>{1, 3, 0, 2}));
  EXPECT_EQ(g["queries"][0]["true_rank"], 2);  // image 3 ties with image 1, which has the lower index
}

TEST(Gallery, QueriesAreDistinctSortedAndDeterministic) {
  std::vector<double> deg;
  std::vector<int64_t> t2i;
  std::vector<std::string> caps;
  for (int i = 0; i < 40; ++i) deg.push_back(i * 9.0), t2i.push_back(i / 4), caps.push_back(std::string("c").append(std::to_string(i)));
  const Tensor images = at_angles({0, 36, 72, 108, 144, 180, 216, 252, 288, 324});
  const Tensor texts = at_angles(deg);
  GalleryOptions o;
  o.num_queries = 6;
  o.seed = 7;
  const auto thumb = [](int64_t) { return pattern(4, 4); };
  const auto indices = [&](uint64_t seed) {
    o.seed = seed;
    std::vector<int64_t> idx;
    const nlohmann::json g = train::make_gallery(images, texts, t2i, caps, thumb, o);
    for (const auto& q : g["queries"]) idx.push_back(q["text_index"].get<int64_t>());
    return idx;
  };
  const std::vector<int64_t> a = indices(7);
  ASSERT_EQ(a.size(), 6u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 6u);
  EXPECT_EQ(indices(7), a);
  bool another = false;  // some other seed picks other captions (C(40, 6) choices)
  for (uint64_t s = 8; s < 12; ++s) another = another || indices(s) != a;
  EXPECT_TRUE(another);
}

TEST(Gallery, ThumbnailsDecodeToTheRightSize) {
  // Larger than 96 px: scaled so the longer side is 96, aspect kept.
  const Decoded big = decode_uri(train::png_data_uri(train::png_thumbnail(pattern(200, 100), 96)));
  EXPECT_EQ(big.w, 96);
  EXPECT_EQ(big.h, 48);
  EXPECT_EQ(big.comp, 3);
  const Decoded tall = decode_uri(train::png_data_uri(train::png_thumbnail(pattern(30, 250), 96)));
  EXPECT_EQ(tall.w, 12);  // 30 · 96/250 = 11.52
  EXPECT_EQ(tall.h, 96);
  // Small images are kept as they are, and PNG is lossless: the same pixels come back.
  const data::Image small = pattern(64, 40);
  const Decoded s = decode_uri(train::png_data_uri(train::png_thumbnail(small, 96)));
  ASSERT_EQ(s.w, 64);
  ASSERT_EQ(s.h, 40);
  EXPECT_EQ(s.pixels, small.pixels);
  EXPECT_ERROR_CONTAINS(train::png_thumbnail(data::Image(), 96), ErrorKind::Value, "empty");
}

TEST(Gallery, Base64) {
  EXPECT_EQ(train::base64_encode(""), "");
  EXPECT_EQ(train::base64_encode("M"), "TQ==");
  EXPECT_EQ(train::base64_encode("Ma"), "TWE=");
  EXPECT_EQ(train::base64_encode("Man"), "TWFu");
  EXPECT_EQ(train::base64_encode(std::string("\xff\xfe\x00\x01", 4)), "//4AAQ==");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); n += 37) EXPECT_EQ(train::base64_decode(train::base64_encode(all.substr(0, n))), all.substr(0, n));
  EXPECT_ERROR_CONTAINS(train::base64_decode("TQ="), ErrorKind::Value, "multiple of 4");
  EXPECT_ERROR_CONTAINS(train::base64_decode("T!=="), ErrorKind::Value, "invalid character");
  EXPECT_ERROR_CONTAINS(train::base64_decode("T=Q="), ErrorKind::Value, "invalid character");
  EXPECT_ERROR_CONTAINS(train::base64_decode("TQ==TWFu"), ErrorKind::Value, "invalid character");
}

TEST(Gallery, BadInputs) {
  const Tensor images = at_angles({0, 90}), texts = at_angles({0});
  const auto thumb = [](int64_t) { return pattern(4, 4); };
  EXPECT_ERROR_CONTAINS(train::make_gallery(images, texts, {2}, {"x"}, thumb), ErrorKind::Index, "text_to_image[0] = 2");
  EXPECT_ERROR_CONTAINS(train::make_gallery(images, texts, {0, 1}, {"x"}, thumb), ErrorKind::Shape, "text_to_image 2");
  EXPECT_ERROR_CONTAINS(train::make_gallery(images, Tensor::from_vector<float>({1, 0, 0}, {1, 3}), {0}, {"x"}, thumb),
                        ErrorKind::Shape, "columns");
  const Tensor nan = Tensor::from_vector<float>({std::nanf(""), 0}, {1, 2});
  EXPECT_ERROR_CONTAINS(train::make_gallery(images, nan, {0}, {"x"}, thumb), ErrorKind::Value, "text_embeds row 0");
}

}  // namespace
}  // namespace mm
