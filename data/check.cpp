#include "data/check.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "runtime/error.h"

namespace mm::data {

Summary summarise(std::vector<double> v) {
  Summary s;
  s.count = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return s;
}

namespace {
int64_t count_words(const std::string& s) {
  int64_t n = 0;
  bool in_word = false;
  for (unsigned char c : s) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}
}  // namespace

DatasetReport check_dataset(const std::string& name, const DatasetIndex& index, const DecodeOptions& decode,
                            int threads) {
  DatasetReport r;
  r.name = name;
  r.images = static_cast<int64_t>(index.images.size());
  r.captions = index.num_captions();
  std::vector<double> words, chars;
  for (const ImageEntry& e : index.images)
    for (const std::string& c : e.captions) {
      words.push_back(static_cast<double>(count_words(c)));
      chars.push_back(static_cast<double>(c.size()));
    }
  r.caption_words = summarise(words);
  r.caption_chars = summarise(chars);

  // Decode in parallel; results land in per-image slots, so the report's order is the annotations'.
  const size_t n = index.images.size();
  std::vector<std::string> errors(n);
  std::vector<int64_t> width(n, -1), height(n, -1);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < n;) {
      try {
        Image im = decode_image_file(index.image_path(i), decode);
        width[i] = im.width;
        height[i] = im.height;
      } catch (const Error& e) {
        errors[i] = e.what();
      }
    }
  };
  const int t = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (int k = 1; k < t; ++k) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();

  std::vector<double> ws, hs;
  for (size_t i = 0; i < n; ++i) {
    if (!errors[i].empty()) {
      const ImageEntry& e = index.images[i];
      r.bad.push_back({index.image_path(i),
                       e.line > 0 ? index.annotations + ":" + std::to_string(e.line) : index.annotations, errors[i]});
    } else {
      ws.push_back(static_cast<double>(width[i]));
      hs.push_back(static_cast<double>(height[i]));
    }
  }
  r.image_width = summarise(ws);
  r.image_height = summarise(hs);
  return r;
}

}  // namespace mm::data
