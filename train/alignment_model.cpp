#include "train/alignment_model.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "autograd/functions.h"
#include "ops/copy.h"
#include "ops/shape.h"
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
    if (h.ladder().has_mode()) dc.ladder_mode = h.ladder().mode();
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
  return std::make_shared<models::DualEncoder>(build_image_tower(cfg.model().image(), cfg.train().sync_batch_norm()),
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
    parts.push_back(to(to(model->encode_image(to(to(stack_images(batch), device), dtype)), kCPU), DType::F32));
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
    parts.push_back(to(to(model->encode_text(to(enc.input_ids, device), to(enc.attention_mask, device)), kCPU), DType::F32));
  }
  if (was_training) model->train();
  return cat(parts, 0);
}

DType config_dtype(const config::Config& cfg) {
  const std::string d = cfg.train().has_dtype() ? cfg.train().dtype() : "f32";
  MM_CHECK(d == "f32" || d == "f64", Value, "config", "train.dtype '", d, "': expected f32 or f64");
  return d == "f64" ? DType::F64 : DType::F32;
}

namespace {

// Rows [0, n) embedded in shares: rank r embeds rows [r·per, min(n, (r+1)·per)) with per = ⌈n / w⌉
// (embed(first, count) → [count, d]), pads its share to `per` rows and all_gather assembles them.
// A rank whose share is empty embeds row 0 once to learn d, and sends zeros.
Tensor gather_shares(int64_t n, dist::Communicator& comm,
                     const std::function<Tensor(int64_t first, int64_t count)>& embed) {
  const int64_t w = comm.world(), per = (n + w - 1) / w;
  const int64_t first = std::min(n, comm.rank() * per), count = std::min(n, first + per) - first;
  Tensor mine = count > 0 ? embed(first, count) : embed(0, 1);
  Tensor padded = ops::zeros({per, mine.shape()[1]}, mine.dtype());
  if (count > 0) ops::copy_(ops::slice(padded, 0, 0, count), mine);
  return ops::contiguous(ops::slice(comm.all_gather(padded), 0, 0, n));
}

}  // namespace

SplitEmbeddings embed_split(AlignmentModel& m, const ImageTextData& data, dist::Communicator* comm) {
  SplitEmbeddings e;
  std::vector<int64_t> text_to_image;
  const std::vector<std::string> captions = data.all_captions(&text_to_image);
  e.text_to_image = Tensor::from_vector<int64_t>(text_to_image, {static_cast<int64_t>(text_to_image.size())});
  auto images = [&](int64_t first, int64_t count) {
    return m.embed_images(count, [&](int64_t i) { return data.image(first + i); });
  };
  auto texts = [&](int64_t first, int64_t count) {
    return m.embed_texts(std::vector<std::string>(captions.begin() + first, captions.begin() + first + count));
  };
  if (comm == nullptr || comm->world() == 1) {
    e.images = images(0, data.num_images());
    e.texts = texts(0, static_cast<int64_t>(captions.size()));
  } else {
    e.images = gather_shares(data.num_images(), *comm, images);
    e.texts = gather_shares(static_cast<int64_t>(captions.size()), *comm, texts);
  }
  return e;
}

Tensor score_pairs(AlignmentModel& m, int64_t n_images, const std::function<data::Image(int64_t)>& image,
                   const std::vector<std::string>& captions) {
  if (!m.model->token_mode()) {
    const Tensor i = m.embed_images(n_images, image), t = m.embed_texts(captions);
    NoGradGuard ng;
    const bool was_training = m.model->is_training();
    m.model->eval();
    Tensor scores = to(m.model->pair_scores(to(to(i, m.device), m.dtype), to(to(t, m.device), m.dtype)), kCPU);
    if (was_training) m.model->train();
    return to(scores, DType::F32);
  }
  // A ladder in token mode scores pairs of token sequences: every image's and caption's sequence is
  // kept (on the model's device), then every (image, caption) pair goes through the rung
  // (DualEncoder::token_pair_scores). Captions are padded to max_length so the chunks concatenate.
  NoGradGuard ng;
  const bool was_training = m.model->is_training();
  m.model->eval();
  std::vector<Tensor> values, masks;
  for (int64_t b = 0; b < n_images; b += 64) {
    std::vector<Tensor> batch;
    for (int64_t i = b; i < std::min(n_images, b + 64); ++i) {
      data::SampleRng rng(0, 0, static_cast<uint64_t>(i));  // the evaluation transform draws nothing
      batch.push_back(m.eval_transform->apply(image(i), rng));
    }
    models::Tokens t = m.model->image_tokens(to(to(stack_images(batch), m.device), m.dtype));
    values.push_back(t.values);
    if (t.mask.defined()) masks.push_back(t.mask);
  }
  const models::Tokens images{cat(values, 0), masks.empty() ? Tensor() : cat(masks, 0)};
  values.clear();
  masks.clear();
  for (size_t b = 0; b < captions.size(); b += 256) {
    const std::vector<std::string> part(captions.begin() + static_cast<std::ptrdiff_t>(b),
                                        captions.begin() + static_cast<std::ptrdiff_t>(std::min(captions.size(), b + 256)));
    data::BatchEncoding enc = m.tokenizer->encode_batch(part, m.max_length);
    models::Tokens t = m.model->text_tokens(to(enc.input_ids, m.device), to(enc.attention_mask, m.device));
    values.push_back(t.values);
    if (t.mask.defined()) masks.push_back(t.mask);
  }
  const models::Tokens texts{cat(values, 0), masks.empty() ? Tensor() : cat(masks, 0)};
  Tensor scores = to(to(m.model->token_pair_scores(images, texts), kCPU), DType::F32);
  if (was_training) m.model->train();
  return scores;
}

RetrievalMetrics evaluate_split(AlignmentModel& m, const ImageTextData& data, dist::Communicator* comm) {
  if (m.model->token_mode()) {
    std::vector<int64_t> t2i;
    const std::vector<std::string> captions = data.all_captions(&t2i);
    const Tensor scores = score_pairs(m, data.num_images(), [&](int64_t i) { return data.image(i); }, captions);
    return evaluate_retrieval_scores(scores, Tensor::from_vector<int64_t>(t2i, {static_cast<int64_t>(t2i.size())}));
  }
  const SplitEmbeddings e = embed_split(m, data, comm);
  if (m.model->ladder) {
    const bool was_training = m.model->is_training();
    m.model->eval();
    const Tensor scores = to(m.model->pair_scores(to(to(e.images, m.device), m.dtype), to(to(e.texts, m.device), m.dtype)), kCPU);
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
  m.dtype = config_dtype(m.config);
  m.model->to(m.dtype);
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
