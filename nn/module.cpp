#include "nn/module.h"

#include <map>
#include <set>
#include <sstream>

#include "autograd/grad_mode.h"
#include "nn/trace.h"
#include "ops/copy.h"
#include "runtime/error.h"

namespace mm::nn {

Tensor Module::forward(const Tensor&) {
  fail(ErrorKind::Value, type_name_.c_str(), "this module has no single-tensor forward; call its own forward(...)");
}

Tensor Module::operator()(const Tensor& x) {
  ForwardTrace* trace = ForwardTrace::active();
  if (trace == nullptr) return forward(x);
  trace->enter(this);
  Tensor y = forward(x);
  trace->leave(this, y, flops(x, y));
  return y;
}

void Module::check_name(const std::string& name) const {
  MM_CHECK(!name.empty() && name.find('.') == std::string::npos, Value, type_name_.c_str(), "invalid name '", name,
           "' (non-empty, no '.')");
  auto taken = [&](const auto& v) {
    for (const auto& e : v)
      if (e.first == name) return true;
    return false;
  };
  bool dup = taken(children_);
  for (const Slot& s : params_) dup |= s.name == name;
  for (const Slot& s : buffers_) dup |= s.name == name;
  MM_CHECK(!dup, Value, type_name_.c_str(), "name '", name, "' is registered twice");
}

void Module::register_parameter(const std::string& name, Tensor* slot) {
  check_name(name);
  MM_CHECK(slot != nullptr && slot->defined(), Value, type_name_.c_str(), "parameter '", name, "' is undefined");
  MM_CHECK(is_floating(slot->dtype()), DType, type_name_.c_str(), "parameter '", name, "' must be floating, got ",
           dtype_name(slot->dtype()));
  *slot = slot->detach();  // a leaf, whatever computed its initial value
  slot->set_requires_grad(true);
  params_.push_back({name, slot, true});
}

void Module::register_buffer(const std::string& name, Tensor* slot, bool persistent) {
  check_name(name);
  MM_CHECK(slot != nullptr, Value, type_name_.c_str(), "buffer '", name, "' has no slot");
  buffers_.push_back({name, slot, persistent});
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check_name(name);
  MM_CHECK(child != nullptr, Value, type_name_.c_str(), "child '", name, "' is null");
  children_.emplace_back(name, std::move(child));
}

void Module::collect(const std::string& prefix, bool params, bool buffers, bool persistent_only, bool recurse,
                     NamedTensors& out) const {
  if (params)
    for (const Slot& s : params_) out.emplace_back(prefix + s.name, *s.tensor);
  if (buffers)
    for (const Slot& s : buffers_)
      if (s.tensor->defined() && (s.persistent || !persistent_only)) out.emplace_back(prefix + s.name, *s.tensor);
  if (recurse)
    for (const auto& [name, child] : children_)
      child->collect(prefix + name + ".", params, buffers, persistent_only, true, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect("", true, false, false, recurse, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect("", false, true, false, recurse, out);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (auto& [name, child] : children_)
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters())
    if (!trainable_only || t.requires_grad()) n += t.numel();
  return n;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", true, true, true, true, out);
  for (auto& [name, t] : out) t = t.detach();  // the same memory, without the autograd identity
  return out;
}

namespace {

// Every parameter and persistent buffer slot of the tree, by dotted name.
void slots_of(Module& m, const std::string& prefix, std::map<std::string, std::pair<Tensor*, bool>>& out,
              const std::function<void(Module&, std::map<std::string, std::pair<Tensor*, bool>>&, const std::string&)>&
                  own) {
  own(m, out, prefix);
  for (auto& [name, child] : m.named_children()) slots_of(*child, prefix + name + ".", out, own);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < 50; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > 50) s += ", ... (" + std::to_string(v.size()) + " in all)";
  return s;
}

}  // namespace

LoadResult Module::load_state_dict(const NamedTensors& state, bool strict) {
  // name → (slot, is_parameter) over the whole tree.
  std::map<std::string, std::pair<Tensor*, bool>> slots;
  slots_of(*this, "", slots, [](Module& m, auto& out, const std::string& prefix) {
    for (const Slot& s : m.params_) out[prefix + s.name] = {s.tensor, true};
    for (const Slot& s : m.buffers_)
      if (s.persistent && s.tensor->defined()) out[prefix + s.name] = {s.tensor, false};
  });
  LoadResult r;
  std::vector<std::string> mis_shaped, duplicated;
  std::set<std::string> seen;
  for (const auto& [name, t] : state) {
    if (!seen.insert(name).second) duplicated.push_back(name);
    auto it = slots.find(name);
    if (it == slots.end()) {
      r.unexpected.push_back(name);
    } else if (!t.defined() || t.shape() != it->second.first->shape()) {
      mis_shaped.push_back(name + " (checkpoint " + (t.defined() ? shape_str(t.shape()) : "undefined") +
                           ", module " + shape_str(it->second.first->shape()) + ")");
    }
  }
  for (const auto& [name, slot] : slots)
    if (!seen.count(name)) r.missing.push_back(name);
  const bool bad = !mis_shaped.empty() || !duplicated.empty() || (strict && (!r.missing.empty() || !r.unexpected.empty()));
  if (bad) {
    std::ostringstream msg;
    msg << "state dict does not fit " << type_name_ << ":";
    if (!r.missing.empty() && strict) msg << "\n  missing keys: " << join(r.missing);
    if (!r.unexpected.empty() && strict) msg << "\n  unexpected keys: " << join(r.unexpected);
    if (!mis_shaped.empty()) msg << "\n  mis-shaped keys: " << join(mis_shaped);
    if (!duplicated.empty()) msg << "\n  duplicated keys: " << join(duplicated);
    fail(ErrorKind::Value, "load_state_dict", msg.str());
  }
  // Everything checked: copy (nothing is half-loaded on error).
  NoGradGuard no_grad;
  for (const auto& [name, t] : state) {
    auto it = slots.find(name);
    if (it == slots.end()) continue;
    Tensor& dst = *it->second.first;
    ops::copy_(dst, ops::to_dtype(t, dst.dtype()));
  }
  return r;
}

Module& Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
  return *this;
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [name, child] : children_) child->apply(fn);
  fn(*this);
  return *this;
}

