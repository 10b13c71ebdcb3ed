// Front ends of the creation ops: validate the arguments, allocate the output, reserve Philox
// blocks for random ops, call the backend kernel (ops/cpu/creation.cpp, ops/cuda/creation.cu).
#include "ops/creation.h"

#include <cmath>

#include "ops/copy.h"
#include "ops/creation_functors.h"

namespace mm::ops {

namespace {

void check_shape(const Shape& shape, const char* op) {
  for (int64_t s : shape)
    MM_CHECK(s >= 0, Value, op, "negative dimension ", s, " in shape ", shape_str(shape));
}

Generator& generator(Generator* gen) { return gen != nullptr ? *gen : default_generator(); }

// The dtype a random kernel writes: f64 stays f64, everything else is drawn in f32 and converted.
DType draw_dtype(DType dt) { return dt == DType::F64 ? DType::F64 : DType::F32; }

// Blocks `n` draws of the dtype's stream consume (see ops/creation_functors.h).
uint64_t uniform_blocks(DType dt, int64_t n) {
  return dt == DType::F64 ? draw_blocks<UniformF64Draw>(n) : draw_blocks<UniformF32Draw>(n);
}

// The values of p must be probabilities. Checked here, before any kernel runs (kernels never throw
// from parallel regions). On CUDA this copies p to the host: a synchronisation, the price of a clear
// error; dropout-style callers use the scalar overload, which checks one number.
void check_probabilities(const Tensor& p) {
  std::vector<double> v;
  const double* data = nullptr;
  int64_t n = p.numel();
  if (p.device().is_cpu() && p.dtype() == DType::F64 && p.is_contiguous()) {
    data = p.data<double>();
  } else {
    v = p.to_double_vector();
    data = v.data();
  }
  for (int64_t i = 0; i < n; ++i)
    MM_CHECK(data[i] >= 0.0 && data[i] <= 1.0, Value, "bernoulli", "probability ", data[i], " at flat index ", i,
             " of p ", shape_str(p.shape()), " is outside [0, 1]");
}

}  // namespace

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  MM_CHECK(std::isfinite(start) && std::isfinite(end) && std::isfinite(step), Value, "arange",
           "start, end and step must be finite, got ", start, ", ", end, ", ", step);
  MM_CHECK(step != 0.0, Value, "arange", "step must be nonzero");
  MM_CHECK((step > 0 && end >= start) || (step < 0 && end <= start), Value, "arange", "end ", end,
           " lies on the wrong side of start ", start, " for step ", step);
  MM_CHECK(dtype != DType::Bool, DType, "arange", "bool is not a valid dtype for a range");
  const double size = std::ceil((end - start) / step);  // torch.arange's element count
  MM_CHECK(size < 9.0e18, Value, "arange", "too many elements: ", size);
  Tensor out = Tensor::empty({static_cast<int64_t>(size)}, dtype, device);
  if (out.numel() > 0) kernel<ArangeKernel>(OpId::arange, device)(start, step, out);
  return out;
}

Tensor arange(double end, DType dtype, Device device) { return arange(0.0, end, 1.0, dtype, device); }

Tensor eye(int64_t n, int64_t m, DType dtype, Device device) {
  if (m == -1) m = n;
  MM_CHECK(n >= 0 && m >= 0, Value, "eye", "sizes must be non-negative, got n=", n, " m=", m);
  Tensor out = Tensor::empty({n, m}, dtype, device);
  if (out.numel() > 0) kernel<EyeKernel>(OpId::eye, device)(out);
  return out;
}

