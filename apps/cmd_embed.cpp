// mmalign embed: the towers a config describes (with weights from a checkpoint in mmalign,
// torchvision or Hugging Face naming) applied to inputs from a safetensors file. This is how a user
// checks our towers against their PyTorch models: the same weights and inputs must give the same
// features.
#include <iostream>

#include "apps/commands.h"
#include "runtime/error.h"
#include "runtime/safetensors.h"
#include "train/config.h"
#include "train/embed.h"
#include "train/towers.h"

namespace mm::app {

int run_embed(const EmbedArgs& a) {
  MM_CHECK(a.checkpoint.empty(), Value, "embed", "--checkpoint needs training checkpoints, which this build does not "
           "have yet; use --config with --weights");
  MM_CHECK(!a.config.empty(), Value, "embed", "give --config F.pbtxt");
  MM_CHECK(a.images.empty() && a.captions.empty(), Value, "embed",
           "--images and --captions need the data pipeline, which this build does not have yet; use --inputs");
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
