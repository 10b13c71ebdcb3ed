#include "data/datasets.h"

#include <filesystem>
#include <map>

#include "data/text_file.h"
#include "runtime/error.h"

namespace mm::data {

namespace fs = std::filesystem;

int64_t DatasetIndex::num_captions() const {
  int64_t n = 0;
  for (const ImageEntry& e : images) n += static_cast<int64_t>(e.captions.size());
  return n;
}

std::string DatasetIndex::image_path(size_t i) const { return (fs::path(images_root) / images.at(i).file).string(); }

std::string checked_relative_path(const std::string& name, const std::string& where) {
  MM_CHECK(!name.empty(), Value, "data", where, ": empty image file name");
  const fs::path p(name);
  MM_CHECK(!p.is_absolute() && name[0] != '/', Value, "data", where, ": image path '", name,
           "' is absolute; paths must be relative to the images root");
  for (const auto& part : p)
    MM_CHECK(part != "..", Value, "data", where, ": image path '", name, "' contains '..'; paths must stay inside the images root");
  return name;
}

namespace {

std::string where(const std::string& path, int64_t line) { return path + ":" + std::to_string(line); }

void check_caption(const std::string& caption, const std::string& at) {
  const int64_t bad = invalid_utf8_offset(caption);
  MM_CHECK(bad < 0, Value, "data", at, ": invalid UTF-8 in the caption at byte ", bad);
}

// Calls f(line_number, line) for every non-empty line of text (a trailing '\r' removed).
template <typename F>
void for_each_line(const std::string& text, F&& f) {
  int64_t line = 0;
  for (size_t i = 0; i < text.size();) {
    size_t end = text.find('\n', i);
    if (end == std::string::npos) end = text.size();
    std::string row = text.substr(i, end - i);
    i = end + 1;
    ++line;
    if (!row.empty() && row.back() == '\r') row.pop_back();
    if (!row.empty()) f(line, row);
  }
}

// Groups (file, caption) rows by file, keeping first-appearance order.
class Grouper {
 public:
  void add(const std::string& file, std::string caption, int64_t line) {
    auto [it, inserted] = pos_.try_emplace(file, entries_.size());
    if (inserted) entries_.push_back({file, {}, -1, "", line});
    entries_[it->second].captions.push_back(std::move(caption));
  }
  std::vector<ImageEntry> take() { return std::move(entries_); }

