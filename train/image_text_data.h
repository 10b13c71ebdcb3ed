// One split of an image–caption data set as the trainer sees it: images (decoded from files, or
// rendered by the synthetic generator) with their captions grouped. Training iterates over every
// (image, caption) pair (OpenCLIP's CsvDataset: one sample per caption row); evaluation uses the
// grouping (an image is retrieved by any of its captions).
//
// Identity labels (for the label-based losses, cmpm / cmpc / intra_class): when every image of the split
// carries one (pedes `id`), the distinct ids are numbered 0..K-1 in increasing order (CUHK-PEDES ids are
// sparse and start at 1; CMPC's classifier needs dense classes); otherwise (synthetic, csv, flickr8k ...)
// each image is its own identity, label = image index, so the captions of one image share a class.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/datasets.h"
#include "data/image/decode.h"
#include "data/image/image.h"
#include "data/synthetic.h"
#include "train/data_config.h"

namespace mm::train {

class ImageTextData {
 public:
  // split: "train" | "val" | "test". Throws when the sources have no such split.
  ImageTextData(const DataSources& sources, const std::string& split);

  int64_t num_images() const { return static_cast<int64_t>(captions_.size()); }
  const std::vector<std::string>& captions(int64_t image) const { return captions_.at(static_cast<size_t>(image)); }
  // Every (image, caption-within-image) pair, in data set order.
  const std::vector<std::pair<int64_t, int64_t>>& pairs() const { return pairs_; }
  // All captions flattened, with the image each describes (evaluation's text_to_image).
  std::vector<std::string> all_captions(std::vector<int64_t>* text_to_image) const;
  // Image i's identity class in [0, num_labels()) (see above).
  int64_t label(int64_t image) const { return labels_.at(static_cast<size_t>(image)); }
  int64_t num_labels() const { return num_labels_; }
  // Whether the labels are the data's identities (false: one class per image).
  bool has_identity_labels() const { return identity_labels_; }
  // The image's pixels (a bad file throws mm::Error naming it).
  data::Image image(int64_t i) const;
  const std::string& split() const { return split_; }

 private:
  std::string split_;
  std::optional<data::SyntheticSet> synthetic_;
  data::Split synthetic_split_ = data::Split::Train;
  std::optional<data::DatasetIndex> index_;
  data::DecodeOptions decode_;
  std::vector<std::vector<std::string>> captions_;
  std::vector<std::pair<int64_t, int64_t>> pairs_;
  std::vector<int64_t> labels_;  // dense, per image
  int64_t num_labels_ = 0;
  bool identity_labels_ = false;
};

}  // namespace mm::train
