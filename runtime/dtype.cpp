#include "runtime/dtype.h"

#include "runtime/error.h"

namespace mm {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Bool: case DType::U8: return 1;
    case DType::F16: case DType::BF16: return 2;
    case DType::I32: case DType::F32: return 4;
    case DType::I64: case DType::F64: return 8;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::U8: return "u8";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::F32: return "f32";
    case DType::F64: return "f64";
  }
  return "?";
}

bool is_floating(DType t) {
  return t == DType::F16 || t == DType::BF16 || t == DType::F32 || t == DType::F64;
}
bool is_integral(DType t) { return !is_floating(t); }

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if ((a == DType::F16 && b == DType::BF16) || (a == DType::BF16 && b == DType::F16)) return DType::F32;
  // The enum is declared in promotion order, apart from the f16/bf16 pair handled above.
  return static_cast<uint8_t>(a) > static_cast<uint8_t>(b) ? a : b;
}

DType parse_dtype(const std::string& n) {
  if (n == "bool") return DType::Bool;
  if (n == "u8" || n == "uint8") return DType::U8;
  if (n == "i32" || n == "int32" || n == "int") return DType::I32;
  if (n == "i64" || n == "int64" || n == "long") return DType::I64;
  if (n == "f16" || n == "float16" || n == "half") return DType::F16;
  if (n == "bf16" || n == "bfloat16") return DType::BF16;
  if (n == "f32" || n == "float32" || n == "float") return DType::F32;
  if (n == "f64" || n == "float64" || n == "double") return DType::F64;
  fail(ErrorKind::Value, "parse_dtype", "unknown dtype name '", n, "'");
}

}  // namespace mm
