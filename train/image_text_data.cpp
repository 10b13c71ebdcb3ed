#include "train/image_text_data.h"

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
