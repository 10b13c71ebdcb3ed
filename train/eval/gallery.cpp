#include "train/eval/gallery.h"

#include <stb_image_write.h>  // implementation compiled into Debian's libstb

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <set>

#include "data/image/transforms.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace mm::train {

namespace {

constexpr const char* kOp = "gallery";
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Rows of a [N, d] tensor as L2-normalised doubles (a zero row stays zero: it scores 0 with everything).
std::vector<double> unit_rows(const Tensor& t, const char* name, int64_t* rows, int64_t* cols) {
  MM_CHECK(t.dim() == 2, Shape, kOp, name, " must be [N, d], got ", shape_str(t.shape()));
  *rows = t.size(0);
  *cols = t.size(1);
  std::vector<double> v = t.to_double_vector();
  for (int64_t r = 0; r < *rows; ++r) {
    double* row = v.data() + r * *cols;
    double ss = 0;
    for (int64_t c = 0; c < *cols; ++c) {
      MM_CHECK(std::isfinite(row[c]), Value, kOp, name, " row ", r, " column ", c, " is ", row[c]);
      ss += row[c] * row[c];
    }
    const double inv = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;
    for (int64_t c = 0; c < *cols; ++c) row[c] *= inv;
  }
  return v;
}

// min(k, n) distinct indices of [0, n), a partial Fisher–Yates shuffle keyed by (seed, position).
std::vector<int64_t> choose(int64_t n, int64_t k, uint64_t seed) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  k = std::min(k, n);
  for (int64_t i = 0; i < k; ++i) {
    const uint64_t r = (uint64_t{philox_uint32(seed, static_cast<uint64_t>(2 * i))} << 32) |
                       philox_uint32(seed, static_cast<uint64_t>(2 * i + 1));
    std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(i + static_cast<int64_t>(r % static_cast<uint64_t>(n - i)))]);
  }
  idx.resize(static_cast<size_t>(k));
  std::sort(idx.begin(), idx.end());
  return idx;
}

void append_to_string(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) | static_cast<unsigned char>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (const size_t rest = bytes.size() - i; rest > 0) {
    uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string base64_decode(std::string_view text) {
  MM_CHECK(text.size() % 4 == 0, Value, "base64", "length ", text.size(), " is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      const bool last_group = i + 4 == text.size();
      if (c == '=' && last_group && j >= 2 && (j == 3 || text[i + 3] == '=')) {
        ++pad;
        v <<= 6;
        continue;
      }
      const char* p = c == '\0' ? nullptr : std::strchr(kAlphabet, c);
      MM_CHECK(p != nullptr && pad == 0, Value, "base64", "invalid character '", c, "' at offset ", i + j);
      v = (v << 6) | static_cast<uint32_t>(p - kAlphabet);
    }
    out.push_back(static_cast<char>((v >> 16) & 0xFF));
    if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xFF));
  }
  return out;
}

std::string png_thumbnail(const data::Image& image, int64_t max_side) {
  MM_CHECK(!image.empty() && image.pixels.size() == static_cast<size_t>(image.width * image.height * 3), Value,
           kOp, "thumbnail of an empty or inconsistent image (", image.width, "x", image.height, ", ",
           image.pixels.size(), " bytes)");
  MM_CHECK(max_side >= 1, Value, kOp, "thumbnail size must be >= 1, got ", max_side);
  const data::Image* src = &image;
  data::Image scaled;
  const int64_t longer = std::max(image.width, image.height);
  if (longer > max_side) {
    const double f = static_cast<double>(max_side) / static_cast<double>(longer);
    const int64_t h = std::max<int64_t>(1, std::llround(static_cast<double>(image.height) * f));
    const int64_t w = std::max<int64_t>(1, std::llround(static_cast<double>(image.width) * f));
    scaled = data::resize(image, h, w, data::Interpolation::Bilinear);
    src = &scaled;
  }
  std::string png;
  const int ok = stbi_write_png_to_func(append_to_string, &png, static_cast<int>(src->width),
                                        static_cast<int>(src->height), 3, src->pixels.data(),
                                        static_cast<int>(src->row_bytes()));
  MM_CHECK(ok != 0 && !png.empty(), Runtime, kOp, "PNG encoding of a ", src->width, "x", src->height, " image failed");
  return png;
}

