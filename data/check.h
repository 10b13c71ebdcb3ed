// Validating a whole data set before anyone spends hours training on it (`mmalign data check`):
// every image is opened and decoded (in parallel), every problem is listed with its file, the
// annotation line it comes from and the reason, and the caption lengths and image sizes are
// summarised.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/datasets.h"
#include "data/image/decode.h"

namespace mm::data {

struct BadSample {
  std::string file;    // the image path
  std::string where;   // annotation file:line (or the file alone for JSON formats)
  std::string reason;
};

struct Summary {  // of a list of numbers
  int64_t count = 0;
  double min = 0, mean = 0, median = 0, max = 0;
};
Summary summarise(std::vector<double> values);

struct DatasetReport {
  std::string name;  // "train", "val", "test"
  int64_t images = 0, captions = 0;
  std::vector<BadSample> bad;  // in annotation order
  Summary caption_words, caption_chars, image_width, image_height;  // sizes over decodable images
};

// Decodes every image of `index` on `threads` threads (0: one per core).
DatasetReport check_dataset(const std::string& name, const DatasetIndex& index, const DecodeOptions& decode,
                            int threads = 0);

}  // namespace mm::data
