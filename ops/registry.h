// The op registry: OpId, OpInfo and the kernel table, all derived from ops/op_table.h.
//
// Dispatch: an op's front end (ops/<family>.cpp) validates arguments, allocates outputs and then
// calls kernel<Signature>(OpId::name, device) to get the backend's function. Backends add their
// functions with MM_REGISTER_KERNEL at static-initialisation time (the library is linked as object
// files, so no registration is dropped). A missing kernel is a clear mm::Error, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/op_table.h"
#include "runtime/device.h"
#include "runtime/error.h"

namespace mm {

enum class OpId : uint16_t {
#define MM_ENUM_ELEMENTWISE(name, F) name,
#define MM_ENUM_OTHER(name, family, arity, grad, impl) name,
  MM_UNARY_OPS(MM_ENUM_ELEMENTWISE) MM_BINARY_OPS(MM_ENUM_ELEMENTWISE) MM_COMPARE_OPS(MM_ENUM_ELEMENTWISE)
      MM_OTHER_OPS(MM_ENUM_OTHER)
#undef MM_ENUM_ELEMENTWISE
#undef MM_ENUM_OTHER
          kCount
};
inline constexpr int kNumOps = static_cast<int>(OpId::kCount);

enum class OpImpl : uint8_t { Kernel, Composite, View };

struct OpInfo {
  OpId id;
  const char* name;
  const char* family;
  int arity;  // -1: variadic
  bool differentiable;
  OpImpl impl;
};

const OpInfo& op_info(OpId id);
const std::vector<OpInfo>& all_ops();
// Looks an op up by name; throws mm::Error(Value) listing close names when unknown.
const OpInfo& op_by_name(const std::string& name);
inline const char* op_name(OpId id) { return op_info(id).name; }

// ---- kernels ----
using AnyKernel = void (*)();  // type-erased function pointer; cast back with kernel<Fn>()

void register_kernel(OpId op, DeviceKind backend, AnyKernel fn);
AnyKernel find_kernel(OpId op, DeviceKind backend);  // nullptr when absent
bool has_kernel(OpId op, DeviceKind backend);

template <typename Fn>
Fn kernel(OpId op, Device device) {
  AnyKernel k = find_kernel(op, device.kind);
  if (k == nullptr)
    fail(ErrorKind::NotImplemented, op_name(op), "no ", device.is_cpu() ? "CPU" : "CUDA",
         " kernel is registered (build with -DMMALIGN_CUDA=ON for CUDA)");
  return reinterpret_cast<Fn>(k);
}

struct KernelRegistrar {
  KernelRegistrar(OpId op, DeviceKind backend, AnyKernel fn) { register_kernel(op, backend, fn); }
};

}  // namespace mm

#define MM_CONCAT_INNER(a, b) a##b
#define MM_CONCAT(a, b) MM_CONCAT_INNER(a, b)
// MM_REGISTER_KERNEL(exp, CPU, &cpu_unary_kernel): registers a backend function for an op.
#define MM_REGISTER_KERNEL(op, backend, fn)                                        \
  static const ::mm::KernelRegistrar MM_CONCAT(mm_kernel_registrar_, __COUNTER__)( \
      ::mm::OpId::op, ::mm::DeviceKind::backend, reinterpret_cast<::mm::AnyKernel>(fn))
