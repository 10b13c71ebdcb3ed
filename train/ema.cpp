#include "train/ema.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "ops/copy.h"
#include "ops/elementwise.h"

namespace mm::train {

namespace {

Tensor clone_as(const Tensor& t, DType dtype) {
  Tensor c = Tensor::empty(t.shape(), dtype, t.device());
  ops::copy_(c, t);
  return c;
}

DType average_dtype(DType t) { return t == DType::F16 || t == DType::BF16 ? DType::F32 : t; }

}  // namespace

Ema::Ema(const nn::Module& model, Options options) : options_(options) {
  MM_CHECK(std::isfinite(options.decay) && options.decay >= 0 && options.decay <= 1, Value, "Ema",
           "decay must be in [0, 1], got ", options.decay);
  std::set<std::string> params;
  for (auto& [name, p] : model.named_parameters()) params.insert(name);
  for (auto& [name, t] : model.state_dict()) {
    const bool param = params.count(name) > 0;
    values_.emplace_back(name, clone_as(t, param ? average_dtype(t.dtype()) : t.dtype()));
    is_param_.push_back(param);
  }
}

double Ema::next_decay() const {
  if (!options_.warmup) return options_.decay;
  const double t = static_cast<double>(num_updates_);
  return std::min(options_.decay, (1.0 + t) / (10.0 + t));
}

void Ema::update(const nn::Module& model) {
  const nn::NamedTensors current = model.state_dict();
  MM_CHECK(current.size() == values_.size(), Value, "Ema", "update: the model has ", current.size(),
           " parameters and buffers, the average ", values_.size(), " (not the model it was made from?)");
  for (size_t i = 0; i < current.size(); ++i) {
    const auto& [name, t] = current[i];
    const Tensor& e = values_[i].second;
    MM_CHECK(name == values_[i].first && t.shape() == e.shape(), Value, "Ema", "update: model entry '", name, "' ",
             shape_str(t.shape()), " does not match the average's '", values_[i].first, "' ", shape_str(e.shape()));
    MM_CHECK(t.device() == e.device(), Device, "Ema", "update: '", name, "' is on ", t.device().str(),
             " but its average on ", e.device().str());
  }
  const double d = next_decay();
  for (size_t i = 0; i < current.size(); ++i) {
    Tensor& e = values_[i].second;
    const Tensor& t = current[i].second;
    if (!is_param_[i]) {
      ops::copy_(e, t);
      continue;
    }
    const Tensor x = ops::to_dtype(t, e.dtype());
    // e·d + θ·(1 − d), each scalar rounded to the EMA's dtype as PyTorch's wrapped numbers are.
    Tensor kept = ops::binary(OpId::mul, e, ops::scalar_tensor(d, e.dtype(), e.device()));
    Tensor fresh = ops::binary(OpId::mul, x, ops::scalar_tensor(1.0 - d, e.dtype(), e.device()));
    ops::copy_(e, ops::binary(OpId::add, kept, fresh));
  }
  ++num_updates_;
}

std::map<std::string, Tensor> Ema::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [name, e] : values_) out["ema." + name] = e;
  out["ema_num_updates"] = Tensor::from_vector<int64_t>({num_updates_}, {});
  return out;
}

void Ema::load_state_dict(const std::map<std::string, Tensor>& state) {
  const char* where = "load_state_dict";
  std::set<std::string> known{"ema_num_updates"};
  for (auto& [name, e] : values_) known.insert("ema." + name);
  for (auto& [key, t] : state)
    MM_CHECK(known.count(key), Value, "Ema", where, ": key '", key, "' is not part of this model's average");
  auto get = [&](const std::string& key) -> const Tensor& {
    auto it = state.find(key);
    MM_CHECK(it != state.end() && it->second.defined(), Value, "Ema", where, ": key '", key, "' is missing");
    return it->second;
  };
  const Tensor& n = get("ema_num_updates");
  MM_CHECK(n.dtype() == DType::I64 && n.dim() == 0 && n.item() >= 0, Value, "Ema", where,
           ": key 'ema_num_updates' must be a 0-d i64 tensor >= 0");
  for (auto& [name, e] : values_) {
    const Tensor& t = get("ema." + name);
    MM_CHECK(t.shape() == e.shape(), Shape, "Ema", where, ": key 'ema.", name, "' has shape ", shape_str(t.shape()),
             " but the average has ", shape_str(e.shape()));
    MM_CHECK(t.dtype() == e.dtype(), DType, "Ema", where, ": key 'ema.", name, "' is ", dtype_name(t.dtype()),
             " but the average is ", dtype_name(e.dtype()));
  }
  for (auto& [name, e] : values_) ops::copy_(e, state.at("ema." + name));
  num_updates_ = static_cast<int64_t>(n.item());
}

void Ema::copy_to(nn::Module& model) const { model.load_state_dict(values_); }

EmaSwap::EmaSwap(const Ema& ema, nn::Module& model) : model_(&model) {
  for (auto& [name, t] : model.state_dict()) saved_.emplace_back(name, clone_as(t, t.dtype()));
  ema.copy_to(model);
}

void EmaSwap::restore() {
  if (!model_) return;
  nn::Module* m = model_;
  model_ = nullptr;
  m->load_state_dict(saved_);
}

EmaSwap::~EmaSwap() {
  try {
    restore();
  } catch (const std::exception& e) {
    // A destructor must not throw; the same names and shapes were read from this model moments ago.
    std::fprintf(stderr, "EmaSwap: could not restore the model's weights: %s\n", e.what());
  }
}

}  // namespace mm::train