namespace {
Tensor tri_mask(OpId op, int64_t rows, int64_t cols, int64_t diagonal, Device device) {
  MM_CHECK(rows >= 0 && cols >= 0, Value, op_name(op), "sizes must be non-negative, got rows=", rows, " cols=", cols);
  Tensor out = Tensor::empty({rows, cols}, DType::Bool, device);
  if (out.numel() > 0) kernel<TriMaskKernel>(op, device)(op, diagonal, out);
  return out;
}

// rand and randn: the same kernel signature, different draws.
Tensor random_float(OpId op, const Shape& shape, DType dtype, Device device, Generator* gen) {
  check_shape(shape, op_name(op));
  MM_CHECK(is_floating(dtype), DType, op_name(op), "needs a floating dtype, got ", dtype_name(dtype));
  DType dt = draw_dtype(dtype);
  Tensor out = Tensor::empty(shape, dt, device);
  const int64_t n = out.numel();
  if (n == 0) return to_dtype(out, dtype);
  const uint64_t blocks = op == OpId::rand ? uniform_blocks(dt, n)
                          : dt == DType::F64 ? draw_blocks<NormalF64Draw>(n)
                                             : draw_blocks<NormalF32Draw>(n);
  uint64_t offset = 0;
  const uint64_t seed = generator(gen).reserve(blocks, offset);
  // Significand bits of the requested dtype (f16 11, bf16 8) for rand; f32 keeps all 24.
  const int bits = dtype == DType::F16 ? 11 : dtype == DType::BF16 ? 8 : 24;
  kernel<RandomKernel>(op, device)(op, seed, offset, bits, out);
  return to_dtype(out, dtype);
}
}  // namespace

Tensor tril_mask(int64_t rows, int64_t cols, int64_t diagonal, Device device) {
  return tri_mask(OpId::tril_mask, rows, cols, diagonal, device);
}

Tensor triu_mask(int64_t rows, int64_t cols, int64_t diagonal, Device device) {
  return tri_mask(OpId::triu_mask, rows, cols, diagonal, device);
}

Tensor rand(const Shape& shape, DType dtype, Device device, Generator* gen) {
  return random_float(OpId::rand, shape, dtype, device, gen);
}

Tensor randn(const Shape& shape, DType dtype, Device device, Generator* gen) {
  return random_float(OpId::randn, shape, dtype, device, gen);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Device device, Generator* gen) {
  check_shape(shape, "randint");
  int64_t range = 0;
  MM_CHECK(high > low && !__builtin_sub_overflow(high, low, &range), Value, "randint", "needs low < high, got [",
           low, ", ", high, ")");
  MM_CHECK(range <= (int64_t{1} << 53), Value, "randint", "range high - low = ", range,
           " exceeds 2^53 (draws come from a 53-bit uniform double)");
  Tensor out = Tensor::empty(shape, DType::I64, device);
  if (out.numel() == 0) return out;
  uint64_t offset = 0;
  const uint64_t seed = generator(gen).reserve(draw_blocks<UniformF64Draw>(out.numel()), offset);
  kernel<RandintKernel>(OpId::randint, device)(seed, offset, low, range, out);
  return out;
}

Tensor bernoulli(const Tensor& p, Generator* gen) {
  MM_CHECK(p.defined(), Value, "bernoulli", "undefined probability tensor");
  MM_CHECK(is_floating(p.dtype()), DType, "bernoulli", "p must be floating, got ", dtype_name(p.dtype()));
  check_probabilities(p);
  DType dt = draw_dtype(p.dtype());
  Tensor pc = contiguous(to_dtype(p, dt));
  Tensor out = Tensor::empty(p.shape(), dt, p.device());
  if (out.numel() == 0) return to_dtype(out, p.dtype());
  uint64_t offset = 0;
  const uint64_t seed = generator(gen).reserve(uniform_blocks(dt, out.numel()), offset);
  kernel<BernoulliKernel>(OpId::bernoulli, p.device())(seed, offset, &pc, 0.0, out);
  return to_dtype(out, p.dtype());
}

Tensor bernoulli(const Shape& shape, double p, DType dtype, Device device, Generator* gen) {
  check_shape(shape, "bernoulli");
  MM_CHECK(p >= 0.0 && p <= 1.0, Value, "bernoulli", "probability ", p, " is outside [0, 1]");
  DType dt = draw_dtype(dtype);
  Tensor out = Tensor::empty(shape, dt, device);
  if (out.numel() == 0) return to_dtype(out, dtype);
  uint64_t offset = 0;
  const uint64_t seed = generator(gen).reserve(uniform_blocks(dt, out.numel()), offset);
  kernel<BernoulliKernel>(OpId::bernoulli, device)(seed, offset, nullptr, p, out);
  return to_dtype(out, dtype);
}

}  // namespace mm::ops
