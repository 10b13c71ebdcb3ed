// mmalign eval --embeddings F.safetensors [--json] (SPEC §7.1): the retrieval metrics of
// train/eval/retrieval.h on embeddings a user computed elsewhere (mmalign embed, or PyTorch).
// The file holds image_embeds [Ni, d], text_embeds [Nt, d] (f32/f64), text_to_image [Nt] i64 and
// optionally labels [Ni] i64, the identity of each image: then also the label-based (CUHK-PEDES)
// metrics, text queries against the image gallery, a caption's identity being its image's.
// Embeddings are used as given: normalising here would hide a caller's mistake and change nothing
// for the normalised embeddings mmalign embed writes; rows far from unit norm get a warning instead.
// --checkpoint DIR: the checkpoint's model embeds a split (--split, default test) of its own data, or
// of the data section of --data F.pbtxt, and the same metrics are computed.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "apps/commands.h"
#include "runtime/error.h"
#include "runtime/safetensors.h"
#include "train/alignment_model.h"
#include "train/data_config.h"
#include "train/eval/retrieval.h"

namespace mm::app {

namespace {

void warn_if_not_unit(const Tensor& t, const char* name) {
  const train::UnitNormReport r = train::unit_norm_report(t);
  if (r.rows_off == 0) return;
  std::cerr << "mmalign eval: warning: " << r.rows_off << " of " << t.size(0) << " " << name
            << " rows have an L2 norm more than 1e-3 away from 1 (row " << r.worst_row << ": " << r.worst_norm
            << "); embeddings are used as given, so scores are dot products, not cosine similarities\n";
}

std::string row(const char* what, double r1, double r5, double r10, double medr, double meanr) {
  char buf[128];
  // %-14s: printf pads bytes, and the arrow of "image→text" is 3 bytes wide in UTF-8 but 1 column.
  std::snprintf(buf, sizeof buf, "%-14s %7.2f %7.2f %7.2f %12g %11.4g\n", what, 100 * r1, 100 * r5, 100 * r10, medr,
                meanr);
  return buf;
}

// The embeddings to score: from a file, or computed by a checkpoint's model on a split of its data
// (or of --data's).
struct Inputs {
  Tensor img, txt, t2i, labels;
  std::string source;
  Tensor scores;  // [Ni, Nt] for a checkpoint with a ladder head (its scores are not I·Tᵀ)
};

Inputs from_file(const std::string& path) {
  const safetensors::File f = safetensors::File::open(path);
  auto need = [&](const char* name) {
    if (!f.contains(name)) {
      std::string names;
      for (const auto& t : f.tensors()) names += (names.empty() ? "" : ", ") + t.name;
      fail(ErrorKind::Value, "eval", path, " has no tensor '", name, "' (it holds: ", names.empty() ? "none" : names, ")");
    }
    return f.load(name);
  };
  Inputs in{need("image_embeds"), need("text_embeds"), need("text_to_image"), Tensor(), path, Tensor()};
  if (f.contains("labels")) in.labels = f.load("labels");
  return in;
}

Inputs from_checkpoint(const EvalArgs& a) {
  train::AlignmentModel m = train::load_alignment_model(a.checkpoint);
  train::config::Data data = m.config.data();
  std::string base = a.checkpoint;  // the saved config's data paths are absolute
  if (!a.data.empty()) {
    data = train::load_config(a.data).data();
    base = std::filesystem::path(a.data).parent_path().string();
  }
  const train::ImageTextData split(train::data_sources(data, base), a.split);
  const train::SplitEmbeddings e = train::embed_split(m, split);
  Inputs in{e.images, e.texts, e.text_to_image, Tensor(), a.checkpoint + " on the " + a.split + " split", Tensor()};
  // A ladder head scores pairs through its rung (pair-fused: the embeddings; token mode: the towers'
  // token sequences), as the trainer's evaluation does.
  if (m.model->ladder)
    in.scores = train::score_pairs(m, split.num_images(), [&](int64_t i) { return split.image(i); },
                                   split.all_captions(nullptr));
  return in;
}

}  // namespace

int run_eval(const EvalArgs& a) {
  MM_CHECK(a.checkpoint.empty() != a.embeddings.empty(), Value, "eval", "give exactly one of --checkpoint and --embeddings");
  const Inputs in = a.checkpoint.empty() ? from_file(a.embeddings) : from_checkpoint(a);
  const Tensor &img = in.img, &txt = in.txt, &t2i = in.t2i, &labels = in.labels;
  const train::RetrievalOptions opts{a.chunk_rows};

  train::RetrievalMetrics m;
  train::LabelRetrievalMetrics lm;
  try {
    m = in.scores.defined() ? train::evaluate_retrieval_scores(in.scores, t2i) : train::evaluate_retrieval(img, txt, t2i, opts);
    if (labels.defined()) {
      MM_CHECK(labels.dtype() == DType::I64, DType, "", "labels must be i64, got ", dtype_name(labels.dtype()));
      MM_CHECK(labels.dim() == 1 && labels.size(0) == img.size(0), Shape, "", "labels must be [", img.size(0),
               "] (the identity of each row of image_embeds), got ", shape_str(labels.shape()));
      // A caption's identity is its image's (text_to_image was validated above).
      std::vector<int64_t> text_labels(static_cast<size_t>(txt.size(0)));
      for (int64_t t = 0; t < txt.size(0); ++t)
        text_labels[static_cast<size_t>(t)] = labels.data<int64_t>()[t2i.data<int64_t>()[t]];
      lm = train::evaluate_label_retrieval(txt, img, Tensor::from_vector(text_labels, {txt.size(0)}), labels, opts);
    }
  } catch (const Error& e) {
    throw Error(e.kind(), "eval", in.source + ": " + e.what());  // the file too, not only the tensor
  }
  warn_if_not_unit(img, "image_embeds");
  warn_if_not_unit(txt, "text_embeds");
  if (m.images_without_captions > 0)
    std::cerr << "mmalign eval: note: " << m.images_without_captions
              << " images have no caption: they are text→image candidates but not image→text queries\n";
  if (labels.defined() && lm.queries_without_relevant > 0)  // impossible with labels per image; kept for safety
    std::cerr << "mmalign eval: note: " << lm.queries_without_relevant << " captions have no relevant image\n";

  if (a.json) {
    nlohmann::json j = m.to_json();
    if (labels.defined()) j["label"] = lm.to_json();
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::cout << "mmalign eval: " << in.source << " (" << m.num_images << " images, " << m.num_texts
            << " captions; recalls in percent)\n"
            << "                 R@1     R@5    R@10  median rank   mean rank\n"
            << row("image→text", m.i2t_r1, m.i2t_r5, m.i2t_r10, m.i2t_median_rank, m.i2t_mean_rank)
            << row("text→image", m.t2i_r1, m.t2i_r5, m.t2i_r10, m.t2i_median_rank, m.t2i_mean_rank);
  char buf[256];
  std::snprintf(buf, sizeof buf, "R-sum %.2f\n", 100 * m.rsum);
  std::cout << buf;
  if (labels.defined()) {
    std::snprintf(buf, sizeof buf, "label-based (captions → images of the same identity): R@1 %.2f R@5 %.2f R@10 %.2f mAP %.2f\n",
                  100 * lm.r1, 100 * lm.r5, 100 * lm.r10, 100 * lm.map);
    std::cout << buf;
  }
  return 0;
}

}  // namespace mm::app
