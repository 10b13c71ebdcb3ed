// Creation ops (no autograd; none is differentiable): arange, eye, rand, randn, randint, bernoulli,
// tril_mask, triu_mask. full/zeros/ones live in ops/copy.h (they share the fill kernel).
//
// Random ops draw from a Philox generator (runtime/philox.h): each call reserves a private range of
// blocks, so successive calls give disjoint streams, and CPU and CUDA give the same values for the
// same generator state (manual_seed(s) then rand(...) is reproducible on either device).
#pragma once

#include "ops/registry.h"
#include "runtime/philox.h"
#include "runtime/tensor.h"

namespace mm {

// ---- kernel signatures (outputs contiguous, allocated by the front end) ----
// out[i] = start + i*step (computed in double, one rounding), converted to out's dtype (not bool).
using ArangeKernel = void (*)(double start, double step, Tensor& out);
// out [n, m], any dtype: 1 on the main diagonal, 0 elsewhere.
using EyeKernel = void (*)(Tensor& out);
// out bool [rows, cols]; op is tril_mask or triu_mask.
using TriMaskKernel = void (*)(OpId op, int64_t diagonal, Tensor& out);
// op rand or randn; out f32/f64; element i from the Philox stream (seed, blocks from offset).
// rand into f32 keeps only the top `uniform_bits` (<= 24) bits of each uniform, so that f16 (11)
// and bf16 (8) results, converted from it, are exact and stay below 1 (rounding to 16 bits could
// otherwise turn 1 - 2^-24 into 1.0).
using RandomKernel = void (*)(OpId op, uint64_t seed, uint64_t offset, int uniform_bits, Tensor& out);
// out i64: low + floor(u * range), u a 53-bit uniform double; 1 <= range <= 2^53.
using RandintKernel = void (*)(uint64_t seed, uint64_t offset, int64_t low, int64_t range, Tensor& out);
// out f32/f64: 1 where u_i < p_i else 0. p (same dtype, contiguous, out's numel) or, when null,
// p_scalar for every element.
using BernoulliKernel = void (*)(uint64_t seed, uint64_t offset, const Tensor* p, double p_scalar, Tensor& out);

namespace ops {

// Values start, start+step, ... < end (> end for a negative step); ceil((end-start)/step)
// elements, computed in double and converted to dtype (integer dtypes truncate, like a C cast).
Tensor arange(double start, double end, double step = 1, DType dtype = DType::F32, Device device = kCPU);
Tensor arange(double end, DType dtype = DType::F32, Device device = kCPU);
// n x m identity (m = -1: square).
Tensor eye(int64_t n, int64_t m = -1, DType dtype = DType::F32, Device device = kCPU);

// Uniform [0,1) (f32: 24 random bits, f64: 53). f16/bf16 are drawn in f32 and rounded.
// gen = nullptr uses default_generator().
Tensor rand(const Shape& shape, DType dtype = DType::F32, Device device = kCPU, Generator* gen = nullptr);
// Standard normal (Box-Muller). f16/bf16 are drawn in f32 and rounded.
Tensor randn(const Shape& shape, DType dtype = DType::F32, Device device = kCPU, Generator* gen = nullptr);
// Integers uniform in [low, high), i64. high - low must be in [1, 2^53].
Tensor randint(int64_t low, int64_t high, const Shape& shape, Device device = kCPU, Generator* gen = nullptr);
// 0/1 draws with probabilities p (floating, values in [0,1]); result: p's shape and dtype.
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);
// 0/1 draws with one probability p in [0,1], any dtype (drawn in f32 unless dtype is f64).
Tensor bernoulli(const Shape& shape, double p, DType dtype = DType::F32, Device device = kCPU,
                 Generator* gen = nullptr);

// Bool masks of shape [rows, cols], true where torch.tril / torch.triu would keep the element:
// tril: j - i <= diagonal, triu: j - i >= diagonal (diagonal 0 = main, > 0 above, < 0 below).
Tensor tril_mask(int64_t rows, int64_t cols, int64_t diagonal = 0, Device device = kCPU);
Tensor triu_mask(int64_t rows, int64_t cols, int64_t diagonal = 0, Device device = kCPU);

}  // namespace ops
}  // namespace mm
