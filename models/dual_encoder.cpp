#include "models/dual_encoder.h"

#include <cmath>

#include "autograd/functions.h"
#include "nn/layers.h"
#include "nn/losses/clip.h"

namespace mm::models {

namespace {

// Pairs p0 .. p0 + n − 1 of an (images × texts) grid in row-major order, p = i·nt + j: the image
// indices i and the text indices j, as i64 tensors on `device`.
std::pair<Tensor, Tensor> pair_indices(int64_t p0, int64_t n, int64_t nt, Device device) {
  std::vector<int64_t> ii(static_cast<size_t>(n)), jj(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    ii[static_cast<size_t>(k)] = (p0 + k) / nt;
    jj[static_cast<size_t>(k)] = (p0 + k) % nt;
  }
  return {mm::to(Tensor::from_vector(ii, {n}), device), mm::to(Tensor::from_vector(jj, {n}), device)};
}

}  // namespace

std::shared_ptr<nn::Module> make_projection(const std::string& kind, int64_t in, int64_t out, int64_t mlp_hidden) {
  auto seq = std::make_shared<nn::Sequential>();
  if (kind == "linear") {
    seq->push_back(std::make_shared<nn::Linear>(in, out, /*bias=*/false));
  } else if (kind == "linear_ln") {
    seq->push_back(std::make_shared<nn::Linear>(in, out, /*bias=*/false));
    seq->push_back(std::make_shared<nn::LayerNorm>(out));
  } else if (kind == "mlp") {
    const int64_t hidden = mlp_hidden > 0 ? mlp_hidden : in;
    seq->push_back(std::make_shared<nn::Linear>(in, hidden));
    seq->push_back(nn::GELU());
    seq->push_back(std::make_shared<nn::Linear>(hidden, out));
  } else if (kind == "none") {
    seq->push_back(std::make_shared<nn::Identity>());
  } else {
    fail(ErrorKind::Value, "DualEncoder", "unknown projection '", kind, "'; expected linear | linear_ln | mlp | none");
  }
  return seq;
}

DualEncoder::DualEncoder(std::shared_ptr<ImageTower> image_tower, std::shared_ptr<TextTower> text_tower,
                         DualEncoderConfig config)
    : nn::Module("DualEncoder"), config_(std::move(config)) {
  const char* m = "DualEncoder";
  MM_CHECK(image_tower && text_tower, Value, m, "needs both an image and a text tower");
  image = register_module("image", std::move(image_tower));
  text = register_module("text", std::move(text_tower));
  const int64_t di = image->feature_dim(), dt = text->feature_dim();
  if (config_.projection == "none")
    MM_CHECK(di == dt, Shape, m, "projection 'none' needs towers of one width; image features are ", di,
             "-d and text features ", dt, "-d (use a linear projection)");
  else
    MM_CHECK(config_.embed_dim > 0, Value, m, "embed_dim must be positive, got ", config_.embed_dim);
  image_projection = register_module("image_projection",
                                     make_projection(config_.projection, di, config_.embed_dim, config_.mlp_hidden));
  text_projection = register_module("text_projection",
                                    make_projection(config_.projection, dt, config_.embed_dim, config_.mlp_hidden));
  MM_CHECK(config_.fixed_temperature >= 0, Value, m, "fixed_temperature must be > 0 (or 0: learned), got ",
           config_.fixed_temperature);
  MM_CHECK(config_.max_logit_scale >= 0, Value, m, "max_logit_scale must be >= 0, got ", config_.max_logit_scale);
  if (config_.fixed_temperature > 0) {
    logit_scale = ops::full({}, std::log(1.0 / config_.fixed_temperature));
    register_buffer("logit_scale", &logit_scale);
  } else {
    logit_scale = ops::full({}, config_.init_logit_scale);
    register_parameter("logit_scale", &logit_scale);
  }
  if (config_.logit_bias) {
    logit_bias = ops::full({}, config_.init_logit_bias);
    register_parameter("logit_bias", &logit_bias);
  }
  MM_CHECK(config_.ladder_mode == "pair_fused" || config_.ladder_mode == "token", Value, m, "ladder mode '",
           config_.ladder_mode, "': expected pair_fused | token");
  if (!config_.ladder_rung.empty()) {
    const int64_t d = config_.projection == "none" ? di : config_.embed_dim;
    ladder = register_module("ladder", std::make_shared<CrossAttentionHead>(
                                           make_rung(config_.ladder_rung, d, config_.ladder_heads, config_.ladder_dropout),
                                           config_.ladder_temp));
  }
  MM_CHECK(config_.cmpc_classes >= 0, Value, m, "cmpc_classes must be >= 0, got ", config_.cmpc_classes);
  if (config_.cmpc_classes > 0) {
    const int64_t d = config_.projection == "none" ? di : config_.embed_dim;
    cmpc = register_module("cmpc", std::make_shared<nn::CMPCLoss>(d, config_.cmpc_classes));
  }
}

Tensor DualEncoder::project_image(const Tensor& images) { return (*image_projection)(image->features(images)); }

Tensor DualEncoder::project_text(const Tensor& ids, const Tensor& mask) {
  return (*text_projection)(text->features(ids, mask));
}

Tensor DualEncoder::encode_image(const Tensor& images) { return normalize(project_image(images), 2.0, -1); }

Tensor DualEncoder::encode_text(const Tensor& ids, const Tensor& mask) {
  return normalize(project_text(ids, mask), 2.0, -1);
}

Tensor DualEncoder::logits(const Tensor& image_embeds, const Tensor& text_embeds) const {
  if (ladder) return ladder->pair_fused(image_embeds, text_embeds).logits;
  return nn::clip_logits(image_embeds, text_embeds, logit_scale, logit_bias);
}

Tensor DualEncoder::pair_scores(const Tensor& image_embeds, const Tensor& text_embeds, int64_t chunk) {
  NoGradGuard ng;
  if (!ladder) return matmul(image_embeds, transpose(text_embeds, 0, 1));
  MM_CHECK(chunk >= 1, Value, "DualEncoder::pair_scores", "chunk must be >= 1, got ", chunk);
  const int64_t ni = image_embeds.size(0), nt = text_embeds.size(0);
  // Pairs in row-major order p = i·nt + j, `chunk` at a time; each pair's score is the cosine of the
  // rung's two outputs (the head's temperature is a positive divisor: it does not change rankings).
  std::vector<Tensor> parts;
  for (int64_t p0 = 0; p0 < ni * nt; p0 += chunk) {
    const int64_t n = std::min(chunk, ni * nt - p0);
    const auto [pi, pj] = pair_indices(p0, n, nt, image_embeds.device());
    const Tensor I = index_select(image_embeds, 0, pi), T = index_select(text_embeds, 0, pj);
    const HeadOutput h = ladder->pair_fused(I, T);
    parts.push_back(sum(mul(normalize(h.image, 2.0, -1), normalize(h.text, 2.0, -1)), {-1}));
  }
  return reshape(cat(parts, 0), {ni, nt});
}

Tokens DualEncoder::image_tokens(const Tensor& images) {
  Tokens t = image->tokens(images);
  t.values = (*image_projection)(t.values);
  return t;
}

Tokens DualEncoder::text_tokens(const Tensor& ids, const Tensor& mask) {
  Tokens t = text->tokens(ids, mask);
  t.values = (*text_projection)(t.values);
  return t;
}

Tensor DualEncoder::token_logits(const Tokens& image_tokens, const Tokens& text_tokens) {
  MM_CHECK(ladder != nullptr, Value, "DualEncoder::token_logits", "the model has no ladder head");
  return ladder->token(image_tokens.values, text_tokens.values, text_tokens.mask, image_tokens.mask).logits;
}

Tensor DualEncoder::token_pair_scores(const Tokens& image_tokens, const Tokens& text_tokens, int64_t chunk) {
  NoGradGuard ng;
  const char* op = "DualEncoder::token_pair_scores";
  MM_CHECK(ladder != nullptr, Value, op, "the model has no ladder head");
  MM_CHECK(chunk >= 1, Value, op, "chunk must be >= 1, got ", chunk);
  const int64_t ni = image_tokens.values.size(0), nt = text_tokens.values.size(0);
  std::vector<Tensor> parts;
  for (int64_t p0 = 0; p0 < ni * nt; p0 += chunk) {
    const int64_t n = std::min(chunk, ni * nt - p0);
    const auto [pi, pj] = pair_indices(p0, n, nt, image_tokens.values.device());
    auto pick = [](const Tensor& t, const Tensor& idx) { return t.defined() ? index_select(t, 0, idx) : Tensor(); };
    const HeadOutput h = ladder->token(pick(image_tokens.values, pi), pick(text_tokens.values, pj),
                                       pick(text_tokens.mask, pj), pick(image_tokens.mask, pi));
    parts.push_back(sum(mul(normalize(h.image, 2.0, -1), normalize(h.text, 2.0, -1)), {-1}));
  }
  return reshape(cat(parts, 0), {ni, nt});
}

DualEncoderOutput DualEncoder::forward(const Tensor& images, const Tensor& ids, const Tensor& mask) {
  DualEncoderOutput out;
  out.image_embeds = encode_image(images);
  out.text_embeds = encode_text(ids, mask);
  out.logits_per_image = logits(out.image_embeds, out.text_embeds);
  return out;
}

void DualEncoder::clamp_logit_scale() {
  if (config_.fixed_temperature > 0) return;
  NoGradGuard no_grad;
  ops::copy_(logit_scale, clamp(logit_scale.detach(), 0.0, config_.max_logit_scale));
}

double DualEncoder::scale() const { return std::exp(logit_scale.to_double_vector().at(0)); }

}  // namespace mm::models
