#include "ops/registry.h"

#include <array>

namespace mm {

namespace {
constexpr bool Diff = true;
constexpr bool NoDiff = false;
constexpr OpImpl Kernel = OpImpl::Kernel;
constexpr OpImpl Composite = OpImpl::Composite;
constexpr OpImpl View = OpImpl::View;

std::vector<OpInfo> build_table() {
  std::vector<OpInfo> t;
#define MM_INFO_UNARY(name, F) t.push_back({OpId::name, #name, "unary", 1, Diff, Kernel});
#define MM_INFO_BINARY(name, F) t.push_back({OpId::name, #name, "binary", 2, Diff, Kernel});
#define MM_INFO_COMPARE(name, F) t.push_back({OpId::name, #name, "compare", 2, NoDiff, Kernel});
#define MM_INFO_OTHER(name, family, arity, grad, impl) t.push_back({OpId::name, #name, #family, arity, grad, impl});
  MM_UNARY_OPS(MM_INFO_UNARY)
  MM_BINARY_OPS(MM_INFO_BINARY)
  MM_COMPARE_OPS(MM_INFO_COMPARE)
  MM_OTHER_OPS(MM_INFO_OTHER)
#undef MM_INFO_UNARY
#undef MM_INFO_BINARY
#undef MM_INFO_COMPARE
#undef MM_INFO_OTHER
  (void)View;
  (void)Composite;
  return t;
}

std::array<std::array<AnyKernel, kNumDeviceKinds>, kNumOps>& kernel_table() {
  static std::array<std::array<AnyKernel, kNumDeviceKinds>, kNumOps> table{};
  return table;
}
}  // namespace

const std::vector<OpInfo>& all_ops() {
  static const std::vector<OpInfo> table = build_table();
  return table;
}

const OpInfo& op_info(OpId id) { return all_ops()[static_cast<size_t>(id)]; }

const OpInfo& op_by_name(const std::string& name) {
  for (const OpInfo& i : all_ops())
    if (name == i.name) return i;
  std::string near;
  for (const OpInfo& i : all_ops()) {
    std::string n = i.name;
    if (n.find(name) != std::string::npos || name.find(n) != std::string::npos) near += (near.empty() ? "" : ", ") + n;
  }
  fail(ErrorKind::Value, "registry", "unknown op '", name, "'",
       near.empty() ? std::string(" (see `mmalign gradcheck --list`)") : " (did you mean: " + near + "?)");
}

void register_kernel(OpId op, DeviceKind backend, AnyKernel fn) {
  kernel_table()[static_cast<size_t>(op)][static_cast<size_t>(backend)] = fn;
}

AnyKernel find_kernel(OpId op, DeviceKind backend) {
  return kernel_table()[static_cast<size_t>(op)][static_cast<size_t>(backend)];
}

bool has_kernel(OpId op, DeviceKind backend) { return find_kernel(op, backend) != nullptr; }

}  // namespace mm
