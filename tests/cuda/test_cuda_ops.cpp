// The GPU suite: every forward case run on CUDA and compared with the CPU result on the same f32
// inputs (contiguous and strided). `ctest -L cuda` runs it; without a CUDA device every test skips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/common/forward_cases.h"

namespace mm::testing {
namespace {

bool cuda_available() { return device_backend_available(DeviceKind::CUDA); }

class CudaVsCpu : public ::testing::TestWithParam<size_t> {};

TEST_P(CudaVsCpu, MatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  const ForwardCase& c = forward_cases()[GetParam()];
  if (!c.cuda) GTEST_SKIP() << c.op << " is CPU-only";
  for (bool strided : {false, true}) {
    if (strided && !c.strided) continue;  // the case's op rejects strided inputs (as in test_forward.cpp)
    TensorList cpu_in, cuda_in;
    for (const Tensor& t : c.make_inputs()) {
      Tensor x = cast_floating(t, DType::F32);
      cpu_in.push_back(x);
      Tensor g = ops::to_device(x, cuda_device(0));
      cuda_in.push_back(strided ? make_strided(g) : g);
    }
    TensorList want = c.run(cpu_in);
    TensorList got = c.run(cuda_in);
    ASSERT_EQ(want.size(), got.size());
    for (size_t k = 0; k < want.size(); ++k) {
      ASSERT_EQ(shape_str(got[k].shape()), shape_str(want[k].shape())) << c.op << " output " << k;
      ASSERT_TRUE(got[k].device().is_cuda()) << c.op << " output " << k << " left the device";
      auto g = got[k].to_double_vector(), w = want[k].to_double_vector();
      for (size_t i = 0; i < w.size(); ++i) {
        if (std::isnan(w[i])) {
          EXPECT_TRUE(std::isnan(g[i]));
          continue;
        }
        // Both sides are f32 computations in different orders: the f32 tolerance the case declares
        // (justified there, e.g. inputs rounded near 1000), never tighter than 1e-5 + 1e-4·|w|.
        double tol = is_floating(want[k].dtype()) ? std::max(1e-5 + 1e-4 * std::fabs(w[i]),
                                                             c.atol_f32 + c.rtol_f32 * std::fabs(w[i]))
                                                  : 0.0;
        ASSERT_LE(std::fabs(g[i] - w[i]), tol) << c.op << " [" << c.name << "] output " << k << " element " << i
                                                << (strided ? " strided" : " contiguous");
      }
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<size_t>& info) {
  std::string n = forward_cases()[info.param].op + "_" + std::to_string(info.param);
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(AllOps, CudaVsCpu, ::testing::Range<size_t>(0, forward_cases().size()), case_name);

}  // namespace
}  // namespace mm::testing
