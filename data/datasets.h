// Data set indexes: which images exist and which captions describe each, read from the annotation
// formats of SPEC §6. Reading an index touches only the annotation file; images are opened later
// (by the loader, or all at once by `mmalign data check`).
//
//   csv        captions.csv: header `filename,caption` (RFC 4180 quoting), one row per caption; images
//              in `images/` beside the file (seed 001).
//   flickr8k   Flickr8k captions.txt: header `image,caption`, five rows per image, the caption is
//              everything after the first comma (commas inside captions are not quoted).
//   coco       COCO captions JSON: images[{id, file_name}], annotations[{image_id, caption}].
//   karpathy   Karpathy split JSON (dataset_coco.json, dataset_flickr30k.json): images[{filepath?,
//              filename, split: train|restval|val|test, sentences[{raw}]}].
//   pedes      CUHK-PEDES reid_raw.json: [{file_path, id, split, captions[]}] — id is the identity label.
//   tsv        OpenCLIP-style TSV: a header naming `filepath` and `title` columns (others ignored).
//
// Captions of one image stay grouped (evaluation's multi-caption protocol needs the grouping).
// Image names resolve under the images root; an absolute path or a `..` component is rejected,
// so an annotation file cannot reach outside the data set. Every problem names file:line (or the
// JSON entry) and the reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mm::data {

struct ImageEntry {
  std::string file;                   // as written in the annotations (relative to the images root)
  std::vector<std::string> captions;  // ≥ 1
  int64_t label = -1;                 // identity (pedes); -1: none
  std::string split;                  // karpathy / pedes: the entry's split; empty otherwise
  int64_t line = 0;                   // where the entry starts in the annotation file (0: JSON)
};

struct DatasetIndex {
  std::string annotations;  // the file the index was read from
  std::string images_root;
  std::vector<ImageEntry> images;
  int64_t num_captions() const;
  // The full path of image i (images_root / file).
  std::string image_path(size_t i) const;
};

// format: csv | flickr8k | coco | karpathy | pedes | tsv. images_root empty: the format's default
// (csv, flickr8k, tsv: `images/` beside the file; coco, karpathy, pedes: the file's directory).
// split: keep only entries of that split (karpathy: train also takes restval; pedes); empty: all.
DatasetIndex read_dataset(const std::string& format, const std::string& path, const std::string& images_root = "",
                          const std::string& split = "");

// name, checked: relative, no `..`, not empty. `where` is the "file:line" for the error.
std::string checked_relative_path(const std::string& name, const std::string& where);

}  // namespace mm::data
