// The backward engine.
//
// 1. Walk the graph from the root's node and count, for every node, how many edges point at it.
// 2. Run nodes whose incoming gradients are complete, latest-created first (a max-heap on the
//    sequence number, as PyTorch does), so memory from late activations is freed early.
// 3. For each gradient a node returns: reduce it to the input's shape (undoing broadcasting — the
//    one central place this happens), cast to the input's dtype, and add it into the target node's
//    input buffer.
// Saved tensors are released after a node runs unless retain_graph is set.
#include "autograd/engine.h"

#include <atomic>
#include <queue>
#include <unordered_map>

#include "autograd/autocast.h"
#include "autograd/autograd_meta.h"
#include "autograd/grad_mode.h"
#include "ops/copy.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace mm {

namespace {
thread_local bool g_grad_enabled = true;
std::atomic<uint64_t> g_sequence{0};
}  // namespace

bool GradMode::is_enabled() { return g_grad_enabled; }
void GradMode::set_enabled(bool e) { g_grad_enabled = e; }
uint64_t next_sequence_nr() { return g_sequence.fetch_add(1, std::memory_order_relaxed); }

TensorList Node::apply(const TensorList& grads) {
  MM_CHECK(!released, Autograd, name,
           "trying to backward through the graph a second time; its saved tensors were freed after the "
           "first backward (pass retain_graph=true to the first backward call)");
  std::vector<bool> needs(next_edges.size());
  for (size_t i = 0; i < next_edges.size(); ++i) needs[i] = next_edges[i].node != nullptr;
  GradContext ctx{grads, needs};
  return backward(ctx);
}

TensorList AccumulateGrad::apply(const TensorList& grads) {
  std::shared_ptr<TensorImpl> impl = leaf.lock();
  if (!impl) return {};  // the leaf is gone: nothing to accumulate into
  Tensor t(impl);
  AutogradMeta& m = ensure_autograd_meta(t);
  Tensor g = grads[0];
  for (auto& hook : m.hooks) {
    Tensor r = hook(g);
    if (r.defined()) g = r;
  }
  if (!m.grad.defined()) {
    // Keep the incoming buffer when nobody else can see it; otherwise copy, so two leaves never
    // share one gradient buffer (DDP reduces gradients in place).
    // Handles to g's impl: the engine's grads vector and the local g. Any more (the same gradient
    // routed to two inputs, or a tensor the caller passed to backward) and it must be copied.
    bool exclusive = g.impl_ptr().use_count() <= 2 && g.storage().use_count() == 1 && g.is_contiguous() &&
                     g.offset() == 0 && g.storage()->nbytes() == static_cast<size_t>(g.numel()) * g.element_size();
    if (exclusive) {
      m.grad = g.detach();
    } else {
      m.grad = Tensor::empty(g.shape(), g.dtype(), g.device());
      ops::copy_(m.grad, g);
    }
  } else {
    m.grad = ops::binary(OpId::add, m.grad, g);
  }
  for (auto& hook : m.post_accumulate_hooks) hook(t);
  return {};
}

