// Sequential and ModuleList: children named "0", "1", ... as in PyTorch, so their parameters are
// "layer1.0.conv1.weight" in a state dict.
#pragma once

#include <initializer_list>
#include <vector>

#include "nn/module.h"

namespace mm::nn {

// Applies its children in order (each must have the single-tensor forward).
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  Sequential(std::initializer_list<ModulePtr> modules);
  void push_back(ModulePtr m);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return items_.size(); }
  const ModulePtr& operator[](size_t i) const { return items_.at(i); }

 private:
  std::vector<ModulePtr> items_;
};

// Holds children; the owner decides how to call them.
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  void push_back(ModulePtr m);
  size_t size() const { return items_.size(); }
  const ModulePtr& operator[](size_t i) const { return items_.at(i); }
  template <typename M>
  M& at(size_t i) const {
    return dynamic_cast<M&>(*items_.at(i));
  }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<ModulePtr> items_;
};

// A named group of children, for models whose checkpoints nest names ("attention.self.query"):
// the group has no forward of its own; its owner calls the children.
class ModuleDict : public Module {
 public:
  explicit ModuleDict(std::string type_name = "ModuleDict") : Module(std::move(type_name)) {}
  template <typename M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child);
    return child;
  }
};

}  // namespace mm::nn
