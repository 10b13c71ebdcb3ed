// Optimizers over a model's parameters, with torch.optim's semantics: parameter groups with their
// own weight decay and learning-rate multiplier, per-parameter state created lazily at the first step
// that parameter has a gradient, parameters without a gradient skipped (their state and step count do
// not advance). The arithmetic is one fused op per parameter (ops/optim.h), on whatever device the
// parameter is. Building groups and optimizers from a config: train/optim_config.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nn/module.h"
#include "ops/optim.h"

namespace mm::train {

struct ParamGroup {
  std::vector<std::pair<std::string, Tensor>> params;  // names for state dicts and error messages
  double weight_decay = 0.0;
  double lr_multiplier = 1.0;  // this group's lr = the optimizer's base lr × lr_multiplier
};

// OpenCLIP's split: gains, biases, norm layers' parameters, embeddings' and logit scales — every
// parameter with fewer than 2 dimensions — get no weight decay; the rest get `weight_decay`.
// Empty groups are dropped.
std::vector<ParamGroup> weight_decay_groups(const nn::Module& model, double weight_decay);

class Optimizer {
 public:
  // Per-parameter state; only the tensors the optimizer uses are ever defined.
  struct State {
    Tensor exp_avg, exp_avg_sq;  // Adam, AdamW
    Tensor momentum_buffer;      // SGD with momentum
    int64_t step = 0;            // steps this parameter has taken (0: none yet, no state)
  };

  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient. The gradient must match the parameter's
  // shape, dtype and device (it does when it came from backward).
  void step();
  void zero_grad();  // drops every parameter's .grad (set_to_none, PyTorch's default)

  // The base learning rate; each group steps with base × group.lr_multiplier. Schedules call
  // set_lr before step().
  double lr() const { return lr_; }
  void set_lr(double lr);
  const std::vector<ParamGroup>& groups() const { return groups_; }
  const std::string& kind() const { return kind_; }  // "SGD", "Adam", "AdamW"

  // Per-parameter state, in group order then parameter order (for tests).
  const std::vector<State>& state() const { return state_; }

  // Checkpoints. For every parameter that has stepped: "<name>.step" (i64, 0-d) and its state
  // tensors "<name>.exp_avg", "<name>.exp_avg_sq" (Adam, AdamW) or "<name>.momentum_buffer" (SGD
  // with momentum). The tensors are the live state (handles, not copies): write them out before the
  // next step. Hyper-parameters are not included: they come from the config.
  std::map<std::string, Tensor> state_dict() const;
  // Replaces all state with `state` (parameters it does not mention start afresh). Every key, shape,
  // dtype and step is checked first — an error names the offending key and nothing is loaded — and
  // values are copied exactly, so a saved and reloaded run continues bitwise as an uninterrupted one.
  void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  // kind: the name errors use. Parameter names must be unique (they key the state dict).
  Optimizer(std::string kind, std::vector<ParamGroup> groups, double lr);

  // The state tensors this optimizer keeps, as (state-dict suffix, slot). `required`: present
  // whenever the parameter has stepped (load_state_dict checks it).
  struct Buffer {
    const char* name;
    Tensor State::*slot;
    bool required;
  };
  virtual std::vector<Buffer> buffers() const = 0;
  // Updates `param` in place; s.step already counts this step. Creates s's tensors when undefined.
  virtual void update(Tensor& param, const Tensor& grad, State& s, double lr, double weight_decay) = 0;

 private:
  std::string kind_;
  std::vector<ParamGroup> groups_;
  double lr_;
  std::vector<State> state_;
};

// torch.optim.SGD with dampening 0: weight decay is added to the gradient (coupled), momentum
// buffers start as the first step's gradient, nesterov as torch.
class SGD : public Optimizer {
 public:
  struct Options {
    double lr = 1e-3, momentum = 0.0;
    bool nesterov = false;
  };
  SGD(std::vector<ParamGroup> groups, Options options);

 private:
  std::vector<Buffer> buffers() const override;
  void update(Tensor& param, const Tensor& grad, State& s, double lr, double weight_decay) override;
  Options options_;
};

// torch.optim.Adam: weight decay as an L2 term in the gradient (g + λθ).
class Adam : public Optimizer {
 public:
  struct Options {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  };
  Adam(std::vector<ParamGroup> groups, Options options) : Adam("Adam", std::move(groups), options, false) {}

 protected:
  Adam(std::string kind, std::vector<ParamGroup> groups, Options options, bool decoupled_weight_decay);

 private:
  std::vector<Buffer> buffers() const override;
  void update(Tensor& param, const Tensor& grad, State& s, double lr, double weight_decay) override;
  Options options_;
  bool decoupled_;
};

// torch.optim.AdamW: Adam with decoupled weight decay (θ ← θ(1 − lr·λ) before the Adam update).
class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, Options options) : Adam("AdamW", std::move(groups), options, true) {}
};

}  // namespace mm::train
