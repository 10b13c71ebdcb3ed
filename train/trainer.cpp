#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "autograd/functions.h"
#include "data/sample_rng.h"
#include "data/tokenizers/word_vocab.h"
#include "nn/losses/clip.h"
#include "nn/losses/siglip.h"
#include "ops/copy.h"
#include "runtime/parallel.h"
#include "runtime/safetensors.h"
#include "train/eval/retrieval.h"
#include "train/towers.h"

namespace mm::train {

namespace fs = std::filesystem;

namespace {

std::string resolve(const std::string& p, const std::string& base) {
  return p.empty() || fs::path(p).is_absolute() ? p : (fs::path(base) / p).string();
}

// The tokenizer the config names; by default a word vocabulary built from the training captions.
std::unique_ptr<data::Tokenizer> make_caption_tokenizer(const config::TextTower& t, const ImageTextData& train,
                                                        const std::string& base) {
  const config::Tokenizer& c = t.tokenizer();
  const std::string kind = c.has_kind() ? c.kind() : "word";
  if (c.has_vocab()) return data::make_tokenizer(kind, resolve(c.vocab(), base), resolve(c.merges(), base));
  MM_CHECK(kind == "word", Value, "config", "model.text.tokenizer: kind ", kind, " needs a vocab file");
  return std::make_unique<data::WordTokenizer>(
      data::build_word_vocab(train.all_captions(nullptr), c.has_min_count() ? c.min_count() : 1), "training captions");
}

// Copies the examples' [3, S, S] images into one [B, 3, S, S] tensor (plain memcpy: this runs on
// loader threads, where the op library's own thread pool must not be entered).
Tensor stack_images(const std::vector<data::Example>& ex) {
  Shape s = ex.front().image.shape();
  s.insert(s.begin(), static_cast<int64_t>(ex.size()));
  Tensor out = Tensor::empty(s, DType::F32, kCPU);
  const int64_t n = ex.front().image.numel();
  for (size_t i = 0; i < ex.size(); ++i)
    std::memcpy(out.data<float>() + static_cast<int64_t>(i) * n, ex[i].image.data<float>(), sizeof(float) * n);
  return out;
}

}  // namespace

Trainer::Trainer(config::Config config, std::string config_dir, std::string run_dir)
    : config_(std::move(config)), run_dir_(std::move(run_dir)) {
  const config::Train& t = config_.train();
  steps_ = t.has_steps() ? t.steps() : 1000;
  batch_size_ = t.has_batch_size() ? t.batch_size() : 64;
  seed_ = t.has_seed() ? t.seed() : 0;
  MM_CHECK(steps_ >= 1 && batch_size_ >= 2, Value, "config", "train.steps must be >= 1 and train.batch_size >= 2");
  if (t.has_threads()) set_num_threads(t.threads());
  MM_CHECK(config_.has_data(), Value, "config", "no data section");
  MM_CHECK(config_.model().has_image() && config_.model().has_text(), Value, "config",
           "training needs model.image and model.text");
  sources_ = data_sources(config_.data(), config_dir);
  train_data_ = std::make_unique<ImageTextData>(sources_, "train");

  // Tokenizer first: a vocabulary built from the captions sets the text tower's vocab_size.
  config::TextTower* text = config_.mutable_model()->mutable_text();
  tokenizer_ = make_caption_tokenizer(*text, *train_data_, config_dir);
  max_length_ = text->has_max_length() ? text->max_length() : 32;
  if (text->has_lstm() && !text->lstm().has_vocab_size()) text->mutable_lstm()->set_vocab_size(tokenizer_->vocab_size());
  if (text->has_bert() && !text->bert().has_vocab_size() && !text->tokenizer().has_vocab())
    text->mutable_bert()->set_vocab_size(tokenizer_->vocab_size());

  manual_seed(seed_);  // parameter initialisation
  const config::Head& h = config_.head();
  models::DualEncoderConfig dc;
  if (h.has_projection()) dc.projection = h.projection();
  dc.embed_dim = h.has_embed_dim() ? h.embed_dim() : 256;
  if (h.has_init_logit_scale()) dc.init_logit_scale = h.init_logit_scale();
  if (h.has_max_logit_scale()) dc.max_logit_scale = h.max_logit_scale();
  if (h.has_fixed_temperature()) dc.fixed_temperature = h.fixed_temperature();
  for (const config::Loss& l : config_.loss()) {
    MM_CHECK(!l.has_kind() || l.kind() == "clip" || l.kind() == "siglip", Value, "config", "loss.kind '", l.kind(),
             "' is not available to the trainer yet (clip | siglip)");
    if (l.kind() == "siglip") {
      dc.logit_bias = true;
      if (!h.has_init_logit_scale()) dc.init_logit_scale = std::log(10.0);
    }
  }
  model_ = std::make_shared<models::DualEncoder>(build_image_tower(config_.model().image()),
                                                 build_text_tower(config_.model().text()), dc);
  model_->train();

  const config::Optim& o = config_.optim();
  AdamW::Options ao;
  if (o.has_lr()) ao.lr = o.lr();
  if (o.has_beta1()) ao.beta1 = o.beta1();
  if (o.has_beta2()) ao.beta2 = o.beta2();
  if (o.has_eps()) ao.eps = o.eps();
  optimizer_ = std::make_unique<AdamW>(weight_decay_groups(*model_, o.has_weight_decay() ? o.weight_decay() : 0.1), ao);

  data::TransformOptions to;
  to.size = config_.model().image().has_image_size() ? config_.model().image().image_size() : 224;
  to.flip_p = 0.0;  // captions say "left of": a mirrored image would contradict its caption
  to.crop.scale_min = 0.6;
  train_transform_ = std::make_unique<data::TransformPipeline>(to, t.augment());
  eval_transform_ = std::make_unique<data::TransformPipeline>(to, false);

  data::LoaderOptions lo;
  lo.batch_size = batch_size_;
  lo.seed = seed_;
  lo.num_workers = sources_.num_workers;
  lo.bad_samples = sources_.bad_samples;
  auto make = [this](int64_t index, uint64_t epoch) {
    const auto [img, cap] = train_data_->pairs()[static_cast<size_t>(index)];
    data::SampleRng rng(seed_, epoch, static_cast<uint64_t>(index));
    data::Example e;
    e.image = train_transform_->apply(train_data_->image(img), rng);
    e.caption = train_data_->captions(img)[static_cast<size_t>(cap)];
    e.image_index = img;
    return e;
  };
  auto collate = [this](data::Batch& b) {
    b.images = stack_images(b.examples);
    std::vector<std::string> caps;
    for (const auto& e : b.examples) caps.push_back(e.caption);
    data::BatchEncoding enc = tokenizer_->encode_batch(caps, max_length_);
    b.input_ids = enc.input_ids;
    b.attention_mask = enc.attention_mask;
  };
  loader_ = std::make_unique<data::Loader>(static_cast<int64_t>(train_data_->pairs().size()), make, lo, collate);
  loader_->start_epoch(epoch_);

  if (!run_dir_.empty()) {
    fs::create_directories(run_dir_);
    std::ofstream(fs::path(run_dir_) / "config.pbtxt") << config_.DebugString();  // the resolved config
    std::ofstream vocab(fs::path(run_dir_) / "vocab.txt");
    for (int64_t i = 0; i < tokenizer_->vocab_size(); ++i) vocab << tokenizer_->id_to_token(i) << "\n";
  }
}

double Trainer::lr_at(int64_t step) const {
  const config::Optim& o = config_.optim();
  const double lr = o.has_lr() ? o.lr() : 1e-3;
  const int64_t warmup = o.warmup_steps();
  if (step < warmup) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (o.has_schedule() && o.schedule() == "constant") return lr;
  MM_CHECK(!o.has_schedule() || o.schedule() == "cosine", Value, "config", "optim.schedule must be cosine or constant");
  const double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, steps_ - warmup));
  return 0.5 * lr * (1.0 + std::cos(3.14159265358979323846 * std::min(1.0, progress)));
}