Module& Module::to(Device device) {
  return apply([device](Module& m) {
    for (Slot& s : m.params_) {
      if (s.tensor->device() == device) continue;
      *s.tensor = ops::to_device(s.tensor->detach(), device);
      s.tensor->set_requires_grad(true);
    }
    for (Slot& s : m.buffers_)
      if (s.tensor->defined() && s.tensor->device() != device) *s.tensor = ops::to_device(*s.tensor, device);
  });
}

Module& Module::to(DType dtype) {
  MM_CHECK(is_floating(dtype), DType, "Module.to", "modules convert to floating dtypes only, got ",
           dtype_name(dtype));
  return apply([dtype](Module& m) {
    for (Slot& s : m.params_) {
      if (s.tensor->dtype() == dtype) continue;
      *s.tensor = ops::to_dtype(s.tensor->detach(), dtype);
      s.tensor->set_requires_grad(true);
    }
    for (Slot& s : m.buffers_)
      if (s.tensor->defined() && is_floating(s.tensor->dtype())) *s.tensor = ops::to_dtype(*s.tensor, dtype);
  });
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

void Module::repr_into(std::string& out, int indent) const {
  out += type_name_ + "(" + extra_repr();
  if (children_.empty()) {
    out += ")";
    return;
  }
  out += "\n";
  for (const auto& [name, child] : children_) {
    out += std::string(indent + 2, ' ') + "(" + name + "): ";
    child->repr_into(out, indent + 2);
    out += "\n";
  }
  out += std::string(indent, ' ') + ")";
}

std::string Module::repr() const {
  std::string out;
  repr_into(out, 0);
  return out;
}

}  // namespace mm::nn
