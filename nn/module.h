// Module: the unit models are built from, with PyTorch's semantics for what users and checkpoints see.
//
// A module owns named parameters (tensors that require grad), named buffers (state such as BatchNorm's
// running statistics; persistent ones are saved) and named children. Layers keep their tensors in
// ordinary members (`Tensor weight;`) and register the *member's address*, so forward code reads
// `weight` directly while state_dict, to(device) and load_state_dict reach the same slot by name.
// Modules are heap objects held by shared_ptr and never copied or moved (the registered addresses
// would dangle), so every module type derives from Module and is created with std::make_shared.
//
// Names are PyTorch's: "layer1.0.conv1.weight" — children's names joined with '.', in registration
// order; state_dict lists a module's own parameters, then its persistent buffers, then its children's
// entries (torch.nn.Module.state_dict order), so torchvision / Hugging Face checkpoints map 1:1.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/tensor.h"

namespace mm::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// What a non-strict load_state_dict did not match (a strict one throws instead).
struct LoadResult {
  std::vector<std::string> missing;     // expected by the module, absent from the state dict
  std::vector<std::string> unexpected;  // in the state dict, unknown to the module
};

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The single-tensor forward most layers have (Sequential chains it). Modules with other inputs
  // define their own forward overloads; calling this one on them is an error naming the module.
  virtual Tensor forward(const Tensor& x);
  // forward, recorded when a ForwardTrace is active (nn/trace.h).
  Tensor operator()(const Tensor& x);
  // FLOPs of one call that produced `out` from `in` (multiply-adds count 2); 0 unless a layer says.
  virtual double flops(const Tensor& /*in*/, const Tensor& /*out*/) const { return 0.0; }

  const std::string& type_name() const { return type_name_; }
  // One line describing the configuration, as PyTorch's extra_repr: "in_features=4, out_features=2".
  virtual std::string extra_repr() const { return ""; }

  // ---- traversal (dotted names, registration order) ----
  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  // This module (name "") and every descendant, depth first.
  std::vector<std::pair<std::string, Module*>> named_modules();
  int64_t num_parameters(bool trainable_only = false) const;

  // ---- state ----
  NamedTensors state_dict() const;
  // Copies values into the registered tensors (dtype converted, device kept). Shape mismatches are
  // always an error; with strict, so are missing and unexpected keys. One error lists every problem.
  LoadResult load_state_dict(const NamedTensors& state, bool strict = true);

  // ---- modes and placement ----
  Module& train(bool on = true);  // recursive, as torch.nn.Module.train
  Module& eval() { return train(false); }
  bool is_training() const { return training_; }
  Module& to(Device device);  // parameters stay leaves that require grad; gradients are dropped
  Module& to(DType dtype);    // floating parameters and buffers only (integer buffers keep their type)
  void zero_grad();           // drops every parameter's .grad (set_to_none, PyTorch's default)

  // Applies fn to this module and every descendant (children first, as torch.nn.Module.apply).
  Module& apply(const std::function<void(Module&)>& fn);

  // The layer tree as PyTorch prints a module.
  std::string repr() const;

 protected:
  // Registers *slot (already holding its initial value) under `name`; parameters are made leaves
  // that require grad. `slot` must be a member of this module.
  void register_parameter(const std::string& name, Tensor* slot);
  void register_buffer(const std::string& name, Tensor* slot, bool persistent = true);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child);
    return child;
  }
  void add_child(const std::string& name, std::shared_ptr<Module> child);

  bool training_ = true;

 private:
  struct Slot {
    std::string name;
    Tensor* tensor;
    bool persistent;
  };
  void collect(const std::string& prefix, bool params, bool buffers, bool persistent_only, bool recurse,
               NamedTensors& out) const;
  void check_name(const std::string& name) const;
  void repr_into(std::string& out, int indent) const;

  std::string type_name_;
  std::vector<Slot> params_;
  std::vector<Slot> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

using ModulePtr = std::shared_ptr<Module>;

}  // namespace mm::nn
