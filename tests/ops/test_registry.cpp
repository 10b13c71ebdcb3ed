// The registry test: the op table is the single source of truth, and this test fails when anything
// derived from it is missing — a kernel, a forward case, a gradient-check case, a CUDA kernel.
#include <gtest/gtest.h>

#include <set>

#include "autograd/gradcheck_cases.h"
#include "ops/registry.h"
#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

TEST(Registry, NamesAreUniqueAndIdsMatchPositions) {
  std::set<std::string> names;
  for (size_t i = 0; i < all_ops().size(); ++i) {
    const OpInfo& op = all_ops()[i];
    EXPECT_EQ(static_cast<size_t>(op.id), i) << op.name;
    EXPECT_TRUE(names.insert(op.name).second) << "duplicate op name " << op.name;
    EXPECT_EQ(&op_by_name(op.name), &op);
  }
  EXPECT_THROW(op_by_name("no_such_op"), Error);
}

TEST(Registry, EveryKernelOpHasACpuKernel) {
  for (const OpInfo& op : all_ops())
    if (op.impl == OpImpl::Kernel) {
      EXPECT_TRUE(has_kernel(op.id, DeviceKind::CPU)) << op.name << " has no CPU kernel";
    }
}

TEST(Registry, EveryKernelOpHasACudaKernelWhenCudaIsBuilt) {
#if defined(MMALIGN_WITH_CUDA)
  for (const OpInfo& op : all_ops())
    if (op.impl == OpImpl::Kernel) {
      EXPECT_TRUE(has_kernel(op.id, DeviceKind::CUDA)) << op.name << " has no CUDA kernel";
    }
#else
  GTEST_SKIP() << "built without CUDA";
#endif
}

TEST(Registry, EveryOpHasAForwardCase) {
  std::set<std::string> covered;
  for (const ForwardCase& c : forward_cases()) {
    EXPECT_NO_THROW(op_by_name(c.op)) << "forward case names unknown op " << c.op;
    covered.insert(c.op);
  }
  for (const OpInfo& op : all_ops()) {
    std::string n = op.name;
    // Backward kernels (unary_backward, conv2d_backward, ...) are tested through their forward op's
    // gradient checks, which run them.
    bool is_backward_kernel = n.size() > 9 && n.compare(n.size() - 9, 9, "_backward") == 0;
    if (!is_backward_kernel) {
      EXPECT_TRUE(covered.count(op.name)) << op.name << " has no forward case (tests/common/forward/" << op.family << ".cpp)";
    }
  }
}

TEST(Registry, EveryDifferentiableOpHasAGradcheckCase) {
  for (const GradcheckCase& c : gradcheck_cases()) {
    const OpInfo& op = op_by_name(c.op);
    EXPECT_TRUE(op.differentiable) << c.op << " has a gradcheck case but is marked NoDiff";
  }
  for (const OpInfo& op : all_ops())
    if (op.differentiable) {
      EXPECT_FALSE(gradcheck_cases_for(op.name).empty())
          << op.name << " is differentiable but has no gradcheck case (autograd/cases/" << op.family << ".cpp)";
    }
}

}  // namespace
}  // namespace mm::testing
