// Optimizers over a model's parameters, with torch.optim's semantics: parameter groups with their
// own weight decay, per-parameter state created lazily at the first step that parameter has a
// gradient, parameters without a gradient skipped (their state and step count do not advance).
// The arithmetic is one fused op per parameter (ops/optim.h), on whatever device the parameter is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/module.h"
#include "ops/optim.h"

namespace mm::train {

struct ParamGroup {
  std::vector<std::pair<std::string, Tensor>> params;  // names for state dicts and error messages
  double weight_decay = 0.0;
};

// OpenCLIP's split: gains, biases, norm layers' parameters, embeddings' and logit scales — every
// parameter with fewer than 2 dimensions — get no weight decay; the rest get `weight_decay`.
// Empty groups are dropped.
std::vector<ParamGroup> weight_decay_groups(const nn::Module& model, double weight_decay);

class AdamW {
 public:
  struct Options {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  };
  AdamW(std::vector<ParamGroup> groups, Options options);

  // One update of every parameter that has a gradient. The gradient must match the parameter's
  // shape, dtype and device (it does when it came from backward).
  void step();
  void zero_grad();  // drops every parameter's .grad (set_to_none, PyTorch's default)

  double lr() const { return options_.lr; }
  void set_lr(double lr) { options_.lr = lr; }  // schedules call this before step()
  const std::vector<ParamGroup>& groups() const { return groups_; }

  // Per-parameter state, in group order then parameter order (for checkpoints and tests).
  struct State {
    Tensor exp_avg, exp_avg_sq;  // undefined until the parameter's first step
    int64_t step = 0;
  };
  const std::vector<State>& state() const { return state_; }

 private:
  std::vector<ParamGroup> groups_;
  Options options_;
  std::vector<State> state_;
};

}  // namespace mm::train
