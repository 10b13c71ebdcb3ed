#include "train/optim.h"

#include <cmath>
#include <set>

#include "ops/copy.h"

namespace mm::train {

std::vector<ParamGroup> weight_decay_groups(const nn::Module& model, double weight_decay) {
  ParamGroup decay{{}, weight_decay, 1.0}, no_decay{{}, 0.0, 1.0};
  for (auto& [name, p] : model.named_parameters()) (p.dim() < 2 ? no_decay : decay).params.emplace_back(name, p);
  std::vector<ParamGroup> groups;
  for (ParamGroup* g : {&decay, &no_decay})
    if (!g->params.empty()) groups.push_back(std::move(*g));
  return groups;
}

// ---- Optimizer ----------------------------------------------------------------------------------

Optimizer::Optimizer(std::string kind, std::vector<ParamGroup> groups, double lr)
    : kind_(std::move(kind)), groups_(std::move(groups)), lr_(0.0) {
  std::set<std::string> names;
  size_t n = 0;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& g = groups_[gi];
    MM_CHECK(std::isfinite(g.weight_decay) && g.weight_decay >= 0, Value, kind_, "group ", gi,
             ": weight_decay must be finite and >= 0, got ", g.weight_decay);
    MM_CHECK(std::isfinite(g.lr_multiplier) && g.lr_multiplier >= 0, Value, kind_, "group ", gi,
             ": lr_multiplier must be finite and >= 0, got ", g.lr_multiplier);
    for (auto& [name, p] : g.params) {
      MM_CHECK(p.defined() && p.requires_grad(), Value, kind_, "parameter '", name,
               "' is undefined or does not require grad");
      MM_CHECK(names.insert(name).second, Value, kind_, "parameter '", name,
               "' appears twice (names key the optimizer's state dict)");
    }
    n += g.params.size();
  }
  state_.resize(n);
  set_lr(lr);
}

void Optimizer::set_lr(double lr) {
  MM_CHECK(std::isfinite(lr) && lr >= 0, Value, kind_, "lr must be finite and >= 0, got ", lr);
  lr_ = lr;
}

void Optimizer::step() {
  size_t k = 0;
  for (const ParamGroup& g : groups_)
    for (auto& [name, p] : g.params) {
      State& s = state_[k++];
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      Tensor param = p;  // a handle: the update writes the parameter's own storage
      ++s.step;
      try {
        update(param, ops::contiguous(grad), s, lr_ * g.lr_multiplier, g.weight_decay);
      } catch (const Error& e) {
        --s.step;  // the ops check everything before writing: the parameter has not moved
        fail(e.kind(), kind_, "parameter '", name, "': ", e.what());
      }
    }
}

void Optimizer::zero_grad() {
  for (const ParamGroup& g : groups_)
    for (auto& [name, p] : g.params) p.zero_grad();
}

std::map<std::string, Tensor> Optimizer::state_dict() const {
  std::map<std::string, Tensor> out;
  size_t k = 0;
  for (const ParamGroup& g : groups_)
    for (auto& [name, p] : g.params) {
      const State& s = state_[k++];
      if (s.step == 0) continue;
      out[name + ".step"] = Tensor::from_vector<int64_t>({s.step}, {});
      for (const Buffer& b : buffers())
        if ((s.*b.slot).defined()) out[name + "." + b.name] = s.*b.slot;
    }
  return out;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& state) {
  const char* where = "load_state_dict";
  std::map<std::string, size_t> index;  // parameter name → position in state_
  std::vector<const Tensor*> params;
  for (const ParamGroup& g : groups_)
    for (auto& [name, p] : g.params) {
      index[name] = params.size();
      params.push_back(&p);
    }
  const std::vector<Buffer> bufs = buffers();
  std::string expected = "step";
  for (const Buffer& b : bufs) expected += std::string(", ") + b.name;

  // Everything is checked into a new state first, so a bad key loads nothing.
  std::vector<State> next(state_.size());
  std::vector<std::set<std::string>> seen(state_.size());
  for (const auto& [key, t] : state) {
    const size_t dot = key.rfind('.');
    auto it = dot == std::string::npos ? index.end() : index.find(key.substr(0, dot));
    MM_CHECK(it != index.end(), Value, kind_, where, ": key '", key, "' names no parameter of this optimizer");
    const std::string field = key.substr(dot + 1);
    const Tensor& p = *params[it->second];
    State& s = next[it->second];
    MM_CHECK(t.defined(), Value, kind_, where, ": key '", key, "' holds an undefined tensor");
    seen[it->second].insert(field);
    if (field == "step") {
      MM_CHECK(t.dtype() == DType::I64 && t.dim() == 0, Value, kind_, where, ": key '", key,
               "' must be a 0-d i64 tensor, got ", dtype_name(t.dtype()), " ", shape_str(t.shape()));
      s.step = static_cast<int64_t>(t.item());
      MM_CHECK(s.step >= 1, Value, kind_, where, ": key '", key, "' is ", s.step, " (a stored step counts from 1)");
      continue;
    }
    const Buffer* b = nullptr;
    for (const Buffer& c : bufs)
      if (field == c.name) b = &c;
    MM_CHECK(b != nullptr, Value, kind_, where, ": key '", key, "' is not state of ", kind_,
             " (per parameter: ", expected, ")");
    MM_CHECK(t.shape() == p.shape(), Shape, kind_, where, ": key '", key, "' has shape ", shape_str(t.shape()),
             " but the parameter has ", shape_str(p.shape()));
    MM_CHECK(t.dtype() == p.dtype(), DType, kind_, where, ": key '", key, "' is ", dtype_name(t.dtype()),
             " but the parameter is ", dtype_name(p.dtype()), " (state is kept in the parameter's dtype)");
    Tensor copy = Tensor::empty(p.shape(), p.dtype(), p.device());  // never alias the caller's tensors
    ops::copy_(copy, t);
    s.*b->slot = copy;
  }
  for (const auto& [name, i] : index) {
    if (seen[i].empty()) continue;
    MM_CHECK(seen[i].count("step"), Value, kind_, where, ": key '", name, ".step' is missing (", name,
             " has other state)");
    for (const Buffer& b : bufs)
      MM_CHECK(!b.required || seen[i].count(b.name), Value, kind_, where, ": key '", name, ".", b.name,
               "' is missing (", name, " has stepped)");
  }
  state_ = std::move(next);
}

