// The trainer's retrieval evaluation on a split.
#include <filesystem>
#include <fstream>
#include <optional>

#include "train/eval/gallery.h"
#include "train/eval/retrieval.h"
#include "train/trainer.h"

namespace mm::train {

nlohmann::json Trainer::evaluate(const std::string& split) {
  std::optional<EmaSwap> swap;  // with an EMA, evaluation uses the averaged weights
  if (ema_) swap.emplace(*ema_, *bundle_.model);
  // Sharded over the ranks of an mpirun job: each embeds its share of the split, all get the whole.
  nlohmann::json j = evaluate_split(bundle_, ImageTextData(sources_, split), host_comm_).to_json();
  if (swap) swap->restore();
  j["split"] = split;
  j["step"] = step_;
  return j;
}

void Trainer::record_metrics(const nlohmann::json& metrics) {
  if (events_) events_->add_metrics(metrics);
}

void Trainer::write_gallery(const std::string& split) {
  if (!writes_files() || bundle_.model->ladder) return;
  std::optional<EmaSwap> swap;
  if (ema_) swap.emplace(*ema_, *bundle_.model);
  const ImageTextData d(sources_, split);
  const SplitEmbeddings e = embed_split(bundle_, d);
  std::vector<int64_t> t2i;
  const std::vector<std::string> captions = d.all_captions(&t2i);
  GalleryOptions o;
  o.seed = seed_;
  const nlohmann::json g = make_gallery(e.images, e.texts, t2i, captions, [&](int64_t i) { return d.image(i); }, o);
  std::ofstream(std::filesystem::path(run_dir_) / "gallery.json") << g.dump() << "\n";
}

}  // namespace mm::train
