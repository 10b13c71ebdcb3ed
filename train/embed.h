// Applying the towers to a batch of inputs in Hugging Face naming — pixel_values [N,3,H,W] f32,
// input_ids [N,T] i64, attention_mask [N,T], token_type_ids [N,T] (optional) — giving image_embeds / text_embeds: L2-normalised
// features, or with `raw` the towers' pooled features before projection and normalisation (SPEC §7.1).
// (The projection heads arrive with the dual encoder; until then the embeddings are the normalised
// pooled features.) Runs without gradients, in chunks of 64 rows.
#pragma once

#include <map>
#include <string>

#include "nn/module.h"
#include "train/towers.h"

namespace mm::train {

nn::NamedTensors embed(Towers& towers, const std::map<std::string, Tensor>& inputs, bool raw,
                       const std::string& source = "inputs");

}  // namespace mm::train
