#include "train/towers.h"

#include <map>

#include "models/bert.h"
#include "models/lstm_text.h"
#include "models/mobilenet.h"
#include "models/resnet.h"
#include "models/vit.h"
#include "runtime/error.h"
#include "runtime/safetensors.h"

namespace mm::train {

namespace {

std::shared_ptr<models::ImageTower> build_resnet(const config::ResNet& r, int64_t in_channels, bool sync_bn) {
  models::ResNetConfig c = models::ResNetConfig::named(r.has_preset() ? r.preset() : "resnet18");
  if (r.layers_size() > 0) {
    MM_CHECK(r.layers_size() == 4, Value, "config", "resnet.layers needs 4 values, got ", r.layers_size());
    for (int s = 0; s < 4; ++s) c.layers[s] = r.layers(s);
  }
  if (r.widths_size() > 0) {
    MM_CHECK(r.widths_size() == 4, Value, "config", "resnet.widths needs 4 values, got ", r.widths_size());
    for (int s = 0; s < 4; ++s) c.widths[s] = r.widths(s);
  }
  if (r.has_block()) {
    MM_CHECK(r.block() == "basic" || r.block() == "bottleneck", Value, "config",
             "resnet.block must be basic or bottleneck, got '", r.block(), "'");
    c.block = r.block() == "basic" ? models::ResNetConfig::Block::Basic : models::ResNetConfig::Block::Bottleneck;
  }
  c.in_channels = in_channels;
  c.sync_batch_norm = sync_bn;
  return std::make_shared<models::ResNet>(c);
}

std::shared_ptr<models::ImageTower> build_vit(const config::ViT& v, int64_t image_size, int64_t in_channels) {
  models::ViTConfig c = models::ViTConfig::named(v.has_preset() ? v.preset() : "vit_b_16");
  c.image_size = image_size;
  c.in_channels = in_channels;
  if (v.has_patch_size()) c.patch_size = v.patch_size();
  if (v.has_num_layers()) c.num_layers = v.num_layers();
  if (v.has_num_heads()) c.num_heads = v.num_heads();
  if (v.has_hidden_dim()) c.hidden_dim = v.hidden_dim();
  if (v.has_mlp_dim()) c.mlp_dim = v.mlp_dim();
  if (v.has_pooling()) c.pooling = v.pooling();
  if (v.has_dropout()) c.dropout = v.dropout();
  return std::make_shared<models::VisionTransformer>(c);
}

}  // namespace

std::shared_ptr<models::ImageTower> build_image_tower(const config::ImageTower& c, bool sync_batch_norm) {
  const int64_t image_size = c.has_image_size() ? c.image_size() : 224;
  const int64_t in_channels = c.has_in_channels() ? c.in_channels() : 3;
  switch (c.arch_case()) {
    case config::ImageTower::kResnet: return build_resnet(c.resnet(), in_channels, sync_batch_norm);
    case config::ImageTower::kMobilenetV1: {
      models::MobileNetV1Config m;
      if (c.mobilenet_v1().has_width_multiplier()) m.width_multiplier = c.mobilenet_v1().width_multiplier();
      if (c.mobilenet_v1().has_relu6()) m.relu6 = c.mobilenet_v1().relu6();
      m.in_channels = in_channels;
      m.sync_batch_norm = sync_batch_norm;
      return std::make_shared<models::MobileNetV1>(m);
    }
    case config::ImageTower::kVit: return build_vit(c.vit(), image_size, in_channels);
    default: fail(ErrorKind::Value, "config", "model.image needs one of resnet, mobilenet_v1, vit");
  }
}

std::shared_ptr<models::TextTower> build_text_tower(const config::TextTower& c) {
  if (c.has_bert()) {
    const config::Bert& b = c.bert();
    models::BertConfig m = models::BertConfig::named(b.has_preset() ? b.preset() : "mini");
    if (b.has_vocab_size()) m.vocab_size = b.vocab_size();
    if (b.has_hidden_size()) m.hidden_size = b.hidden_size();
    if (b.has_num_layers()) m.num_hidden_layers = b.num_layers();
    if (b.has_num_heads()) m.num_attention_heads = b.num_heads();
    if (b.has_intermediate_size()) m.intermediate_size = b.intermediate_size();
    if (b.has_max_position_embeddings()) m.max_position_embeddings = b.max_position_embeddings();
    if (b.has_type_vocab_size()) m.type_vocab_size = b.type_vocab_size();
    if (b.has_pad_token_id()) m.pad_token_id = b.pad_token_id();
    if (b.has_roberta()) m.roberta = b.roberta();
    if (b.has_layer_norm_eps()) m.layer_norm_eps = b.layer_norm_eps();
    if (b.has_pooling()) m.pooling = b.pooling();
    if (b.has_dropout()) m.hidden_dropout = m.attention_dropout = b.dropout();
    return std::make_shared<models::BertModel>(m);
  }
  if (c.has_lstm()) {
    const config::LstmText& l = c.lstm();
    models::LSTMTextConfig m;
    if (l.has_vocab_size()) m.vocab_size = l.vocab_size();
    if (l.has_embed_dim()) m.embed_dim = l.embed_dim();
    if (l.has_hidden_size()) m.hidden_size = l.hidden_size();
    if (l.has_num_layers()) m.num_layers = l.num_layers();
    if (l.has_bidirectional()) m.bidirectional = l.bidirectional();
    if (l.has_pooling()) m.pooling = l.pooling();
    if (l.has_padding_idx()) m.padding_idx = l.padding_idx();
    if (l.has_dropout()) m.dropout = l.dropout();
    return std::make_shared<models::LSTMTextEncoder>(m);
  }
  fail(ErrorKind::Value, "config", "model.text needs one of bert, lstm");
}

Towers::Towers(const config::Model& c) : Module("Towers") {
  if (c.has_image()) {
    image = register_module("image", build_image_tower(c.image()));
    if (c.image().has_image_size()) image_size = c.image().image_size();
  }
  if (c.has_text()) {
    text = register_module("text", build_text_tower(c.text()));
    if (c.text().has_max_length()) max_length = c.text().max_length();
  }
  MM_CHECK(image || text, Value, "config", "model has neither an image nor a text tower");
}

namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace

void load_image_tower_weights(models::ImageTower& tower, const std::string& path, const std::string& format) {
  MM_CHECK(format == "torchvision" || format == "mmalign", Value, "weights", path, ": an image tower loads torchvision "
           "or mmalign (the tower's own names) weights, not '", format, "'");
  nn::NamedTensors state;
  for (auto& [k, v] : safetensors::load_all(path))
    if (format == "mmalign" || !tower.is_head_key(k)) state.emplace_back(k, v);
  try {
    tower.load_state_dict(state);
  } catch (const Error& e) {
    throw Error(e.kind(), "weights", path + ": " + e.what());
  }
}

void load_text_tower_weights(models::TextTower& tower, const std::string& path, const std::string& format) {
  MM_CHECK(format == "hf" || format == "mmalign", Value, "weights", path, ": a text tower loads hf or mmalign (the "
           "tower's own names) weights, not '", format, "'");
  nn::NamedTensors state;
  for (auto& [k, v] : safetensors::load_all(path)) {
    std::string name = k;
    if (format == "hf") {
      for (const char* prefix : {"bert.", "roberta."})
        if (starts_with(name, prefix)) name = name.substr(std::string(prefix).size());
      if (starts_with(name, "cls.") || starts_with(name, "lm_head.") || starts_with(name, "classifier.") ||
          starts_with(name, "qa_outputs.") || name == "embeddings.position_ids")
        continue;
    }
    state.emplace_back(name, v);
  }
  try {
    tower.load_state_dict(state);
  } catch (const Error& e) {
    throw Error(e.kind(), "weights", path + ": " + e.what());
  }
}

void load_weights(Towers& towers, const std::string& path, const std::string& format) {
  if (format == "mmalign") {
    std::map<std::string, Tensor> all = safetensors::load_all(path);
    towers.load_state_dict(nn::NamedTensors(all.begin(), all.end()));
    return;
  }
  if (format == "torchvision") {
    MM_CHECK(towers.image != nullptr, Value, "weights", "--weights-format torchvision loads an image tower, and the "
             "config has none");
    load_image_tower_weights(*towers.image, path, format);
    return;
  }
  if (format == "hf") {
    MM_CHECK(towers.text != nullptr, Value, "weights", "--weights-format hf loads a text tower, and the config has none");
    load_text_tower_weights(*towers.text, path, format);
    return;
  }
  fail(ErrorKind::Value, "weights", "unknown --weights-format '", format, "' (mmalign, torchvision, hf)");
}

}  // namespace mm::train
