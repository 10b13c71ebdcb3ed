// Element types and type promotion.
//
// Promotion follows PyTorch for tensor-tensor operations: bool < u8 < i32 < i64 < f16/bf16 < f32 < f64,
// with f16 ⊔ bf16 = f32 (neither holds the other). Integer ⊔ floating = the floating type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/half.h"

namespace mm {

enum class DType : uint8_t { Bool, U8, I32, I64, F16, BF16, F32, F64 };
inline constexpr int kNumDTypes = 8;

size_t dtype_size(DType t);
const char* dtype_name(DType t);  // "f32", "i64", ...
bool is_floating(DType t);
bool is_integral(DType t);  // includes bool
DType promote_types(DType a, DType b);
// Parses "f32", "float32", "float", ... Throws on unknown names.
DType parse_dtype(const std::string& name);

// Maps a C++ type to its DType tag.
template <typename T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::U8; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::I32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::I64; };
template <> struct dtype_of<Half> { static constexpr DType value = DType::F16; };
template <> struct dtype_of<BFloat16> { static constexpr DType value = DType::BF16; };
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };

}  // namespace mm

// Dispatch helpers: expand a generic lambda body for the runtime dtype with `scalar_t` bound.
// Usage: MM_DISPATCH_FLOATING(t.dtype(), "exp", [&] { loop<scalar_t>(...); });
#define MM_DTYPE_CASE(TAG, TYPE, ...) \
  case ::mm::DType::TAG: {            \
    using scalar_t = TYPE;            \
    return __VA_ARGS__();             \
  }

#define MM_DTYPE_FAIL(dt, opname, what)                                                     \
  default:                                                                                  \
    ::mm::fail(::mm::ErrorKind::DType, opname, "unsupported dtype ", ::mm::dtype_name(dt), \
               " (expected " what ")");

// f32/f64 only: the compute types of CPU math kernels.
#define MM_DISPATCH_FLOAT(dt, opname, ...)                                 \
  [&] {                                                                    \
    switch (dt) {                                                          \
      MM_DTYPE_CASE(F32, float, __VA_ARGS__)                               \
      MM_DTYPE_CASE(F64, double, __VA_ARGS__)                              \
      MM_DTYPE_FAIL(dt, opname, "a floating dtype f32/f64 (f16/bf16 are computed in f32)") \
    }                                                                      \
  }()

// Every dtype.
#define MM_DISPATCH_ALL(dt, opname, ...)                 \
  [&] {                                                  \
    switch (dt) {                                        \
      MM_DTYPE_CASE(Bool, bool, __VA_ARGS__)             \
      MM_DTYPE_CASE(U8, uint8_t, __VA_ARGS__)            \
      MM_DTYPE_CASE(I32, int32_t, __VA_ARGS__)           \
      MM_DTYPE_CASE(I64, int64_t, __VA_ARGS__)           \
      MM_DTYPE_CASE(F16, ::mm::Half, __VA_ARGS__)        \
      MM_DTYPE_CASE(BF16, ::mm::BFloat16, __VA_ARGS__)   \
      MM_DTYPE_CASE(F32, float, __VA_ARGS__)             \
      MM_DTYPE_CASE(F64, double, __VA_ARGS__)            \
    }                                                    \
    ::mm::fail(::mm::ErrorKind::DType, opname, "bad dtype tag"); \
  }()

// Numeric (non-bool, non-16-bit) dtypes: the types arithmetic kernels instantiate.
#define MM_DISPATCH_NUMERIC(dt, opname, ...)             \
  [&] {                                                  \
    switch (dt) {                                        \
      MM_DTYPE_CASE(U8, uint8_t, __VA_ARGS__)            \
      MM_DTYPE_CASE(I32, int32_t, __VA_ARGS__)           \
      MM_DTYPE_CASE(I64, int64_t, __VA_ARGS__)           \
      MM_DTYPE_CASE(F32, float, __VA_ARGS__)             \
      MM_DTYPE_CASE(F64, double, __VA_ARGS__)            \
      MM_DTYPE_FAIL(dt, opname, "u8/i32/i64/f32/f64")    \
    }                                                    \
  }()