namespace {

struct ReadyCompare {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

// Adds g into slot; the first gradient is stored as is.
void accumulate(Tensor& slot, const Tensor& g) { slot = slot.defined() ? ops::binary(OpId::add, slot, g) : g; }

}  // namespace

// capture: when given, gradients reaching these leaf sinks are stored here instead of into .grad, and
// every other leaf sink is skipped (no .grad change, no hooks) — the semantics of mm::grad().
void execute_backward(const TensorList& roots, const TensorList& root_grads, bool retain_graph,
                      std::unordered_map<Node*, Tensor>* capture) {
  MM_INTERNAL_ASSERT(roots.size() == root_grads.size());
  NoGradGuard no_grad;  // backward formulas do not build graphs (no higher-order gradients)
  // Backward formulas compute in the dtypes their forward saw (autocast chose those already), never
  // re-cast by an enclosing AutocastGuard — as PyTorch, whose backward runs outside autocast.
  AutocastGuard autocast_off(DType::F32);

  std::unordered_map<Node*, int> deps;
  std::unordered_map<Node*, TensorList> buffers;
  std::vector<std::shared_ptr<Node>> keep_alive;  // nodes stay alive while the pass runs

  std::vector<Node*> stack;
  for (size_t r = 0; r < roots.size(); ++r) {
    Edge e = gradient_edge(roots[r]);
    MM_CHECK(e.node != nullptr, Autograd, "backward",
             "tensor does not require grad and has no grad_fn (did you forget set_requires_grad()?)");
    if (!deps.count(e.node.get())) {
      deps[e.node.get()] = 0;
      stack.push_back(e.node.get());
      keep_alive.push_back(e.node);
    }
  }
  // Count incoming edges; a node enters `deps` (and the walk) the first time an edge reaches it.
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.node) continue;
      auto [it, first_visit] = deps.try_emplace(e.node.get(), 0);
      it->second += 1;
      if (first_visit) stack.push_back(e.node.get());
    }
  }
  std::priority_queue<Node*, std::vector<Node*>, ReadyCompare> ready;
  for (size_t r = 0; r < roots.size(); ++r) {
    Edge e = gradient_edge(roots[r]);
    TensorList& buf = buffers[e.node.get()];
    if (buf.size() < e.node->output_meta.size() || buf.empty()) buf.resize(std::max<size_t>(1, e.node->output_meta.size()));
    accumulate(buf[e.input_nr], root_grads[r]);
  }
  for (auto& [n, d] : deps)
    if (d == 0) ready.push(n);

  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    TensorList grads;
    if (auto it = buffers.find(n); it != buffers.end()) {
      grads = std::move(it->second);
      buffers.erase(it);
    }
    bool any = false;
    for (const Tensor& g : grads) any = any || g.defined();
    if (capture != nullptr && dynamic_cast<AccumulateGrad*>(n) != nullptr) {
      auto it = capture->find(n);
      if (it != capture->end() && any) accumulate(it->second, grads[0]);
      continue;  // sinks have no outgoing edges
    }
    TensorList in_grads;
    if (any) {  // a node that received no gradient at all is skipped, with its whole subgraph
      grads.resize(std::max<size_t>(1, n->output_meta.size()));
      for (size_t i = 0; i < n->output_meta.size(); ++i) {
        if (!grads[i].defined()) {
          const TensorMetaInfo& m = n->output_meta[i];
          grads[i] = ops::zeros(m.shape, m.dtype, m.device);
        }
      }
      in_grads = n->apply(grads);
    }
    if (!retain_graph && dynamic_cast<AccumulateGrad*>(n) == nullptr) {
      n->backward = nullptr;  // frees the saved tensors
      n->released = true;
    }
    for (size_t i = 0; i < n->next_edges.size(); ++i) {
      const Edge& e = n->next_edges[i];
      if (!e.node) continue;
      if (i < in_grads.size() && in_grads[i].defined()) {
        Tensor g = in_grads[i];
        const TensorMetaInfo& im = n->input_meta[i];
        if (g.shape() != im.shape) g = ops::sum_to(g, im.shape);
        if (g.dtype() != im.dtype) g = ops::to_dtype(g, im.dtype);
        TensorList& buf = buffers[e.node.get()];
        if (buf.size() < std::max<size_t>(1, e.node->output_meta.size()))
          buf.resize(std::max<size_t>(1, e.node->output_meta.size()));
        accumulate(buf[e.input_nr], g);
      }
      if (--deps[e.node.get()] == 0) ready.push(e.node.get());
    }
  }
}

void run_backward(const TensorList& roots, const TensorList& root_grads, bool retain_graph) {
  execute_backward(roots, root_grads, retain_graph, nullptr);
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                bool retain_graph) {
  std::unordered_map<Node*, Tensor> capture;
  std::vector<std::shared_ptr<Node>> sinks;
  for (const Tensor& in : inputs) {
    MM_CHECK(in.defined() && in.is_leaf() && in.requires_grad(), Autograd, "grad",
             "inputs must be leaves that require grad");
    Edge e = gradient_edge(in);
    sinks.push_back(e.node);  // keeps each sink alive (and identical for repeated inputs)
    capture.emplace(e.node.get(), Tensor());
  }
  execute_backward(outputs, grad_outputs, retain_graph, &capture);
  TensorList result;
  for (const auto& sink : sinks) result.push_back(capture[sink.get()]);
  return result;
}

}  // namespace mm