double Trainer::step() {
  const auto t0 = std::chrono::steady_clock::now();
  data::Batch b;
  while (!loader_->next(b)) loader_->start_epoch(++epoch_);
  optimizer_->zero_grad();
  models::DualEncoderOutput out = model_->forward(b.images, b.input_ids, b.attention_mask);
  Tensor loss;
  auto accumulate = [&](const Tensor& l, double w) { loss = loss.defined() ? add(loss, mul(l, w)) : mul(l, w); };
  if (config_.loss().empty()) accumulate(nn::clip_loss_from_logits(out.logits_per_image), 1.0);
  for (const config::Loss& l : config_.loss()) {
    const double w = l.has_weight() ? l.weight() : 1.0;
    if (l.kind() == "siglip") {
      accumulate(nn::siglip_loss(out.image_embeds, out.text_embeds, model_->logit_scale, model_->logit_bias), w);
    } else {
      nn::ClipLossOptions co;
      co.label_smoothing = l.label_smoothing();
      co.reduction = l.reduction() == "sum" ? nn::ClipReduction::Sum : nn::ClipReduction::MeanOfDirections;
      accumulate(nn::clip_loss_from_logits(out.logits_per_image, co), w);
    }
  }
  loss.backward();
  if (const double clip = config_.optim().grad_clip(); clip > 0) {
    NoGradGuard ng;
    double sq = 0;
    for (const Tensor& p : model_->parameters())
      if (p.grad().defined()) sq += sum(square(p.grad())).to_double_vector()[0];
    const double norm = std::sqrt(sq);
    if (norm > clip)
      for (const Tensor& p : model_->parameters())
        if (p.grad().defined()) p.set_grad(mul(p.grad(), clip / (norm + 1e-6)));
  }
  const double lr = lr_at(step_);
  optimizer_->set_lr(lr);
  optimizer_->step();
  model_->clamp_logit_scale();
  ++step_;
  const double value = loss.to_double_vector()[0];
  MM_CHECK(std::isfinite(value), Runtime, "train", "the loss is ", value, " at step ", step_);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  history_.push_back({step_, value, lr, model_->scale(), static_cast<double>(b.examples.size()) / secs});
  return value;
}

