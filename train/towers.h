// Building the towers a config describes (train/config.proto: Model.image, Model.text), and loading
// their weights from a checkpoint in one of three namings:
//   mmalign     — our own state dict: "image.<tower name>", "text.<tower name>";
//   torchvision — a torchvision model's state dict, for the image tower (its classifier is skipped);
//   hf          — a Hugging Face BertModel/RobertaModel state dict for the text tower; a task model's
//                 prefix ("bert.", "roberta.") is stripped and its task heads ("cls.", "lm_head.",
//                 "classifier.", "qa_outputs.") are skipped.
#pragma once

#include <memory>
#include <string>

#include "models/tower.h"
#include "train/config.pb.h"

namespace mm::train {

namespace config = ::mmalign::config;  // the generated schema types

// sync_batch_norm: SyncBatchNorm layers (train.sync_batch_norm) in the convolutional towers.
std::shared_ptr<models::ImageTower> build_image_tower(const config::ImageTower& c, bool sync_batch_norm = false);
std::shared_ptr<models::TextTower> build_text_tower(const config::TextTower& c);

// Both towers (either may be absent), named "image" and "text" in the mmalign state dict.
class Towers : public nn::Module {
 public:
  explicit Towers(const config::Model& c);
  std::shared_ptr<models::ImageTower> image;
  std::shared_ptr<models::TextTower> text;
  int64_t image_size = 224, max_length = 32;
};

// Loads `path` (safetensors) into `towers` in `format`: mmalign | torchvision | hf. Strict: every
// tensor of the target tower(s) must be present and every checkpoint key (other than a library's
// classifier/task head) must be used.
void load_weights(Towers& towers, const std::string& path, const std::string& format);

// One tower from a pretrained file (a config's `pretrained { path format }`): torchvision or mmalign
// (the tower's own names) for an image tower, hf or mmalign for a text tower; strict, as above.
void load_image_tower_weights(models::ImageTower& tower, const std::string& path, const std::string& format);
void load_text_tower_weights(models::TextTower& tower, const std::string& path, const std::string& format);

}  // namespace mm::train
