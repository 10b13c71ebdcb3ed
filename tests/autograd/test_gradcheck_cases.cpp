// Every registered gradient-check case (autograd/cases/) passes in f64 with the standard tolerances
// (eps 1e-6, atol 1e-5, rtol 1e-3 unless a case states otherwise).
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "autograd/gradcheck_cases.h"

namespace mm {
namespace {

class Gradcheck : public ::testing::TestWithParam<size_t> {};

TEST_P(Gradcheck, AnalyticMatchesNumeric) {
  const GradcheckCase& c = gradcheck_cases()[GetParam()];
  GradcheckResult r = gradcheck(c.fn, c.make_inputs(), c.options);
  ASSERT_FALSE(r.inputs.empty());
  EXPECT_TRUE(r.passed) << c.op << " [" << c.name << "]: " << r.message;
}

std::string case_name(const ::testing::TestParamInfo<size_t>& info) {
  std::string n = gradcheck_cases()[info.param].op + "_" + std::to_string(info.param);
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(AllOps, Gradcheck, ::testing::Range<size_t>(0, gradcheck_cases().size()), case_name);

// The module cases (losses, ladder rungs, fusion modules), registered by nn/ and models/.
class ModuleGradcheckTest : public ::testing::TestWithParam<size_t> {};

TEST_P(ModuleGradcheckTest, AnalyticMatchesNumeric) {
  const ModuleGradcheckCase& c = module_gradcheck_cases()[GetParam()];
  ModuleGradcheck m = c.make();
  GradcheckResult r = gradcheck(m.fn, m.inputs, c.options);
  ASSERT_FALSE(r.inputs.empty());
  EXPECT_TRUE(r.passed) << c.module << " [" << c.name << "]: " << r.message;
}

std::string module_case_name(const ::testing::TestParamInfo<size_t>& info) {
  std::string n = module_gradcheck_cases()[info.param].module + "_" + std::to_string(info.param);
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ModuleGradcheckTest);
INSTANTIATE_TEST_SUITE_P(AllModules, ModuleGradcheckTest,
                         ::testing::Range<size_t>(0, module_gradcheck_cases().size()), module_case_name);

// gradcheck itself must be able to fail: a function with a deliberately wrong backward.
TEST(GradcheckSelfTest, DetectsAWrongGradient) {
  auto wrong = [](const TensorList& in) {
    Tensor y = ops::unary(OpId::exp, in[0]);
    record("wrong_exp", {in[0]}, {y}, [y = saved(y)](const GradContext& c) {
      return TensorList{ops::binary(OpId::mul, c.grad(), ops::binary(OpId::mul, y, ops::scalar_tensor(1.01, DType::F64, kCPU)))};
    });
    return TensorList{y};
  };
  GradcheckResult r = gradcheck(wrong, {leaf(case_randn({3}, 5))});
  EXPECT_FALSE(r.passed);
  EXPECT_GT(r.inputs[0].max_abs_error, 1e-3);
}

TEST(GradcheckSelfTest, FastModeChecksLargeInputs) {
  GradcheckOptions o;
  o.fast_threshold = 10;
  auto fn = [](const TensorList& in) { return TensorList{ops::unary(OpId::exp, in[0])}; };
  GradcheckResult r = gradcheck(fn, {leaf(case_randn({40}, 6))}, o);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_TRUE(r.inputs[0].fast);
}

}  // namespace
}  // namespace mm
