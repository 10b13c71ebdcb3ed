#include "train/alignment_model.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "autograd/functions.h"
#include "data/sample_rng.h"
#include "runtime/safetensors.h"
#include "train/checkpoint.h"
#include "train/eval/retrieval.h"
#include "train/towers.h"

namespace mm::train {

namespace fs = std::filesystem;

std::shared_ptr<models::DualEncoder> build_dual_encoder(const config::Config& cfg) {
  const config::Head& h = cfg.head();
  models::DualEncoderConfig dc;
  if (h.has_projection()) dc.projection = h.projection();
  dc.embed_dim = h.has_embed_dim() ? h.embed_dim() : 256;
  if (h.has_init_logit_scale()) dc.init_logit_scale = h.init_logit_scale();
  if (h.has_max_logit_scale()) dc.max_logit_scale = h.max_logit_scale();
  if (h.has_fixed_temperature()) dc.fixed_temperature = h.fixed_temperature();
  if (h.has_ladder()) {
    MM_CHECK(h.ladder().has_rung(), Value, "config", "head.ladder needs a rung (v0 ... v11)");
    dc.ladder_rung = h.ladder().rung();
    if (h.ladder().has_heads()) dc.ladder_heads = h.ladder().heads();
    if (h.ladder().has_dropout()) dc.ladder_dropout = h.ladder().dropout();
    if (h.ladder().has_temp()) dc.ladder_temp = h.ladder().temp();
  }
  for (const config::Loss& l : cfg.loss())
    if (l.kind() == "siglip") {
      MM_CHECK(!h.has_ladder(), Value, "config", "loss.kind siglip scores embeddings directly; with head.ladder use clip");  // SigLIP's learned bias, and its initial scale of 10 (log 10)
      dc.logit_bias = true;
      if (!h.has_init_logit_scale()) dc.init_logit_scale = std::log(10.0);
    } else if (l.kind() == "cmpc") {
      // W's size is part of the model: the trainer writes the training data's class count into the
      // resolved config, so a checkpoint's config rebuilds the same model.
      MM_CHECK(l.num_classes() > 0, Value, "config",
               "loss.kind cmpc needs loss.num_classes > 0 (the trainer fills it in from the training labels), got ",
               l.num_classes());
      MM_CHECK(dc.cmpc_classes == 0, Value, "config", "at most one loss of kind cmpc (the model has one classifier W)");
      dc.cmpc_classes = l.num_classes();
    }
  MM_CHECK(cfg.model().has_image() && cfg.model().has_text(), Value, "config", "the model needs model.image and model.text");
  return std::make_shared<models::DualEncoder>(build_image_tower(cfg.model().image()),
                                               build_text_tower(cfg.model().text()), dc);
}

std::unique_ptr<data::TransformPipeline> make_eval_transform(const config::Config& cfg) {
  data::TransformOptions to;
  to.size = cfg.model().image().has_image_size() ? cfg.model().image().image_size() : 224;
  return std::make_unique<data::TransformPipeline>(to, false);
}

std::unique_ptr<data::Tokenizer> load_config_tokenizer(const config::Config& cfg, const std::string& base_dir) {
  const config::Tokenizer& c = cfg.model().text().tokenizer();
  MM_CHECK(c.has_vocab(), Value, "config", "model.text.tokenizer.vocab is not set");
  auto resolve = [&](const std::string& p) {
    return p.empty() || fs::path(p).is_absolute() ? p : (fs::path(base_dir) / p).string();
  };
  return data::make_tokenizer(c.has_kind() ? c.kind() : "word", resolve(c.vocab()), resolve(c.merges()));
}

Tensor stack_images(const std::vector<Tensor>& images) {
  Shape s = images.front().shape();
  s.insert(s.begin(), static_cast<int64_t>(images.size()));
  Tensor out = Tensor::empty(s, DType::F32, kCPU);
  const int64_t n = images.front().numel();
  for (size_t i = 0; i < images.size(); ++i)
    std::memcpy(out.data<float>() + static_cast<int64_t>(i) * n, images[i].data<float>(), sizeof(float) * n);
  return out;
}

Tensor AlignmentModel::embed_images(int64_t n, const std::function<data::Image(int64_t)>& image, int64_t chunk) {
  NoGradGuard ng;
  const bool was_training = model->is_training();
  model->eval();
  std::vector<Tensor> parts;
  for (int64_t b = 0; b < n; b += chunk) {
    std::vector<Tensor> batch;
    for (int64_t i = b; i < std::min(n, b + chunk); ++i) {
      data::SampleRng rng(0, 0, static_cast<uint64_t>(i));  // the evaluation transform draws nothing
      batch.push_back(eval_transform->apply(image(i), rng));
    }
    parts.push_back(model->encode_image(stack_images(batch)));
  }
  if (was_training) model->train();
  return cat(parts, 0);
}

Tensor AlignmentModel::embed_texts(const std::vector<std::string>& captions, int64_t chunk) {
  NoGradGuard ng;
  const bool was_training = model->is_training();
  model->eval();
  std::vector<Tensor> parts;
  for (size_t b = 0; b < captions.size(); b += static_cast<size_t>(chunk)) {
    const auto first = captions.begin() + static_cast<std::ptrdiff_t>(b);
    const auto last = captions.begin() + static_cast<std::ptrdiff_t>(std::min(captions.size(), b + static_cast<size_t>(chunk)));
    data::BatchEncoding enc = tokenizer->encode_batch(std::vector<std::string>(first, last), max_length);
    parts.push_back(model->encode_text(enc.input_ids, enc.attention_mask));
  }
  if (was_training) model->train();
  return cat(parts, 0);
}

SplitEmbeddings embed_split(AlignmentModel& m, const ImageTextData& data) {
  SplitEmbeddings e;
  e.images = m.embed_images(data.num_images(), [&](int64_t i) { return data.image(i); });
  std::vector<int64_t> text_to_image;
  e.texts = m.embed_texts(data.all_captions(&text_to_image));
  e.text_to_image = Tensor::from_vector<int64_t>(text_to_image, {static_cast<int64_t>(text_to_image.size())});
  return e;
}

RetrievalMetrics evaluate_split(AlignmentModel& m, const ImageTextData& data) {
  const SplitEmbeddings e = embed_split(m, data);
  if (m.model->ladder) {
    const bool was_training = m.model->is_training();
    m.model->eval();
    const Tensor scores = m.model->pair_scores(e.images, e.texts);
    if (was_training) m.model->train();
    return evaluate_retrieval_scores(scores, e.text_to_image);
  }
  return evaluate_retrieval(e.images, e.texts, e.text_to_image);
}

AlignmentModel load_alignment_model(const std::string& checkpoint_dir) {
  const ckpt::State st = verify_checkpoint(checkpoint_dir);
  AlignmentModel m;
  m.config = parse_config(st.config(), checkpoint_dir + "/state.pb (config)");
  m.tokenizer = load_config_tokenizer(m.config, checkpoint_dir);
  const config::TextTower& t = m.config.model().text();
  m.max_length = t.has_max_length() ? t.max_length() : 32;
  m.model = build_dual_encoder(m.config);
  auto weights = safetensors::load_all(checkpoint_dir + "/model.safetensors");
  m.model->load_state_dict(nn::NamedTensors(weights.begin(), weights.end()), /*strict=*/true);
  // A run with an EMA of the weights evaluated with the EMA: so does a model loaded from its checkpoint.
  nn::NamedTensors ema;
  for (auto& [k, v] : safetensors::load_all(checkpoint_dir + "/optimizer.safetensors"))
    if (k.rfind("ema.", 0) == 0) ema.emplace_back(k.substr(4), v);
  if (!ema.empty()) m.model->load_state_dict(ema, /*strict=*/true);
  m.model->eval();
  m.eval_transform = make_eval_transform(m.config);
  return m;
}

}  // namespace mm::train
