#include "runtime/tensor.h"

#include <cstring>
#include <sstream>

namespace mm {

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ",";
    r += std::to_string(s[i]);
  }
  return r + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Strides contiguous_strides(const Shape& s) {
  Strides st(s.size());
  int64_t acc = 1;
  for (int64_t i = static_cast<int64_t>(s.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s[i] > 0 ? s[i] : 1;
  }
  return st;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  MM_CHECK(dim >= lo && dim <= hi, Index, op, "dimension ", dim, " out of range for a tensor of rank ", ndim,
           " (expected in [", lo, ", ", hi, "])");
  return dim < 0 ? dim + (ndim == 0 ? 1 : ndim) : dim;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape)
    MM_CHECK(d >= 0, Shape, "empty", "negative dimension in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = make_storage(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::make_view(const Storage& storage, Shape shape, Strides strides, int64_t offset, DType dtype) {
  MM_INTERNAL_ASSERT(shape.size() == strides.size());
  // The furthest element the view can touch must lie inside the storage.
  int64_t lo = offset, hi = offset;
  bool empty = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) empty = true;
    if (shape[i] > 0) (strides[i] >= 0 ? hi : lo) += strides[i] * (shape[i] - 1);
  }
  if (!empty) {
    MM_CHECK(lo >= 0 && static_cast<size_t>(hi + 1) * dtype_size(dtype) <= storage->nbytes(), Index, "view",
             "view ", shape_str(shape), " at offset ", offset, " exceeds its storage of ", storage->nbytes(),
             " bytes");
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;  // no element to be out of place (PyTorch agrees)
  const auto& sh = shape();
  const auto& st = strides();
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (sh[i] == 1) continue;  // a size-1 dim's stride never matters
    if (st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(storage()->data()) + offset() * static_cast<int64_t>(element_size());
}

namespace {
double load_any(DType dt, const void* base, int64_t i) {
  switch (dt) {
    case DType::Bool: return static_cast<const bool*>(base)[i] ? 1.0 : 0.0;
    case DType::U8: return static_cast<const uint8_t*>(base)[i];
    case DType::I32: return static_cast<const int32_t*>(base)[i];
    case DType::I64: return static_cast<double>(static_cast<const int64_t*>(base)[i]);
    case DType::F16: return static_cast<float>(static_cast<const Half*>(base)[i]);
    case DType::BF16: return static_cast<float>(static_cast<const BFloat16*>(base)[i]);
    case DType::F32: return static_cast<const float*>(base)[i];
    case DType::F64: return static_cast<const double*>(base)[i];
  }
  return 0;
}
}  // namespace

std::vector<double> Tensor::to_double_vector() const {
  const TensorImpl& t = checked();
  // Bring the whole storage region to the host once if needed, then walk the strides.
  const Storage& st = t.storage;
  std::vector<char> host;
  const char* base = static_cast<const char*>(st->data());
  if (!st->device().is_cpu()) {
    host.resize(st->nbytes());
    copy_bytes(host.data(), kCPU, st->data(), st->device(), st->nbytes());
    base = host.data();
  }
  int64_t n = numel();
  std::vector<double> out(static_cast<size_t>(n));
  if (n == 0) return out;
  std::vector<int64_t> idx(t.shape.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t off = t.offset;
    for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides[d];
    out[static_cast<size_t>(k)] = load_any(t.dtype, base, off);
    for (int64_t d = static_cast<int64_t>(idx.size()) - 1; d >= 0; --d) {
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

double Tensor::item() const {
  MM_CHECK(numel() == 1, Shape, "item", "expected a one-element tensor, got shape ", shape_str(shape()));
  return to_double_vector()[0];
}

std::string Tensor::str() const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor(" << dtype_name(dtype()) << " " << shape_str(shape()) << " " << device().str();
  if (requires_grad()) os << ", requires_grad";
  os << ")";
  if (numel() <= 16) {
    os << " {";
    auto v = to_double_vector();
    for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
    os << "}";
  }
  return os.str();
}

}  // namespace mm
