// The retrieval gallery of a run's report (SPEC §7 "Observability"): a few captions with the five
// images they retrieve, the true one marked, as data that `mmalign report` renders (train/report.h).
//
// JSON (gallery.json in the run directory):
//   {"queries": [{"caption": "...", "text_index": 17, "true_image": 3, "true_rank": 2,
//                 "top": [{"image": 8, "score": 0.61}, {"image": 3, "score": 0.58}, ...]}, ...],
//    "thumbnails": {"3": "data:image/png;base64,...", "8": "...", ...}}
// "image"/"true_image" index the image embeddings (the split's images); scores are cosine
// similarities; "top" is sorted by score, highest first, ties by lower image index (the rank rule of
// train/eval/retrieval.h, of which true_rank is the text→image rank). Every image that a query shows
// (its top images and its true image) has one thumbnail, however many queries show it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image/image.h"
#include "runtime/tensor.h"

namespace mm::train {

struct GalleryOptions {
  int64_t num_queries = 8;
  int64_t top_k = 5;
  int64_t thumbnail_size = 96;  // the longer side of a thumbnail, in pixels (smaller images are kept as is)
  uint64_t seed = 0;            // which captions are queries: the same seed gives the same captions
};

// image_embeds [Ni, d], text_embeds [Nt, d] (f32/f64, any device; normalised here, so raw tower outputs
// work too); text_to_image [Nt] and captions [Nt] as ImageTextData::all_captions gives them.
// image_for_thumbnail(i): image i's pixels as stored (8-bit RGB, before any normalisation), e.g.
// [&](int64_t i) { return data.image(i); } — the picture a person would recognise, not the model's
// normalised input; it is called once per shown image. Queries are min(num_queries, Nt) distinct
// captions drawn with Philox from `seed`, listed in caption order.
nlohmann::json make_gallery(const Tensor& image_embeds, const Tensor& text_embeds,
                            const std::vector<int64_t>& text_to_image, const std::vector<std::string>& captions,
                            const std::function<data::Image(int64_t image_index)>& image_for_thumbnail,
                            const GalleryOptions& options = {});

// A thumbnail: the image scaled (bilinear, PIL-style antialiased) so its longer side is at most
// max_side, as PNG bytes.
std::string png_thumbnail(const data::Image& image, int64_t max_side);
// "data:image/png;base64,..." of PNG bytes.
std::string png_data_uri(std::string_view png);

std::string base64_encode(std::string_view bytes);
// Strict: a character outside the alphabet or bad padding is an mm::Error.
std::string base64_decode(std::string_view text);

}  // namespace mm::train
