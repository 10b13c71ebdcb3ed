// Tensor's autograd methods and the plumbing that attaches graph state to tensors.
#include "autograd/autograd_meta.h"
#include "autograd/engine.h"
#include "autograd/record.h"
#include "ops/copy.h"

namespace mm {

AutogradMeta* autograd_meta(const Tensor& t) { return t.impl()->autograd.get(); }

AutogradMeta& ensure_autograd_meta(const Tensor& t) {
  TensorImpl* impl = t.impl();
  if (!impl->autograd) impl->autograd = std::make_shared<AutogradMeta>();
  return *impl->autograd;
}

bool Tensor::requires_grad() const {
  AutogradMeta* m = autograd_meta(*this);
  return m != nullptr && (m->requires_grad || m->grad_fn != nullptr);
}

const Tensor& Tensor::set_requires_grad(bool r) const {
  AutogradMeta* m = autograd_meta(*this);
  MM_CHECK(m == nullptr || m->grad_fn == nullptr, Autograd, "set_requires_grad",
           "only leaf tensors can change requires_grad (this one was produced by '", m ? m->grad_fn->name : "",
           "'); use detach() first");
  MM_CHECK(!r || is_floating(dtype()), Autograd, "set_requires_grad",
           "only floating-point tensors can require gradients, got ", dtype_name(dtype()));
  ensure_autograd_meta(*this).requires_grad = r;
  return *this;
}

bool Tensor::is_leaf() const {
  AutogradMeta* m = autograd_meta(*this);
  return m == nullptr || m->grad_fn == nullptr;
}

Tensor Tensor::grad() const {
  AutogradMeta* m = autograd_meta(*this);
  return m ? m->grad : Tensor();
}

void Tensor::set_grad(const Tensor& g) const {
  if (g.defined())
    MM_CHECK(g.shape() == shape(), Shape, "set_grad", "gradient ", shape_str(g.shape()),
             " does not match tensor ", shape_str(shape()));
  ensure_autograd_meta(*this).grad = g;
}

void Tensor::zero_grad() const {
  if (AutogradMeta* m = autograd_meta(*this)) m->grad = Tensor();
}

Tensor Tensor::detach() const {
  const TensorImpl& src = *impl();
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = src.storage;
  impl->shape = src.shape;
  impl->strides = src.strides;
  impl->offset = src.offset;
  impl->dtype = src.dtype;
  return Tensor(std::move(impl));
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  Tensor g = gradient;
  if (!g.defined()) {
    MM_CHECK(numel() == 1, Autograd, "backward",
             "grad can be implicitly created only for scalar outputs, got shape ", shape_str(shape()),
             " (pass a gradient tensor)");
    g = ops::ones(shape(), dtype(), device());
  }
  MM_CHECK(g.shape() == shape(), Shape, "backward", "gradient ", shape_str(g.shape()), " does not match output ",
           shape_str(shape()));
  run_backward({*this}, {g}, retain_graph);
}

void register_hook(const Tensor& leaf, GradHook hook) {
  MM_CHECK(leaf.is_leaf() && leaf.requires_grad(), Autograd, "register_hook",
           "hooks are supported on leaf tensors that require grad");
  ensure_autograd_meta(leaf).hooks.push_back(std::move(hook));
}

void register_post_accumulate_hook(const Tensor& leaf, PostAccumulateHook hook) {
  MM_CHECK(leaf.is_leaf() && leaf.requires_grad(), Autograd, "register_post_accumulate_hook",
           "hooks are supported on leaf tensors that require grad");
  ensure_autograd_meta(leaf).post_accumulate_hooks.push_back(std::move(hook));
}

Edge gradient_edge(const Tensor& t) {
  AutogradMeta* m = autograd_meta(t);
  if (m == nullptr) return {};
  if (m->grad_fn) return {m->grad_fn, m->output_nr};
  if (!m->requires_grad) return {};
  std::shared_ptr<Node> acc = m->grad_accumulator.lock();
  if (!acc) {
    auto a = std::make_shared<AccumulateGrad>();
    a->name = "AccumulateGrad";
    a->leaf = t.impl_ptr();
    a->sequence_nr = UINT64_MAX;  // sinks run as soon as their gradient is complete
    a->output_meta.push_back({t.shape(), t.dtype(), t.device()});
    m->grad_accumulator = a;
    acc = a;
  }
  return {acc, 0};
}

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool needs_grad(const TensorList& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(const char* name, const TensorList& inputs, const TensorList& outputs, BackwardFn backward) {
  auto node = std::make_shared<Node>();
  node->name = name;
  node->sequence_nr = next_sequence_nr();
  node->backward = std::move(backward);
  for (const Tensor& in : inputs) {
    node->next_edges.push_back(in.defined() ? gradient_edge(in) : Edge{});
    if (in.defined()) node->input_meta.push_back({in.shape(), in.dtype(), in.device()});
    else node->input_meta.push_back({{}, DType::F32, kCPU});
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    node->output_meta.push_back({out.shape(), out.dtype(), out.device()});
    if (!is_floating(out.dtype())) continue;  // integer outputs (indices) carry no gradient
    AutogradMeta& m = ensure_autograd_meta(out);
    m.grad_fn = node;
    m.output_nr = static_cast<uint32_t>(i);
  }
}

}  // namespace mm

