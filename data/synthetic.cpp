#include "data/synthetic.h"

#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/sample_rng.h"
#include "runtime/error.h"

namespace mm::data {

namespace {

constexpr std::array<std::array<int, 3>, kColours.size()> kRgb = {{
    {215, 45, 45}, {45, 170, 70}, {50, 90, 215}, {225, 205, 50}, {140, 70, 185}, {235, 135, 35}, {240, 240, 240}}};
constexpr double kSmall = 0.10, kLarge = 0.16;  // object radius, in units of the image side
constexpr double kClear = 0.08;                 // min | |dx| − |dy| |: a relation that is plainly one or the other
constexpr int kMaxPlacements = 1000;

double radius(const SyntheticObject& o) { return o.large ? kLarge : kSmall; }

// The relation of a to b (a's position relative to b's), in image coordinates (y down).
const char* relation(const SyntheticObject& a, const SyntheticObject& b) {
  const double dx = a.cx - b.cx, dy = a.cy - b.cy;
  if (std::fabs(dx) >= std::fabs(dy)) return dx < 0 ? "left of" : "right of";
  return dy < 0 ? "above" : "below";
}

bool clear_relation(const SyntheticObject& a, const SyntheticObject& b) {
  return std::fabs(std::fabs(a.cx - b.cx) - std::fabs(a.cy - b.cy)) >= kClear;
}

// Positions for objects whose shape/colour/size are set: no overlaps, relations unambiguous.
bool place(std::vector<SyntheticObject>& objs, SampleRng& rng) {
  for (int attempt = 0; attempt < kMaxPlacements; ++attempt) {
    bool ok = true;
    for (size_t k = 0; k < objs.size() && ok; ++k) {
      const double r = radius(objs[k]) + 0.03;
      objs[k].cx = rng.uniform(r, 1 - r);
      objs[k].cy = rng.uniform(r, 1 - r);
      for (size_t j = 0; j < k && ok; ++j)
        ok = std::hypot(objs[k].cx - objs[j].cx, objs[k].cy - objs[j].cy) >= radius(objs[k]) + radius(objs[j]) + 0.02;
    }
    if (!ok) continue;
    std::sort(objs.begin(), objs.end(), [](const auto& a, const auto& b) { return a.cx < b.cx; });
    if (!clear_relation(objs[0], objs[1]) || (objs.size() == 3 && !clear_relation(objs[2], objs[1]))) continue;
    return true;
  }
  return false;
}

// Inside test for a shape of radius r centred at the origin (y down).
bool inside(int shape, double x, double y, double r) {
  switch (shape) {
    case 0: return x * x + y * y <= r * r;                                   // circle
    case 1: return std::max(std::fabs(x), std::fabs(y)) <= 0.85 * r;        // square
    case 2: {                                                                // triangle, apex up
      const double top = -r, bottom = 0.6 * r;
      if (y < top || y > bottom) return false;
      return std::fabs(x) <= (y - top) / (bottom - top) * 0.95 * r;
    }
    case 3: {  // five-pointed star: a ray from the centre crosses the boundary once, so compare radii
      const double kPi = 3.14159265358979323846;
      const double a = std::atan2(x, -y);  // 0 at the top point
      const double sector = 2 * kPi / 5, t = std::fmod(std::fabs(a) + sector / 2, sector) - sector / 2;
      const double inner = 0.42 * r;
      // boundary between the point (angle 0, radius r) and the notch (angle ±sector/2, radius inner)
      const double px = 0, py = r, qx = inner * std::sin(sector / 2), qy = inner * std::cos(sector / 2);
      const double ux = std::sin(std::fabs(t)), uy = std::cos(std::fabs(t));
      // intersection of the ray u with segment p→q: solve s·u = p + k(q − p)
      const double dx = qx - px, dy = qy - py, den = ux * dy - uy * dx;
      const double s = (px * dy - py * dx) / den;
      return std::hypot(x, y) <= s;
    }
    case 4: {  // cross
      const double w = 0.3 * r, ax = std::fabs(x), ay = std::fabs(y);
      return (ax <= w && ay <= r) || (ay <= w && ax <= r);
    }
    default: return std::fabs(x) + std::fabs(y) <= r;  // diamond
  }
}

void write_atomically(const std::filesystem::path& path, const std::string& bytes) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    MM_CHECK(f.good(), Runtime, "data synth", "cannot write ", tmp.string());
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    MM_CHECK(f.good(), Runtime, "data synth", "error writing ", tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

const char* split_name(Split s) { return s == Split::Train ? "train" : s == Split::Val ? "val" : "test"; }

std::string describe(const SyntheticObject& o) {
  return std::string("a ") + (o.large ? "large " : "small ") + kColours[o.colour] + " " + kShapes[o.shape];
}

std::string caption_of(const std::vector<SyntheticObject>& o) {
  std::string c = describe(o[0]) + " " + relation(o[0], o[1]) + " " + describe(o[1]);
  if (o.size() == 3) c += ", and " + describe(o[2]) + " " + relation(o[2], o[1]) + " the " + kShapes[o[1].shape];
  return c;
}

SyntheticSet::SyntheticSet(SyntheticOptions options) : options_(options) {
  MM_CHECK(options_.num_train >= 0 && options_.num_val >= 0 && options_.num_test >= 0, Value, "synthetic set",
           "split sizes must be >= 0");
  MM_CHECK(options_.image_size >= 16 && options_.image_size <= 4096, Value, "synthetic set",
           "image_size must be in [16, 4096], got ", options_.image_size);
  // One held-out colour per shape, all different: a seeded permutation of the colours.
  std::array<int, kColours.size()> perm{};
  for (size_t c = 0; c < perm.size(); ++c) perm[c] = static_cast<int>(c);
  SampleRng prng(options_.seed, 0xC010u, 0);
  for (size_t c = perm.size() - 1; c > 0; --c) std::swap(perm[c], perm[prng.below(static_cast<int64_t>(c) + 1)]);
  for (size_t s = 0; s < kShapes.size(); ++s) held_out_colour_[s] = perm[s];

  std::set<std::string> test_captions;
  for (Split split : {Split::Train, Split::Val, Split::Test}) {
    const int64_t n = split == Split::Train ? options_.num_train : split == Split::Val ? options_.num_val : options_.num_test;
    auto& out = split == Split::Train ? train_ : split == Split::Val ? val_ : test_;
    out.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      // Sample i draws from its own stream; a test caption that repeats an earlier one is redrawn
      // from the same stream (so the set stays a deterministic function of the seed).
      SampleRng rng(options_.seed, 1 + static_cast<uint64_t>(split), static_cast<uint64_t>(i));
      for (int attempt = 0;; ++attempt) {
        MM_CHECK(attempt < 10000, Value, "synthetic set", "cannot draw ", n, " unique test captions; use fewer");
        std::vector<SyntheticObject> objs(2 + rng.below(2));
        std::vector<int> shapes(kShapes.size());
        for (size_t s = 0; s < shapes.size(); ++s) shapes[s] = static_cast<int>(s);
        for (size_t k = 0; k < objs.size(); ++k) {  // distinct shapes, so "the star" names one object
          std::swap(shapes[k], shapes[k + static_cast<size_t>(rng.below(static_cast<int64_t>(shapes.size() - k)))]);
          objs[k].shape = shapes[k];
          objs[k].large = rng.bernoulli(0.5);
          do objs[k].colour = static_cast<int>(rng.below(kColours.size()));
          while (split != Split::Test && held_out(objs[k].shape, objs[k].colour));
        }
        if (split == Split::Test) {  // at least one held-out combination
          SyntheticObject& o = objs[static_cast<size_t>(rng.below(static_cast<int64_t>(objs.size())))];
          o.colour = held_out_colour_[o.shape];
        }
        if (!place(objs, rng)) continue;
        SyntheticSample s{objs, caption_of(objs)};
        if (split == Split::Test && !test_captions.insert(s.caption).second) continue;
        out.push_back(std::move(s));
        break;
      }
    }
  }
}

const std::vector<SyntheticSample>& SyntheticSet::samples(Split s) const {
  return s == Split::Train ? train_ : s == Split::Val ? val_ : test_;
}

std::vector<uint8_t> SyntheticSet::render(Split split, int64_t i) const {
  const auto& list = samples(split);
  MM_CHECK(i >= 0 && i < static_cast<int64_t>(list.size()), Index, "synthetic set", "sample ", i, " of ",
           split_name(split), " is out of range (", list.size(), " samples)");
  const int64_t n = options_.image_size;
  SampleRng rng(options_.seed ^ 0x1A9E5EEDull, 1 + static_cast<uint64_t>(split), static_cast<uint64_t>(i));
  std::vector<uint8_t> img(static_cast<size_t>(n * n * 3));
  const int grey = 95 + static_cast<int>(rng.below(50));
  for (auto& p : img) p = static_cast<uint8_t>(std::clamp(grey + static_cast<int>(rng.below(21)) - 10, 0, 255));
  constexpr int kSub = 4;  // 4×4 supersampling: anti-aliased edges
  for (const SyntheticObject& o : list[static_cast<size_t>(i)].objects) {
    std::array<int, 3> rgb = kRgb[static_cast<size_t>(o.colour)];
    for (int& c : rgb) c = std::clamp(c + static_cast<int>(rng.below(25)) - 12, 0, 255);
    const double r = radius(o) * static_cast<double>(n), cx = o.cx * static_cast<double>(n), cy = o.cy * static_cast<double>(n);
    const int64_t y0 = std::max<int64_t>(0, static_cast<int64_t>(cy - r - 1)), y1 = std::min<int64_t>(n, static_cast<int64_t>(cy + r + 2));
    const int64_t x0 = std::max<int64_t>(0, static_cast<int64_t>(cx - r - 1)), x1 = std::min<int64_t>(n, static_cast<int64_t>(cx + r + 2));
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = x0; x < x1; ++x) {
        int hits = 0;
        for (int sy = 0; sy < kSub; ++sy)
          for (int sx = 0; sx < kSub; ++sx)
            hits += inside(o.shape, static_cast<double>(x) + (sx + 0.5) / kSub - cx,
                           static_cast<double>(y) + (sy + 0.5) / kSub - cy, r);
        if (hits == 0) continue;
        const double a = hits / double(kSub * kSub);
        uint8_t* px = &img[static_cast<size_t>((y * n + x) * 3)];
        for (int c = 0; c < 3; ++c) px[c] = static_cast<uint8_t>(std::lround(a * rgb[c] + (1 - a) * px[c]));
      }
  }
  return img;
}

void write_synthetic(const SyntheticSet& set, const std::string& dir) {
  namespace fs = std::filesystem;
  const int n = static_cast<int>(set.options().image_size);
  for (Split split : {Split::Train, Split::Val, Split::Test}) {
    const fs::path root = fs::path(dir) / split_name(split), images = root / "images";
    std::error_code ec;
    fs::create_directories(images, ec);
    MM_CHECK(!ec, Runtime, "data synth", "cannot create ", images.string(), ": ", ec.message());
    std::string csv = "filename,caption\n";
    const auto& samples = set.samples(split);
    for (size_t i = 0; i < samples.size(); ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "%06zu.png", i);
      std::vector<uint8_t> rgb = set.render(split, static_cast<int64_t>(i));
      std::string png;
      auto sink = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append(static_cast<char*>(data), size); };
      MM_CHECK(stbi_write_png_to_func(sink, &png, n, n, 3, rgb.data(), n * 3) != 0, Runtime, "data synth",
               "PNG encoding failed for ", name);
      write_atomically(images / name, png);
      csv += std::string(name) + "," + csv_field(samples[i].caption) + "\n";
    }
    write_atomically(root / "captions.csv", csv);
  }
}

}  // namespace mm::data
