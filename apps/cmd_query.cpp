// Querying a trained checkpoint (SPEC §7.1):
//   mmalign zeroshot --checkpoint DIR --image PATH --labels "a,b,c" [--template "a photo of {}"]... [--json]
//     classifies one image among the labels: each label's class embedding is the normalised mean of its
//     normalised prompt embeddings (one prompt per template, "{}" replaced by the label; CLIP's
//     prompt ensembling), scores are cosines, probabilities softmax(logit_scale · cosine).
//     Without --template the label text itself is the prompt ("{}"): a model trained on captions
//     scores best with captions' wording, and the templates of ImageNet prompts would not help it.
//   mmalign search --checkpoint DIR --index F.safetensors --query TEXT [-k 5] [--json]
//     the top-k images of an index written by `mmalign embed --checkpoint DIR --images IMAGES`.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "autograd/functions.h"
#include "ops/copy.h"
#include "ops/shape.h"
#include "data/image/decode.h"
#include "runtime/error.h"
#include "runtime/safetensors.h"
#include "train/alignment_model.h"
#include "train/eval/retrieval.h"

namespace mm::app {

namespace {

std::vector<std::string> split_labels(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string l = s.substr(start, end - start);
    l.erase(0, l.find_first_not_of(" \t"));
    l.erase(l.find_last_not_of(" \t") + 1);
    MM_CHECK(!l.empty(), Value, "zeroshot", "--labels has an empty label in \"", s, "\"");
    out.push_back(l);
    start = end + 1;
  }
  return out;
}

std::string fill_template(const std::string& t, const std::string& label) {
  const size_t at = t.find("{}");
  MM_CHECK(at != std::string::npos, Value, "zeroshot", "--template \"", t, "\" has no {} for the label");
  std::string out = t;
  return out.replace(at, 2, label);
}

// Cosines of one query row against every row of `gallery` ([n]).
std::vector<double> cosines(const Tensor& query, const Tensor& gallery) {
  NoGradGuard ng;
  return matmul(gallery, transpose(query, 0, 1)).to_double_vector();
}

}  // namespace

int run_zeroshot(const ZeroShotArgs& a) {
  const std::vector<std::string> labels = split_labels(a.labels);
  const std::vector<std::string> templates = a.templates.empty() ? std::vector<std::string>{"{}"} : a.templates;
  train::AlignmentModel m = train::load_alignment_model(a.checkpoint);
  const data::Image img = data::decode_image_file(a.image);
  const Tensor image = m.embed_images(1, [&](int64_t) { return img; });
  std::vector<std::string> prompts;
  for (const std::string& l : labels)
    for (const std::string& t : templates) prompts.push_back(fill_template(t, l));
  const Tensor prompt_embeds = m.embed_texts(prompts);
  const int64_t c = static_cast<int64_t>(labels.size()), p = static_cast<int64_t>(templates.size());
  const Tensor classes = train::zero_shot_classifier(ops::reshape(prompt_embeds, {c, p, prompt_embeds.size(1)}));
  const std::vector<double> cos = cosines(image, classes);
  const double scale = m.model->scale();
  const double top = *std::max_element(cos.begin(), cos.end());
  std::vector<double> prob(cos.size());
  double z = 0;
  for (size_t i = 0; i < cos.size(); ++i) z += (prob[i] = std::exp(scale * (cos[i] - top)));
  for (double& v : prob) v /= z;
  std::vector<size_t> order(labels.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return cos[x] > cos[y]; });
  if (a.json) {
    nlohmann::json j{{"image", a.image}, {"top", labels[order[0]]}, {"templates", templates}, {"labels", nlohmann::json::array()}};
    for (size_t i : order) j["labels"].push_back({{"label", labels[i]}, {"cosine", cos[i]}, {"probability", prob[i]}});
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::printf("%s\n", a.image.c_str());
  for (size_t i : order) std::printf("  %6.2f%%  cos %+.4f  %s\n", 100 * prob[i], cos[i], labels[i].c_str());
  return 0;
}

int run_search(const SearchArgs& a) {
  const safetensors::File index = safetensors::File::open(a.index);
  MM_CHECK(index.contains("image_embeds"), Value, "search", a.index,
           " has no image_embeds (write an index with: mmalign embed --checkpoint DIR --images IMAGES --out F)");
  const auto& meta = index.metadata();
  MM_CHECK(meta.count("images"), Value, "search", a.index, " has no 'images' metadata listing the files");
  const nlohmann::json files = nlohmann::json::parse(meta.at("images"));
  const Tensor gallery = index.load("image_embeds");
  MM_CHECK(gallery.dim() == 2 && static_cast<size_t>(gallery.size(0)) == files.size(), Shape, "search", a.index,
           ": image_embeds is ", shape_str(gallery.shape()), " but the metadata lists ", files.size(), " images");
  train::AlignmentModel m = train::load_alignment_model(a.checkpoint);
  const Tensor q = m.embed_texts({a.query});
  MM_CHECK(q.size(1) == gallery.size(1), Shape, "search", "the checkpoint's embeddings have ", q.size(1),
           " dimensions, the index's ", gallery.size(1), ": was the index written with another checkpoint?");
  const std::vector<double> cos = cosines(q, ops::to_dtype(gallery, q.dtype()));
  std::vector<size_t> order(cos.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return cos[x] > cos[y]; });  // ties: index order
  const size_t k = std::min(order.size(), static_cast<size_t>(a.k));
  const std::string root = meta.count("images_root") ? meta.at("images_root") : "";
  if (a.json) {
    nlohmann::json j{{"query", a.query}, {"images_root", root}, {"results", nlohmann::json::array()}};
    for (size_t r = 0; r < k; ++r) j["results"].push_back({{"rank", r + 1}, {"image", files[order[r]]}, {"cosine", cos[order[r]]}});
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::printf("query: %s\n", a.query.c_str());
  for (size_t r = 0; r < k; ++r)
    std::printf("  %zu. cos %+.4f  %s\n", r + 1, cos[order[r]], files[order[r]].get<std::string>().c_str());
  return 0;
}

}  // namespace mm::app
