// Tensor: a cheap handle (shared_ptr) to TensorImpl = storage + shape + element strides + offset.
//
// Views (reshape of contiguous data, permute, slice, expand, ...) create a new TensorImpl over the
// same Storage, exactly like PyTorch. Everything about gradients lives in autograd/: the runtime
// only keeps an opaque AutogradMeta pointer per tensor, so this layer compiles without autograd.
// The few autograd methods declared here (requires_grad, grad, backward, ...) are defined in
// autograd/tensor_autograd.cpp.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "runtime/dtype.h"
#include "runtime/error.h"
#include "runtime/storage.h"

namespace mm {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

struct AutogradMeta;  // autograd/autograd_meta.h

std::string shape_str(const Shape& s);  // "[4,3]"
int64_t shape_numel(const Shape& s);
Strides contiguous_strides(const Shape& s);
// Wraps a possibly negative dimension into [0, ndim); throws Index naming op and tensor rank.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

struct TensorImpl {
  Storage storage;
  Shape shape;
  Strides strides;  // in elements, not bytes
  int64_t offset = 0;  // in elements
  DType dtype = DType::F32;
  std::shared_ptr<AutogradMeta> autograd;  // null for tensors that never took part in autograd
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (like a null handle)
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Uninitialised contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = kCPU);
  // A view of `storage` with explicit geometry (checked to lie inside the storage).
  static Tensor make_view(const Storage& storage, Shape shape, Strides strides, int64_t offset, DType dtype);
  // Copies host values into a new CPU tensor (T must match dtype's C++ type).
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

  const Shape& shape() const { return checked().shape; }
  const Strides& strides() const { return checked().strides; }
  int64_t offset() const { return checked().offset; }
  int64_t dim() const { return static_cast<int64_t>(checked().shape.size()); }
  int64_t size(int64_t d) const;    // negative d counts from the end
  int64_t stride(int64_t d) const;
  int64_t numel() const { return shape_numel(checked().shape); }
  DType dtype() const { return checked().dtype; }
  Device device() const { return checked().storage->device(); }
  const Storage& storage() const { return checked().storage; }
  size_t element_size() const { return dtype_size(dtype()); }
  bool is_contiguous() const;

  // Pointer to the first element (storage base + offset).
  void* raw_data() const;
  template <typename T>
  T* data() const {
    MM_CHECK(dtype_of<T>::value == dtype(), DType, "data", "tensor has dtype ", dtype_name(dtype()),
             ", requested ", dtype_name(dtype_of<T>::value));
    return static_cast<T*>(raw_data());
  }
  // Values as host doubles in logical (row-major) order; works for any dtype/device/strides.
  std::vector<double> to_double_vector() const;
  // The single value of a one-element tensor.
  double item() const;
  std::string str() const;  // "Tensor(f32 [2,3] cpu, requires_grad)" plus values when small

  // ---- autograd (defined in autograd/) ----
  bool requires_grad() const;
  // Marks a leaf as requiring gradients. Returns *this for chaining.
  const Tensor& set_requires_grad(bool enabled = true) const;
  bool is_leaf() const;
  Tensor grad() const;             // undefined until a backward pass reaches this leaf
  void set_grad(const Tensor& g) const;
  void zero_grad() const;          // drops .grad (like PyTorch's set_to_none=True)
  // Backpropagates from this tensor. A scalar root uses an implicit gradient of 1.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  // A tensor sharing storage with this one but cut from the graph.
  Tensor detach() const;

 private:
  const TensorImpl& checked() const {
    if (!impl_) fail(ErrorKind::Value, "tensor", "use of an undefined tensor");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
};

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  MM_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), Shape, "from_vector", "got ",
           values.size(), " values for shape ", shape_str(shape), " (", shape_numel(shape), " elements)");
  Tensor t = empty(shape, dtype_of<T>::value, kCPU);
  T* p = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return t;
}

}  // namespace mm
