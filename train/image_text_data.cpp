#include "train/image_text_data.h"

#include <map>

#include "runtime/error.h"

namespace mm::train {

ImageTextData::ImageTextData(const DataSources& sources, const std::string& split)
    : split_(split), decode_(sources.decode) {
  if (sources.synthetic) {
    synthetic_.emplace(*sources.synthetic);
    synthetic_split_ = split == "train" ? data::Split::Train : split == "val" ? data::Split::Val : data::Split::Test;
    MM_CHECK(split == "train" || split == "val" || split == "test", Value, "data", "unknown split '", split, "'");
    for (const auto& s : synthetic_->samples(synthetic_split_)) captions_.push_back({s.caption});
  } else {
    for (const auto& [name, index] : sources.splits)
      if (name == split) index_ = index;
    MM_CHECK(index_.has_value(), Value, "data", "the config has no data.", split, " section");
    for (const auto& e : index_->images) captions_.push_back(e.captions);
  }
  MM_CHECK(!captions_.empty(), Value, "data", "split ", split, " is empty");
  for (size_t i = 0; i < captions_.size(); ++i)
    for (size_t c = 0; c < captions_[i].size(); ++c) pairs_.emplace_back(static_cast<int64_t>(i), static_cast<int64_t>(c));
  // Identity labels: the data's own when every image has one, numbered densely; else the image index.
  identity_labels_ = index_.has_value();
  if (index_)
    for (const auto& e : index_->images) identity_labels_ = identity_labels_ && e.label >= 0;
  if (identity_labels_) {
    std::map<int64_t, int64_t> dense;
    for (const auto& e : index_->images) dense.emplace(e.label, 0);
    for (auto& [id, k] : dense) k = num_labels_++;
    for (const auto& e : index_->images) labels_.push_back(dense.at(e.label));
  } else {
    for (size_t i = 0; i < captions_.size(); ++i) labels_.push_back(static_cast<int64_t>(i));
    num_labels_ = static_cast<int64_t>(captions_.size());
  }
}

std::vector<std::string> ImageTextData::all_captions(std::vector<int64_t>* text_to_image) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < captions_.size(); ++i)
    for (const std::string& c : captions_[i]) {
      out.push_back(c);
      if (text_to_image) text_to_image->push_back(static_cast<int64_t>(i));
    }
  return out;
}

data::Image ImageTextData::image(int64_t i) const {
  if (synthetic_) {
    const int64_t n = synthetic_->options().image_size;
    data::Image im(n, n);
    im.pixels = synthetic_->render(synthetic_split_, i);
    return im;
  }
  return data::decode_image_file(index_->image_path(static_cast<size_t>(i)), decode_);
}

}  // namespace mm::train