// ---- SGD ----------------------------------------------------------------------------------------

SGD::SGD(std::vector<ParamGroup> groups, Options options)
    : Optimizer("SGD", std::move(groups), options.lr), options_(options) {
  MM_CHECK(options.momentum >= 0 && options.momentum < 1, Value, "SGD", "momentum must be in [0, 1), got ",
           options.momentum);
  MM_CHECK(!options.nesterov || options.momentum > 0, Value, "SGD", "nesterov needs momentum > 0");
}

std::vector<Optimizer::Buffer> SGD::buffers() const {
  if (options_.momentum == 0) return {};
  return {{"momentum_buffer", &State::momentum_buffer, true}};
}

void SGD::update(Tensor& param, const Tensor& grad, State& s, double lr, double weight_decay) {
  SgdHyper h;
  h.lr = lr;
  h.momentum = options_.momentum;
  h.weight_decay = weight_decay;
  h.nesterov = options_.nesterov;
  // torch creates the buffer at the first step the parameter has a gradient: the kernel then sets
  // it to d without reading it (its "first" step is the buffer's, not the parameter's).
  // State is assigned only after the op succeeded (it checks before writing), so a failed step
  // leaves no half-made buffer behind.
  h.step = s.momentum_buffer.defined() ? s.step : 1;
  Tensor buffer = s.momentum_buffer;
  if (options_.momentum != 0 && !buffer.defined()) buffer = Tensor::empty(param.shape(), param.dtype(), param.device());
  ops::sgd_step(param, grad, buffer, h);
  s.momentum_buffer = buffer;
}

// ---- Adam, AdamW --------------------------------------------------------------------------------

Adam::Adam(std::string kind, std::vector<ParamGroup> groups, Options options, bool decoupled_weight_decay)
    : Optimizer(std::move(kind), std::move(groups), options.lr), options_(options), decoupled_(decoupled_weight_decay) {
  MM_CHECK(options.beta1 >= 0 && options.beta1 < 1, Value, this->kind(), "beta1 must be in [0, 1), got ",
           options.beta1);
  MM_CHECK(options.beta2 >= 0 && options.beta2 < 1, Value, this->kind(), "beta2 must be in [0, 1), got ",
           options.beta2);
  MM_CHECK(options.eps > 0, Value, this->kind(), "eps must be > 0, got ", options.eps);
}

std::vector<Optimizer::Buffer> Adam::buffers() const {
  return {{"exp_avg", &State::exp_avg, true}, {"exp_avg_sq", &State::exp_avg_sq, true}};
}

void Adam::update(Tensor& param, const Tensor& grad, State& s, double lr, double weight_decay) {
  Tensor m = s.exp_avg, v = s.exp_avg_sq;
  if (!m.defined()) {
    m = ops::zeros(param.shape(), param.dtype(), param.device());
    v = ops::zeros(param.shape(), param.dtype(), param.device());
  }
  AdamWHyper h{lr, options_.beta1, options_.beta2, options_.eps, weight_decay, s.step, decoupled_};
  ops::adamw_step(param, grad, m, v, h);
  s.exp_avg = m;
  s.exp_avg_sq = v;
}

}  // namespace mm::train
