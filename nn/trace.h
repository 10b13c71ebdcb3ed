// Recording a forward pass for `mmalign summary`: while a ForwardTrace is alive on this thread, every
// module called through Module::operator() records its output shape and its FLOPs (multiply-adds
// count 2). FLOPs are those of convolutions and linear layers (Module::flops) plus what forward code
// reports with trace_flops (attention's two batched matmuls); element-wise work is not counted.
#pragma once

#include <map>
#include <vector>

#include "runtime/tensor.h"

namespace mm::nn {

class Module;

struct TraceEntry {
  Shape output;         // of the last call
  double flops = 0;     // own FLOPs, summed over calls (children's not included)
  int calls = 0;
};

class ForwardTrace {
 public:
  ForwardTrace();
  ~ForwardTrace();
  ForwardTrace(const ForwardTrace&) = delete;
  ForwardTrace& operator=(const ForwardTrace&) = delete;
  static ForwardTrace* active();

  void enter(const Module* m);
  void leave(const Module* m, const Tensor& output, double own_flops);
  void add_flops(double flops);  // to the innermost module being traced (or to the untraced remainder)

  std::map<const Module*, TraceEntry> entries;
  double untraced_flops = 0;  // reported outside any traced module

 private:
  std::vector<const Module*> stack_;
  ForwardTrace* previous_;
};

// Reports FLOPs computed in a forward (no-op unless a trace is active).
void trace_flops(double flops);

}  // namespace mm::nn
