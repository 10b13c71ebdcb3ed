// The synthetic set (data/synthetic.h): deterministic, captions true to the drawn geometry, the
// held-out (shape, colour) combinations absent from training and present in every test image,
// unique test captions, pixels where the objects are, and the on-disk captions.csv + PNG form.
#include <gtest/gtest.h>
#include <stb_image.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "data/synthetic.h"

namespace mm::data {
namespace {

SyntheticOptions small(uint64_t seed = 7) {
  SyntheticOptions o;
  o.seed = seed;
  o.num_train = 400;
  o.num_val = 50;
  o.num_test = 120;
  return o;
}

TEST(Synthetic, SameSeedSameSetOtherSeedOtherSet) {
  SyntheticSet a(small()), b(small()), c(small(8));
  for (Split s : {Split::Train, Split::Val, Split::Test}) {
    ASSERT_EQ(a.samples(s).size(), b.samples(s).size());
    for (size_t i = 0; i < a.samples(s).size(); ++i) EXPECT_EQ(a.samples(s)[i].caption, b.samples(s)[i].caption);
  }
  EXPECT_EQ(a.render(Split::Test, 5), b.render(Split::Test, 5));
  int same = 0;
  for (size_t i = 0; i < 50; ++i) same += a.samples(Split::Train)[i].caption == c.samples(Split::Train)[i].caption;
  EXPECT_LT(same, 5);
  EXPECT_NE(a.render(Split::Train, 0), c.render(Split::Train, 0));
}

TEST(Synthetic, SplitSizesObjectsAndVocabulary) {
  SyntheticSet set(small());
  EXPECT_EQ(set.samples(Split::Train).size(), 400u);
  EXPECT_EQ(set.samples(Split::Val).size(), 50u);
  EXPECT_EQ(set.samples(Split::Test).size(), 120u);
  int three = 0;
  for (const auto& s : set.samples(Split::Train)) {
    ASSERT_TRUE(s.objects.size() == 2 || s.objects.size() == 3);
    three += s.objects.size() == 3;
    std::set<int> shapes;
    for (const auto& o : s.objects) shapes.insert(o.shape);
    EXPECT_EQ(shapes.size(), s.objects.size()) << "shapes repeat in: " << s.caption;
  }
  EXPECT_GT(three, 100);  // about half
  EXPECT_LT(three, 300);
}

TEST(Synthetic, HeldOutCombinationsOnlyInTest) {
  SyntheticSet set(small());
  std::set<int> held_colours;
  for (int s = 0; s < static_cast<int>(kShapes.size()); ++s) {
    int n = 0;
    for (int c = 0; c < static_cast<int>(kColours.size()); ++c)
      if (set.held_out(s, c)) {
        ++n;
        held_colours.insert(c);
      }
    EXPECT_EQ(n, 1) << kShapes[s];
  }
  EXPECT_EQ(held_colours.size(), kShapes.size());  // a different colour for each shape
  for (Split split : {Split::Train, Split::Val})
    for (const auto& s : set.samples(split))
      for (const auto& o : s.objects) EXPECT_FALSE(set.held_out(o.shape, o.colour)) << s.caption;
  std::set<std::string> captions;
  for (const auto& s : set.samples(Split::Test)) {
    bool any = false;
    for (const auto& o : s.objects) any = any || set.held_out(o.shape, o.colour);
    EXPECT_TRUE(any) << s.caption;
    EXPECT_TRUE(captions.insert(s.caption).second) << "duplicate test caption: " << s.caption;
  }
}

// The caption's words, re-derived here from the centres with an independent rule.
TEST(Synthetic, CaptionsDescribeTheGeometry) {
  SyntheticSet set(small());
  auto rel = [](const SyntheticObject& a, const SyntheticObject& b) -> std::string {
    double dx = a.cx - b.cx, dy = a.cy - b.cy;
    if (std::fabs(dx) > std::fabs(dy)) return dx > 0 ? "right of" : "left of";
    return dy > 0 ? "below" : "above";
  };
  auto words = [](const SyntheticObject& o) {
    return std::string("a ") + (o.large ? "large" : "small") + " " + kColours[o.colour] + " " + kShapes[o.shape];
  };
  for (const auto& s : set.samples(Split::Train)) {
    const auto& o = s.objects;
    EXPECT_LE(o[0].cx, o[1].cx);
    std::string want = words(o[0]) + " " + rel(o[0], o[1]) + " " + words(o[1]);
    if (o.size() == 3) want += ", and " + words(o[2]) + " " + rel(o[2], o[1]) + " the " + kShapes[o[1].shape];
    EXPECT_EQ(s.caption, want);
    for (size_t k = 1; k < o.size(); ++k)  // relations are never borderline
      EXPECT_GE(std::fabs(std::fabs(o[k].cx - o[1 - (k == 1)].cx) - std::fabs(o[k].cy - o[1 - (k == 1)].cy)), 0.079);
  }
}

TEST(Synthetic, ObjectsArePaintedInTheirColour) {
  SyntheticSet set(small());
  const int64_t n = set.options().image_size;
  const int rgb[7][3] = {{215, 45, 45}, {45, 170, 70}, {50, 90, 215}, {225, 205, 50}, {140, 70, 185}, {235, 135, 35}, {240, 240, 240}};
  for (int64_t i = 0; i < 40; ++i) {
    auto img = set.render(Split::Train, i);
    ASSERT_EQ(img.size(), static_cast<size_t>(n * n * 3));
    for (const auto& o : set.samples(Split::Train)[static_cast<size_t>(i)].objects) {
      // the centre is inside every shape (the triangle's centroid included)
      int64_t x = std::lround(o.cx * n - 0.5), y = std::lround(o.cy * n - 0.5);
      const uint8_t* p = &img[static_cast<size_t>((y * n + x) * 3)];
      for (int c = 0; c < 3; ++c) EXPECT_NEAR(p[c], rgb[o.colour][c], 14) << "sample " << i << " " << kShapes[o.shape];
    }
  }
}

TEST(Synthetic, WritesCaptionsCsvAndPngs) {
  namespace fs = std::filesystem;
  SyntheticOptions o = small();
  o.num_train = 6;
  o.num_val = 2;
  o.num_test = 3;
  o.image_size = 32;
  SyntheticSet set(o);
  const fs::path dir = fs::temp_directory_path() / ("mmalign_synth_" + std::to_string(::getpid()));
  write_synthetic(set, dir.string());
  std::ifstream f(dir / "test" / "captions.csv");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string csv = ss.str();
  EXPECT_EQ(csv.rfind("filename,caption\n", 0), 0u);
  for (const auto& s : set.samples(Split::Test)) {
    const std::string field = s.caption.find(',') != std::string::npos ? "\"" + s.caption + "\"" : s.caption;
    EXPECT_NE(csv.find(field + "\n"), std::string::npos) << field;
  }
  int w = 0, h = 0, c = 0;
  unsigned char* px = stbi_load((dir / "test" / "images" / "000002.png").c_str(), &w, &h, &c, 3);
  ASSERT_NE(px, nullptr);
  EXPECT_EQ(w, 32);
  EXPECT_EQ(h, 32);
  auto want = set.render(Split::Test, 2);
  EXPECT_TRUE(std::equal(want.begin(), want.end(), px));  // PNG is lossless
  stbi_image_free(px);
  int files = 0;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();  // every temporary was renamed
    files += e.is_regular_file();
  }
  EXPECT_EQ(files, 3 + 6 + 2 + 3);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mm::data
