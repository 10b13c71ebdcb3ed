#include "nn/trace.h"

namespace mm::nn {

namespace {
thread_local ForwardTrace* t_active = nullptr;
}

ForwardTrace::ForwardTrace() : previous_(t_active) { t_active = this; }
ForwardTrace::~ForwardTrace() { t_active = previous_; }
ForwardTrace* ForwardTrace::active() { return t_active; }

void ForwardTrace::enter(const Module* m) { stack_.push_back(m); }

void ForwardTrace::leave(const Module* m, const Tensor& output, double own_flops) {
  stack_.pop_back();
  TraceEntry& e = entries[m];
  if (output.defined()) e.output = output.shape();
  e.flops += own_flops;
  ++e.calls;
}

void ForwardTrace::add_flops(double flops) {
  if (stack_.empty())
    untraced_flops += flops;
  else
    entries[stack_.back()].flops += flops;
}

void trace_flops(double flops) {
  if (ForwardTrace* t = ForwardTrace::active()) t->add_flops(flops);
}

}  // namespace mm::nn
