// The fusion modules (models/fusion.h) on the CUDA device agree with the CPU: output, input gradients
// and parameter gradients, for token inputs with a text padding mask. Skips without a device.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "models/fusion.h"
#include "ops/copy.h"
#include "ops/creation.h"

namespace mm::models {
namespace {

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_TRUE(got.defined() && want.defined()) << what;
  auto g = ops::to_device(got, kCPU).to_double_vector(), w = want.to_double_vector();
  ASSERT_EQ(g.size(), w.size()) << what;
  for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(g[i], w[i], 1e-5 + 1e-4 * std::fabs(w[i])) << what << " " << i;
}

TEST(FusionOnCuda, EveryFusionMatchesCpu) {
  if (!device_backend_available(DeviceKind::CUDA)) GTEST_SKIP() << "no CUDA device";
  const Device dev = cuda_device(0);
  for (const char* name : {"concat", "weighted_sum", "attention", "hierarchical", "perceiver"}) {
    manual_seed(21);
    auto cpu = make_fusion(name, 8, 2);
    manual_seed(21);
    auto gpu = make_fusion(name, 8, 2);
    gpu->to(dev);
    Tensor image = ops::randn({2, 3, 8}), text = ops::randn({2, 4, 8});
    Tensor mask = Tensor::from_vector<int64_t>({1, 1, 1, 0, 1, 0, 0, 0}, {2, 4});
    Tensor ic = image.detach().set_requires_grad(true), tc = text.detach().set_requires_grad(true);
    Tensor ig = ops::to_device(image, dev).set_requires_grad(true), tg = ops::to_device(text, dev).set_requires_grad(true);
    Tensor yc = cpu->fuse({ic, tc, mask}), yg = gpu->fuse({ig, tg, ops::to_device(mask, dev)});
    expect_close(yg, yc, std::string(name) + " output");
    sum(square(yc)).backward();
    sum(square(yg)).backward();
    expect_close(ig.grad(), ic.grad(), std::string(name) + " d image");
    expect_close(tg.grad(), tc.grad(), std::string(name) + " d text");
    auto pc = cpu->named_parameters(), pg = gpu->named_parameters();
    ASSERT_EQ(pc.size(), pg.size());
    for (size_t i = 0; i < pc.size(); ++i) expect_close(pg[i].second.grad(), pc[i].second.grad(), std::string(name) + " d " + pc[i].first);
  }
}

}  // namespace
}  // namespace mm::models