std::string png_data_uri(std::string_view png) {
  std::string uri = "data:image/png;base64,";
  uri.append(base64_encode(png));
  return uri;
}

nlohmann::json make_gallery(const Tensor& image_embeds, const Tensor& text_embeds,
                            const std::vector<int64_t>& text_to_image, const std::vector<std::string>& captions,
                            const std::function<data::Image(int64_t)>& image_for_thumbnail,
                            const GalleryOptions& o) {
  int64_t ni = 0, nt = 0, d = 0, dt = 0;
  const std::vector<double> img = unit_rows(image_embeds, "image_embeds", &ni, &d);
  const std::vector<double> txt = unit_rows(text_embeds, "text_embeds", &nt, &dt);
  MM_CHECK(d == dt, Shape, kOp, "image_embeds has ", d, " columns, text_embeds ", dt);
  MM_CHECK(static_cast<int64_t>(text_to_image.size()) == nt && static_cast<int64_t>(captions.size()) == nt, Shape,
           kOp, "text_embeds has ", nt, " rows, text_to_image ", text_to_image.size(), ", captions ", captions.size());
  MM_CHECK(o.num_queries >= 0 && o.top_k >= 1, Value, kOp, "num_queries ", o.num_queries, " must be >= 0, top_k ",
           o.top_k, " >= 1");
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t i = text_to_image[static_cast<size_t>(t)];
    MM_CHECK(i >= 0 && i < ni, Index, kOp, "text_to_image[", t, "] = ", i, " is outside [0, ", ni, ")");
  }

  nlohmann::json queries = nlohmann::json::array();
  std::set<int64_t> shown;  // images to thumbnail, in index order
  std::vector<double> score(static_cast<size_t>(ni));
  std::vector<int64_t> order(static_cast<size_t>(ni));
  for (const int64_t t : choose(nt, o.num_queries, o.seed)) {
    const double* q = txt.data() + t * d;
    for (int64_t i = 0; i < ni; ++i) {
      double s = 0;
      for (int64_t c = 0; c < d; ++c) s += q[c] * img[static_cast<size_t>(i * d + c)];
      score[static_cast<size_t>(i)] = s;
    }
    std::iota(order.begin(), order.end(), int64_t{0});
    const auto higher = [&](int64_t a, int64_t b) {  // score descending, ties by lower index
      const double sa = score[static_cast<size_t>(a)], sb = score[static_cast<size_t>(b)];
      return sa != sb ? sa > sb : a < b;
    };
    const int64_t k = std::min(o.top_k, ni);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), higher);
    const int64_t truth = text_to_image[static_cast<size_t>(t)];
    int64_t rank = 1;
    for (int64_t i = 0; i < ni; ++i) rank += higher(i, truth) ? 1 : 0;
    nlohmann::json top = nlohmann::json::array();
    for (int64_t r = 0; r < k; ++r) {
      const int64_t i = order[static_cast<size_t>(r)];
      top.push_back({{"image", i}, {"score", score[static_cast<size_t>(i)]}});
      shown.insert(i);
    }
    shown.insert(truth);
    queries.push_back({{"caption", captions[static_cast<size_t>(t)]}, {"text_index", t}, {"true_image", truth},
                       {"true_rank", rank}, {"top", top}});
  }
  nlohmann::json thumbnails = nlohmann::json::object();
  for (const int64_t i : shown) {
    thumbnails[std::to_string(i)] = png_data_uri(png_thumbnail(image_for_thumbnail(i), o.thumbnail_size));
  }
  return {{"queries", queries}, {"thumbnails", thumbnails}};
}

}  // namespace mm::train
