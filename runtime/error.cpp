#include "runtime/error.h"

namespace mm {

const char* error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::Shape: return "ShapeError";
    case ErrorKind::DType: return "DTypeError";
    case ErrorKind::Device: return "DeviceError";
    case ErrorKind::Index: return "IndexError";
    case ErrorKind::Value: return "ValueError";
    case ErrorKind::Autograd: return "AutogradError";
    case ErrorKind::NotImplemented: return "NotImplementedError";
    case ErrorKind::Runtime: return "RuntimeError";
  }
  return "Error";
}

}  // namespace mm
