// Exponential moving average of a model's weights (SPEC §7 "EMA of weights"), for evaluation with
// smoothed weights. After each optimizer step, update(model):
//   parameters:  e ← e·d + θ·(1 − d)   (timm ModelEmaV2's arithmetic, in the EMA's dtype)
//   buffers:     e ← the buffer's value (copied, not averaged)
// d is `decay`, or with warmup min(decay, (1 + t)/(10 + t)) where t counts the updates before this
// one (TensorFlow's ExponentialMovingAverage num_updates rule): early on, when the initial weights
// are far from anything worth keeping, the average follows the model closely.
//
// Why buffers are copied: BatchNorm running statistics are themselves running averages (momentum
// 0.1); averaging them again would add a second, much slower lag behind the weights they belong to.
// Copying keeps the statistics the model last estimated (neither choice is exact for the EMA
// weights; recomputing statistics with them would be).
//
// The average is kept in f32 for f16/bf16 parameters and in the parameter's dtype otherwise (f32 or
// f64), on the parameter's device; nothing is recorded for autograd.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "nn/module.h"

namespace mm::train {

class Ema {
 public:
  struct Options {
    double decay = 0.9999;
    bool warmup = false;
  };
  // Starts the average at the model's current weights and buffers (its state_dict entries).
  Ema(const nn::Module& model, Options options);

  // One update from the model's current values (same names and shapes as at construction).
  void update(const nn::Module& model);
  // The decay the next update uses.
  double next_decay() const;
  int64_t num_updates() const { return num_updates_; }

  // Checkpoints: "ema.<name>" for every parameter and persistent buffer, and "ema_num_updates"
  // (i64, 0-d; the warmup needs it). Tensors are the live average (handles, not copies).
  std::map<std::string, Tensor> state_dict() const;
  // Every key must be present with the shape and dtype this Ema holds; an error names the key and
  // nothing is loaded. Values are copied exactly (a resumed run continues bitwise).
  void load_state_dict(const std::map<std::string, Tensor>& state);

  // Writes the average into the model's parameters and buffers (converted to their dtypes).
  void copy_to(nn::Module& model) const;

  const nn::NamedTensors& values() const { return values_; }

 private:
  Options options_;
  nn::NamedTensors values_;  // the model's state_dict order
  std::vector<bool> is_param_;
  int64_t num_updates_ = 0;
};

// Evaluation with EMA weights: while alive the model holds the average; restore() (or the
// destructor) puts its own weights and buffers back, bit for bit.
//   { EmaSwap swap(ema, model); evaluate(model); }
class EmaSwap {
 public:
  EmaSwap(const Ema& ema, nn::Module& model);
  ~EmaSwap();
  EmaSwap(const EmaSwap&) = delete;
  EmaSwap& operator=(const EmaSwap&) = delete;
  void restore();  // idempotent; errors surface here rather than in the destructor

 private:
  nn::Module* model_;
  nn::NamedTensors saved_;
};

}  // namespace mm::train
