// Optimizers from the config's `optim` section (train/config.proto, message Optim): which parameters
// are optimised, in which groups (weight decay, lr multiplier), by which update rule.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"
#include "train/config.h"
#include "train/optim.h"

namespace mm::train {

// true when `name` lies under `prefix` at a '.' boundary: "image" matches "image" and
// "image.conv1.weight" but not "image_proj.weight"; a prefix ending in '.' matches as written.
bool matches_prefix(const std::string& name, const std::string& prefix);

// The model's parameters in groups:
//  - no weight decay for parameters with ≤ 1 dimension (gains, biases, norms) and for any parameter
//    whose name ends in "logit_scale" or "logit_bias" (the contrastive temperature and SigLIP's bias);
//  - the rest get optim.weight_decay (default 0.1), or the matching group rule's weight_decay;
//  - lr_multiplier from the matching group rule (longest prefix wins), default 1;
//  - parameters under a freeze_prefix are left out, unless include_frozen (the trainer rebuilds the
//    groups with include_frozen once optim.freeze_steps have passed).
// Parameters with equal (weight decay, lr multiplier) share a group; groups and their parameters
// keep the model's parameter order. A rule or freeze prefix that matches no parameter, a bad
// multiplier, or nothing left to optimise is an error naming the config field.
std::vector<ParamGroup> make_param_groups(const nn::Module& model, const config::Optim& o, bool include_frozen = false);

// optim.kind: adamw (default) | adam | sgd, with optim.lr, beta1, beta2, eps (adam, adamw) or
// momentum (default 0.9), nesterov (sgd). An unknown kind is an error listing the known ones.
std::unique_ptr<Optimizer> make_optimizer(const config::Optim& o, std::vector<ParamGroup> groups);

}  // namespace mm::train
