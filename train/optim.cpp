#include "train/optim.h"

#include "ops/copy.h"

namespace mm::train {

std::vector<ParamGroup> weight_decay_groups(const nn::Module& model, double weight_decay) {
  ParamGroup decay{{}, weight_decay}, no_decay{{}, 0.0};
  for (auto& [name, p] : model.named_parameters()) (p.dim() < 2 ? no_decay : decay).params.emplace_back(name, p);
  std::vector<ParamGroup> groups;
  for (ParamGroup* g : {&decay, &no_decay})
    if (!g->params.empty()) groups.push_back(std::move(*g));
  return groups;
}

AdamW::AdamW(std::vector<ParamGroup> groups, Options options) : groups_(std::move(groups)), options_(options) {
  size_t n = 0;
  for (const ParamGroup& g : groups_) {
    for (auto& [name, p] : g.params)
      MM_CHECK(p.defined() && p.requires_grad(), Value, "AdamW", "parameter '", name,
               "' is undefined or does not require grad");
    n += g.params.size();
  }
  state_.resize(n);
}

void AdamW::step() {
  size_t k = 0;
  for (const ParamGroup& g : groups_)
    for (auto& [name, p] : g.params) {
      State& s = state_[k++];
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      if (!s.exp_avg.defined()) {
        s.exp_avg = ops::zeros(p.shape(), p.dtype(), p.device());
        s.exp_avg_sq = ops::zeros(p.shape(), p.dtype(), p.device());
      }
      ++s.step;
      AdamWHyper h{options_.lr, options_.beta1, options_.beta2, options_.eps, g.weight_decay, s.step};
      Tensor param = p;  // a handle: the update writes the parameter's own storage
      try {
        ops::adamw_step(param, ops::contiguous(grad), s.exp_avg, s.exp_avg_sq, h);
      } catch (const Error& e) {
        fail(e.kind(), "AdamW", "parameter '", name, "': ", e.what());
      }
    }
}

void AdamW::zero_grad() {
  for (const ParamGroup& g : groups_)
    for (auto& [name, p] : g.params) p.zero_grad();
}

}  // namespace mm::train