Tensor Trainer::embed_images(const ImageTextData& d) {
  std::vector<Tensor> chunks;
  const int64_t n = d.num_images(), chunk = 128;
  for (int64_t b = 0; b < n; b += chunk) {
    std::vector<data::Example> ex;
    for (int64_t i = b; i < std::min(n, b + chunk); ++i) {
      data::SampleRng rng(seed_, 0, static_cast<uint64_t>(i));  // eval transforms draw nothing
      data::Example e;
      e.image = eval_transform_->apply(d.image(i), rng);
      ex.push_back(std::move(e));
    }
    chunks.push_back(model_->encode_image(stack_images(ex)));
  }
  return cat(chunks, 0);
}

Tensor Trainer::embed_texts(const std::vector<std::string>& captions) {
  std::vector<Tensor> chunks;
  const size_t chunk = 256;
  for (size_t b = 0; b < captions.size(); b += chunk) {
    std::vector<std::string> part(captions.begin() + static_cast<std::ptrdiff_t>(b),
                                  captions.begin() + static_cast<std::ptrdiff_t>(std::min(captions.size(), b + chunk)));
    data::BatchEncoding enc = tokenizer_->encode_batch(part, max_length_);
    chunks.push_back(model_->encode_text(enc.input_ids, enc.attention_mask));
  }
  return cat(chunks, 0);
}

nlohmann::json Trainer::evaluate(const std::string& split) {
  ImageTextData d(sources_, split);
  NoGradGuard ng;
  model_->eval();
  Tensor images = embed_images(d);
  std::vector<int64_t> text_to_image;
  Tensor texts = embed_texts(d.all_captions(&text_to_image));
  model_->train();
  Tensor t2i = Tensor::from_vector<int64_t>(text_to_image, {static_cast<int64_t>(text_to_image.size())});
  nlohmann::json j = evaluate_retrieval(images, texts, t2i).to_json();
  j["split"] = split;
  j["step"] = step_;
  return j;
}

void Trainer::log_line(const nlohmann::json& j) {
  if (run_dir_.empty()) return;
  std::ofstream f(fs::path(run_dir_) / "metrics.jsonl", std::ios::app);
  f << j.dump() << "\n";
}

void Trainer::run() {
  const config::Train& t = config_.train();
  const int64_t log_every = t.has_log_every() ? t.log_every() : 20;
  const auto start = std::chrono::steady_clock::now();
  while (step_ < steps_) {
    step();
    const StepLog& s = history_.back();
    if (step_ % log_every == 0 || step_ == steps_) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("step %lld/%lld  loss %.4f  lr %.3g  scale %.2f  %.0f pairs/s  %.0f s\n",
                  static_cast<long long>(step_), static_cast<long long>(steps_), s.loss, s.lr, s.logit_scale,
                  s.pairs_per_second, elapsed);
      std::fflush(stdout);
      log_line({{"step", s.step}, {"loss", s.loss}, {"lr", s.lr}, {"logit_scale", s.logit_scale},
                {"pairs_per_second", s.pairs_per_second}, {"elapsed_s", elapsed}});
    }
    if (t.eval_every() > 0 && step_ % t.eval_every() == 0 && step_ < steps_) {
      nlohmann::json e = evaluate(sources_.synthetic || sources_.splits.size() > 1 ? "val" : "train");
      std::printf("eval %s\n", e.dump().c_str());
      log_line(e);
    }
  }
  if (!run_dir_.empty()) safetensors::save((fs::path(run_dir_) / "model.safetensors").string(), model_->state_dict());
}

}  // namespace mm::train
