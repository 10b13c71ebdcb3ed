// Forward test cases: every op of the table is run on small inputs and compared with a naive
// double-precision reference written independently in the case (plain loops over std::vector).
//
// One list drives three suites: tests/ops/test_forward.cpp (CPU, f32 and f64, contiguous and
// strided inputs), tests/cuda/test_cuda_ops.cpp (CUDA vs CPU on the same inputs) and the registry
// test (every op needs at least one case). Cases live in tests/common/forward/<family>.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "autograd/functions.h"

namespace mm::testing {

// A reference result: expected shape and row-major values.
struct Ref {
  Shape shape;
  std::vector<double> values;
};

// Host view of an input for reference code: shape + row-major values.
struct HostTensor {
  Shape shape;
  std::vector<double> v;
  explicit HostTensor(const Tensor& t) : shape(t.shape()), v(t.to_double_vector()) {}
  int64_t numel() const { return static_cast<int64_t>(v.size()); }
  // Row-major index of a multi-index.
  int64_t index(const std::vector<int64_t>& idx) const {
    int64_t r = 0;
    for (size_t d = 0; d < shape.size(); ++d) r = r * shape[d] + idx[d];
    return r;
  }
};

struct ForwardCase {
  std::string op;    // the op-table name
  std::string name;  // what the case exercises
  // Inputs in f64 on the CPU (integer inputs — indices, masks — in their own dtype). The harness
  // converts floating inputs to the dtype under test, and to strided layouts / other devices.
  std::function<TensorList()> make_inputs;
  // Runs the op under test; returns its outputs.
  std::function<TensorList(const TensorList&)> run;
  // Independent double-precision reference for each output (integer outputs compared exactly).
  std::function<std::vector<Ref>(const std::vector<HostTensor>&)> reference;
  std::vector<DType> dtypes = {DType::F32, DType::F64};
  double rtol_f32 = 1e-5, atol_f32 = 1e-6;  // f32 results vs the double reference
  double rtol_f64 = 1e-12, atol_f64 = 1e-12;
  bool strided = true;  // also run with non-contiguous copies of every input
  bool cuda = true;     // include in the CUDA-vs-CPU suite (false only for CPU-only ops, with a reason)
};

void register_forward_case(ForwardCase c);
const std::vector<ForwardCase>& forward_cases();

// Deterministic inputs (Philox).
Tensor randn(const Shape& shape, uint64_t seed, double scale = 1.0);
Tensor uniform(const Shape& shape, uint64_t seed, double lo, double hi);
Tensor int_tensor(const std::vector<int64_t>& values, const Shape& shape);
Tensor bool_tensor(const std::vector<bool>& values, const Shape& shape);

// The same values as t, in a non-contiguous layout (every dimension's stride doubled, reversed dim
// order in memory), so kernels see real strides.
Tensor make_strided(const Tensor& t);
// Converts floating tensors to dtype (others unchanged).
Tensor cast_floating(const Tensor& t, DType dtype);

}  // namespace mm::testing
