// The autograd graph: a Node per recorded op, Edges to the nodes that produced its inputs.
//
// Graphs are built as the program runs (define-by-run). Each differentiable output tensor points at
// its Node (AutogradMeta::grad_fn); each Node points at its inputs' nodes, down to AccumulateGrad
// nodes of leaves. Saved tensors are stored detached, so an output never owns the node that owns
// it (no reference cycles).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace mm {

using TensorList = std::vector<Tensor>;
struct Node;

struct Edge {
  std::shared_ptr<Node> node;  // null: this input needs no gradient
  uint32_t input_nr = 0;       // which of node's outputs (grad slots) this edge feeds
};

// What a backward function receives: one gradient per output of the forward op (zeros filled in for
// outputs that got none) and which inputs need a gradient.
struct GradContext {
  const TensorList& grads;
  const std::vector<bool>& needs;
  const Tensor& grad(size_t i = 0) const { return grads[i]; }
  bool needs_grad(size_t i) const { return needs[i]; }
};

// Returns one gradient per input (undefined = none). Shapes may be broadcast shapes: the engine
// reduces them to the input's shape (the one central place where broadcasting is undone).
using BackwardFn = std::function<TensorList(const GradContext&)>;

struct TensorMetaInfo {
  Shape shape;
  DType dtype;
  Device device;
};

struct Node {
  virtual ~Node() = default;
  std::string name;
  uint64_t sequence_nr = 0;               // creation order; later nodes run first
  std::vector<Edge> next_edges;           // one per input of the forward op
  std::vector<TensorMetaInfo> input_meta; // shape/dtype of each input (for reducing gradients)
  std::vector<TensorMetaInfo> output_meta;  // shape/dtype of each output (for zero-filling)
  BackwardFn backward;                    // cleared after use unless retain_graph
  bool released = false;

  virtual TensorList apply(const TensorList& grads);
};

// The sink for a leaf's gradient: adds into leaf.grad and runs the leaf's hooks.
struct AccumulateGrad : Node {
  std::weak_ptr<TensorImpl> leaf;  // weak: the graph must not keep parameters alive
  TensorList apply(const TensorList& grads) override;
};

uint64_t next_sequence_nr();

}  // namespace mm
