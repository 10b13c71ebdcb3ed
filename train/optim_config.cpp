#include "train/optim_config.h"

#include <algorithm>
#include <cmath>

namespace mm::train {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

bool matches_prefix(const std::string& name, const std::string& prefix) {
  if (prefix.empty() || name.compare(0, prefix.size(), prefix) != 0) return false;
  return name.size() == prefix.size() || prefix.back() == '.' || name[prefix.size()] == '.';
}

std::vector<ParamGroup> make_param_groups(const nn::Module& model, const config::Optim& o, bool include_frozen) {
  const double base_decay = o.has_weight_decay() ? o.weight_decay() : 0.1;
  MM_CHECK(std::isfinite(base_decay) && base_decay >= 0, Value, "config", "optim.weight_decay must be >= 0, got ",
           base_decay);
  for (int i = 0; i < o.group_size(); ++i) {
    const config::GroupRule& r = o.group(i);
    MM_CHECK(!r.prefix().empty(), Value, "config", "optim.group[", i, "].prefix is empty");
    MM_CHECK(!r.has_lr_multiplier() || (std::isfinite(r.lr_multiplier()) && r.lr_multiplier() >= 0), Value, "config",
             "optim.group[", i, "].lr_multiplier must be >= 0, got ", r.lr_multiplier());
    MM_CHECK(!r.has_weight_decay() || (std::isfinite(r.weight_decay()) && r.weight_decay() >= 0), Value, "config",
             "optim.group[", i, "].weight_decay must be >= 0, got ", r.weight_decay());
  }
  for (int i = 0; i < o.freeze_prefix_size(); ++i)
    MM_CHECK(!o.freeze_prefix(i).empty(), Value, "config", "optim.freeze_prefix[", i, "] is empty");

  std::vector<bool> rule_used(o.group_size(), false), freeze_used(o.freeze_prefix_size(), false);
  std::vector<ParamGroup> groups;
  for (auto& [name, p] : model.named_parameters()) {
    bool frozen = false;
    for (int i = 0; i < o.freeze_prefix_size(); ++i)
      if (matches_prefix(name, o.freeze_prefix(i))) frozen = freeze_used[i] = true;
    const config::GroupRule* rule = nullptr;
    for (int i = 0; i < o.group_size(); ++i)
      if (matches_prefix(name, o.group(i).prefix())) {
        rule_used[i] = true;
        if (!rule || o.group(i).prefix().size() > rule->prefix().size()) rule = &o.group(i);
      }
    if (frozen && !include_frozen) continue;
    const bool no_decay = p.dim() <= 1 || ends_with(name, "logit_scale") || ends_with(name, "logit_bias");
    const double decay = no_decay ? 0.0 : rule && rule->has_weight_decay() ? rule->weight_decay() : base_decay;
    const double mult = rule && rule->has_lr_multiplier() ? rule->lr_multiplier() : 1.0;
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const ParamGroup& x) { return x.weight_decay == decay && x.lr_multiplier == mult; });
    if (g == groups.end()) g = groups.insert(groups.end(), ParamGroup{{}, decay, mult});
    g->params.emplace_back(name, p);
  }
  // A prefix that matches nothing is almost always a typo, which would otherwise silently train (or
  // freeze) the wrong parameters.
  for (int i = 0; i < o.group_size(); ++i)
    MM_CHECK(rule_used[i], Value, "config", "optim.group[", i, "].prefix '", o.group(i).prefix(),
             "' matches no parameter of the model");
  for (int i = 0; i < o.freeze_prefix_size(); ++i)
    MM_CHECK(freeze_used[i], Value, "config", "optim.freeze_prefix[", i, "] '", o.freeze_prefix(i),
             "' matches no parameter of the model");
  MM_CHECK(!groups.empty(), Value, "config", "optim.freeze_prefix leaves no parameter to optimise");
  return groups;
}

std::unique_ptr<Optimizer> make_optimizer(const config::Optim& o, std::vector<ParamGroup> groups) {
  const std::string kind = o.has_kind() ? o.kind() : "adamw";
  const double lr = o.has_lr() ? o.lr() : 1e-3;
  MM_CHECK(std::isfinite(lr) && lr >= 0, Value, "config", "optim.lr must be >= 0, got ", lr);
  if (kind == "sgd") {
    SGD::Options so;
    so.lr = lr;
    so.momentum = o.has_momentum() ? o.momentum() : 0.9;
    so.nesterov = o.nesterov();
    MM_CHECK(so.momentum >= 0 && so.momentum < 1, Value, "config", "optim.momentum must be in [0, 1), got ",
             so.momentum);
    MM_CHECK(!so.nesterov || so.momentum > 0, Value, "config", "optim.nesterov needs optim.momentum > 0");
    return std::make_unique<SGD>(std::move(groups), so);
  }
  MM_CHECK(kind == "adam" || kind == "adamw", Value, "config", "optim.kind '", kind,
           "' is not one of adamw | adam | sgd");
  Adam::Options ao;
  ao.lr = lr;
  if (o.has_beta1()) ao.beta1 = o.beta1();
  if (o.has_beta2()) ao.beta2 = o.beta2();
  if (o.has_eps()) ao.eps = o.eps();
  MM_CHECK(ao.beta1 >= 0 && ao.beta1 < 1, Value, "config", "optim.beta1 must be in [0, 1), got ", ao.beta1);
  MM_CHECK(ao.beta2 >= 0 && ao.beta2 < 1, Value, "config", "optim.beta2 must be in [0, 1), got ", ao.beta2);
  MM_CHECK(ao.eps > 0, Value, "config", "optim.eps must be > 0, got ", ao.eps);
  if (kind == "adam") return std::make_unique<Adam>(std::move(groups), ao);
  return std::make_unique<AdamW>(std::move(groups), ao);
}

}  // namespace mm::train