 private:
  std::map<std::string, size_t> pos_;
  std::vector<ImageEntry> entries_;
};

size_t column(const std::vector<std::string>& header, const std::string& name, const std::string& path) {
  for (size_t c = 0; c < header.size(); ++c)
    if (header[c] == name) return c;
  std::string have;
  for (const auto& h : header) have += (have.empty() ? "" : ", ") + h;
  fail(ErrorKind::Value, "data", path, ":1: the header has no '", name, "' column (columns: ", have, ")");
}

std::vector<ImageEntry> read_csv(const std::string& path) {
  std::vector<CsvRecord> rows = parse_csv(read_text_file(path), path);
  MM_CHECK(!rows.empty(), Value, "data", path, ": empty file (expected a header line `filename,caption`)");
  const size_t fc = column(rows[0].fields, "filename", path), cc = column(rows[0].fields, "caption", path);
  Grouper g;
  for (size_t r = 1; r < rows.size(); ++r) {
    const CsvRecord& row = rows[r];
    const std::string at = where(path, row.line);
    MM_CHECK(row.fields.size() == rows[0].fields.size(), Value, "data", at, ": ", row.fields.size(),
             " fields, but the header has ", rows[0].fields.size(), " (quote captions that contain commas)");
    check_caption(row.fields[cc], at);
    g.add(checked_relative_path(row.fields[fc], at), row.fields[cc], row.line);
  }
  return g.take();
}

std::vector<ImageEntry> read_flickr8k(const std::string& path) {
  Grouper g;
  for_each_line(read_text_file(path), [&](int64_t line, const std::string& row) {
    const std::string at = where(path, line);
    const size_t comma = row.find(',');
    MM_CHECK(comma != std::string::npos, Value, "data", at, ": expected `image,caption`");
    std::string file = row.substr(0, comma), caption = row.substr(comma + 1);
    if (line == 1) {
      MM_CHECK(file == "image" && caption == "caption", Value, "data", at,
               ": expected the header `image,caption`, got '", row, "'");
      return;
    }
    if (caption.size() >= 2 && caption.front() == '"' && caption.back() == '"') {  // a quoted caption
      std::string unq;
      for (size_t k = 1; k + 1 < caption.size(); ++k) {
        unq += caption[k];
        if (caption[k] == '"' && caption[k + 1] == '"') ++k;
      }
      caption = unq;
    }
    check_caption(caption, at);
    MM_CHECK(!caption.empty(), Value, "data", at, ": empty caption");
    g.add(checked_relative_path(file, at), caption, line);
  });
  return g.take();
}

std::vector<ImageEntry> read_tsv(const std::string& path) {
  std::vector<std::string> header;
  Grouper g;
  size_t fc = 0, tc = 0;
  for_each_line(read_text_file(path), [&](int64_t line, const std::string& row) {
    std::vector<std::string> cols;
    for (size_t s = 0;;) {
      const size_t t = row.find('\t', s);
      cols.push_back(row.substr(s, t == std::string::npos ? std::string::npos : t - s));
      if (t == std::string::npos) break;
      s = t + 1;
    }
    if (header.empty()) {
      header = cols;
      fc = column(header, "filepath", path);
      tc = column(header, "title", path);
      return;
    }
    const std::string at = where(path, line);
    MM_CHECK(cols.size() == header.size(), Value, "data", at, ": ", cols.size(), " tab-separated columns, but the header has ",
             header.size());
    check_caption(cols[tc], at);
    g.add(checked_relative_path(cols[fc], at), cols[tc], line);
  });
  MM_CHECK(!header.empty(), Value, "data", path, ": empty file (expected a header with filepath and title columns)");
  return g.take();
}

// JSON helpers: a field of the expected type, or an error naming the entry.
const nlohmann::json& field(const nlohmann::json& j, const char* key, nlohmann::json::value_t type, const std::string& at) {
  auto it = j.find(key);
  MM_CHECK(it != j.end(), Value, "data", at, ": missing field '", key, "'");
  const bool ok = it->type() == type || (type == nlohmann::json::value_t::number_integer && it->is_number_integer());
  MM_CHECK(ok, Value, "data", at, ": field '", key, "' has the wrong type (", it->type_name(), ")");
  return *it;
}
using VT = nlohmann::json::value_t;

std::vector<ImageEntry> read_coco(const std::string& path) {
  const nlohmann::json j = parse_json(read_text_file(path), path);
  MM_CHECK(j.is_object(), Value, "data", path, ": expected a JSON object with images and annotations");
  std::map<int64_t, size_t> by_id;
  std::vector<ImageEntry> out;
  const auto& images = field(j, "images", VT::array, path);
  for (size_t k = 0; k < images.size(); ++k) {
    const std::string at = path + ": images[" + std::to_string(k) + "]";
    const int64_t id = field(images[k], "id", VT::number_integer, at).get<int64_t>();
    const std::string file = field(images[k], "file_name", VT::string, at).get<std::string>();
    MM_CHECK(by_id.emplace(id, out.size()).second, Value, "data", at, ": duplicate image id ", id);
    out.push_back({checked_relative_path(file, at), {}, -1, "", 0});
  }
  const auto& anns = field(j, "annotations", VT::array, path);
  for (size_t k = 0; k < anns.size(); ++k) {
    const std::string at = path + ": annotations[" + std::to_string(k) + "]";
    const int64_t id = field(anns[k], "image_id", VT::number_integer, at).get<int64_t>();
    auto it = by_id.find(id);
    MM_CHECK(it != by_id.end(), Value, "data", at, ": unknown image_id ", id, " (not in images)");
    std::string caption = field(anns[k], "caption", VT::string, at).get<std::string>();
    check_caption(caption, at);
    out[it->second].captions.push_back(std::move(caption));
  }
  std::vector<ImageEntry> kept;  // images without any caption take no part in caption training/eval
  for (auto& e : out)
    if (!e.captions.empty()) kept.push_back(std::move(e));
  return kept;
}

std::vector<ImageEntry> read_karpathy(const std::string& path) {
  const nlohmann::json j = parse_json(read_text_file(path), path);
  MM_CHECK(j.is_object(), Value, "data", path, ": expected a JSON object with an images array");
  std::vector<ImageEntry> out;
  const auto& images = field(j, "images", VT::array, path);
  for (size_t k = 0; k < images.size(); ++k) {
    const std::string at = path + ": images[" + std::to_string(k) + "]";
    const auto& im = images[k];
    std::string file = field(im, "filename", VT::string, at).get<std::string>();
    if (im.contains("filepath")) file = field(im, "filepath", VT::string, at).get<std::string>() + "/" + file;
    ImageEntry e{checked_relative_path(file, at), {}, -1, field(im, "split", VT::string, at).get<std::string>(), 0};
    const auto& sents = field(im, "sentences", VT::array, at);
    for (size_t s = 0; s < sents.size(); ++s) {
      std::string raw = field(sents[s], "raw", VT::string, at + ".sentences[" + std::to_string(s) + "]").get<std::string>();
      check_caption(raw, at);
      e.captions.push_back(std::move(raw));
    }
    MM_CHECK(!e.captions.empty(), Value, "data", at, ": no sentences");
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ImageEntry> read_pedes(const std::string& path) {
  const nlohmann::json j = parse_json(read_text_file(path), path);
  MM_CHECK(j.is_array(), Value, "data", path, ": expected a JSON array of {file_path, id, split, captions}");
  std::vector<ImageEntry> out;
  for (size_t k = 0; k < j.size(); ++k) {
    const std::string at = path + ": [" + std::to_string(k) + "]";
    ImageEntry e{checked_relative_path(field(j[k], "file_path", VT::string, at).get<std::string>(), at), {},
                 field(j[k], "id", VT::number_integer, at).get<int64_t>(),
                 field(j[k], "split", VT::string, at).get<std::string>(), 0};
    for (const auto& c : field(j[k], "captions", VT::array, at)) {
      MM_CHECK(c.is_string(), Value, "data", at, ": captions must be strings");
      check_caption(c.get<std::string>(), at);
      e.captions.push_back(c.get<std::string>());
    }
    MM_CHECK(!e.captions.empty(), Value, "data", at, ": no captions");
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

DatasetIndex read_dataset(const std::string& format, const std::string& path, const std::string& images_root,
                          const std::string& split) {
  DatasetIndex d;
  d.annotations = path;
  const bool known = format == "csv" || format == "flickr8k" || format == "tsv" || format == "coco" ||
                     format == "karpathy" || format == "pedes";
  MM_CHECK(split.empty() || !known || format == "karpathy" || format == "pedes", Value, "data", path, ": format ",
           format, " has no split field; give each split its own file");
  const fs::path dir = fs::path(path).parent_path();
  bool beside = true;
  if (format == "csv") {
    d.images = read_csv(path);
  } else if (format == "flickr8k") {
    d.images = read_flickr8k(path);
  } else if (format == "tsv") {
    d.images = read_tsv(path);
  } else if (format == "coco") {
    d.images = read_coco(path), beside = false;
  } else if (format == "karpathy") {
    d.images = read_karpathy(path), beside = false;
  } else if (format == "pedes") {
    d.images = read_pedes(path), beside = false;
  } else {
    fail(ErrorKind::Value, "data", "unknown data set format '", format, "'; expected csv | flickr8k | coco | karpathy | pedes | tsv");
  }
  d.images_root = !images_root.empty() ? images_root : (beside ? (dir / "images").string() : dir.string());
  if (!split.empty()) {
    std::vector<ImageEntry> kept;
    for (auto& e : d.images)
      if (e.split == split || (format == "karpathy" && split == "train" && e.split == "restval")) kept.push_back(std::move(e));
    MM_CHECK(!kept.empty(), Value, "data", path, ": no entries of split '", split, "'");
    d.images = std::move(kept);
  }
  MM_CHECK(!d.images.empty(), Value, "data", path, ": no images with captions");
  return d;
}

}  // namespace mm::data
