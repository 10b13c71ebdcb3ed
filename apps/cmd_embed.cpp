// mmalign embed (SPEC §7.1). Two sources of a model:
//  --config F [--weights W --weights-format mmalign|torchvision|hf]: the towers a config describes,
//     applied to --inputs F.safetensors (pixel_values, input_ids, attention_mask). This is how a user
//     checks our towers against their PyTorch models: the same weights and inputs must give the same
//     features (docs/WEIGHTS.md).
//  --checkpoint DIR: a trained dual encoder with its tokenizer and image transform, applied to
//     --images DIR (every image file in it, sorted by name), --captions FILE (captions.csv or one
//     caption per line) or --inputs. The output of --images is a search index for `mmalign search`:
//     its metadata lists the image files.
// Outputs: image_embeds / text_embeds (L2-normalised), or with --raw the towers' pooled features.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "autograd/functions.h"
#include "data/image/decode.h"
#include "data/tokenizers/word_vocab.h"
#include "runtime/error.h"
#include "runtime/safetensors.h"
#include "train/alignment_model.h"
#include "train/config.h"
#include "train/embed.h"
#include "train/towers.h"

namespace mm::app {

namespace fs = std::filesystem;

namespace {

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".ppm" || ext == ".pgm";
}

int from_checkpoint(const EmbedArgs& a) {
  train::AlignmentModel m = train::load_alignment_model(a.checkpoint);
  nn::NamedTensors out;
  std::map<std::string, std::string> meta{{"producer", "mmalign embed"}, {"checkpoint", a.checkpoint},
                                          {"raw", a.raw ? "true" : "false"}};
  if (!a.images.empty()) {
    MM_CHECK(!a.raw, Value, "embed", "--raw goes with --inputs");
    MM_CHECK(fs::is_directory(a.images), Value, "embed", "--images ", a.images, " is not a directory");
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(a.images))
      if (e.is_regular_file() && is_image_file(e.path())) files.push_back(fs::relative(e.path(), a.images).string());
    std::sort(files.begin(), files.end());
    MM_CHECK(!files.empty(), Value, "embed", "--images ", a.images, " holds no .jpg/.png/.bmp/.ppm/.pgm files");
    out.emplace_back("image_embeds", m.embed_images(static_cast<int64_t>(files.size()), [&](int64_t i) {
      return data::decode_image_file((fs::path(a.images) / files[static_cast<size_t>(i)]).string());
    }));
    meta["images_root"] = fs::absolute(a.images).string();
    meta["images"] = nlohmann::json(files).dump();
  } else if (!a.captions.empty()) {
    MM_CHECK(!a.raw, Value, "embed", "--raw goes with --inputs");
    const std::vector<std::string> captions = data::read_captions_file(a.captions);
    MM_CHECK(!captions.empty(), Value, "embed", "--captions ", a.captions, " holds no caption");
    out.emplace_back("text_embeds", m.embed_texts(captions));
    meta["captions"] = nlohmann::json(captions).dump();
  } else {
    MM_CHECK(!a.inputs.empty(), Value, "embed", "give --images DIR, --captions FILE or --inputs F.safetensors");
    const auto in = safetensors::load_all(a.inputs);
    NoGradGuard ng;
    if (in.count("pixel_values")) {
      const Tensor& px = in.at("pixel_values");
      out.emplace_back("image_embeds", a.raw ? m.model->image->features(px) : m.model->encode_image(px));
    }
    if (in.count("input_ids")) {
      MM_CHECK(in.count("attention_mask"), Value, "embed", a.inputs, " has input_ids but no attention_mask");
      const Tensor &ids = in.at("input_ids"), &mask = in.at("attention_mask");
      out.emplace_back("text_embeds", a.raw ? m.model->text->features(ids, mask) : m.model->encode_text(ids, mask));
    }
    MM_CHECK(!out.empty(), Value, "embed", a.inputs, " has neither pixel_values nor input_ids");
  }
  safetensors::save(a.out, out, meta);
  for (auto& [name, t] : out) std::cout << name << " " << shape_str(t.shape()) << "\n";
  return 0;
}

}  // namespace

int run_embed(const EmbedArgs& a) {
  if (!a.checkpoint.empty()) return from_checkpoint(a);
  MM_CHECK(!a.config.empty(), Value, "embed", "give --checkpoint DIR or --config F.pbtxt");
  MM_CHECK(a.images.empty() && a.captions.empty(), Value, "embed",
           "--images and --captions need --checkpoint (a trained model with its tokenizer); with --config use --inputs");
  MM_CHECK(!a.inputs.empty(), Value, "embed", "give --inputs F.safetensors (pixel_values, input_ids, attention_mask)");
  train::Towers towers(train::load_config(a.config).model());
  if (!a.weights.empty()) train::load_weights(towers, a.weights, a.weights_format);
  towers.eval();
  nn::NamedTensors out = train::embed(towers, safetensors::load_all(a.inputs), a.raw, a.inputs);
  safetensors::save(a.out, out, {{"producer", "mmalign embed"}, {"raw", a.raw ? "true" : "false"}});
  for (auto& [name, t] : out) std::cout << name << " " << shape_str(t.shape()) << "\n";
  return 0;
}

}  // namespace mm::app
