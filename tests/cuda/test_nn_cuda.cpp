// Modules on the CUDA device: to(cuda) moves every parameter and buffer, and forward, backward and
// BatchNorm's running-statistic updates agree with the CPU. Skips without a device.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "nn/containers.h"
#include "nn/layers.h"
#include "ops/copy.h"
#include "ops/creation.h"

namespace mm::nn {
namespace {

std::shared_ptr<Sequential> make_net() {
  manual_seed(11);
  return std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      std::make_shared<Conv2d>(3, 4, 3, Conv2dOptions{.padding = {1, 1}}), std::make_shared<BatchNorm2d>(4), ReLU(),
      std::make_shared<MaxPool2d>(2), std::make_shared<Flatten>(), std::make_shared<Linear>(4 * 3 * 3, 5)});
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  auto g = ops::to_device(got, kCPU).to_double_vector(), w = want.to_double_vector();
  ASSERT_EQ(g.size(), w.size()) << what;
  for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(g[i], w[i], 1e-5 + 1e-4 * std::fabs(w[i])) << what << " " << i;
}

TEST(NnOnCuda, TrainingStepMatchesCpu) {
  if (!device_backend_available(DeviceKind::CUDA)) GTEST_SKIP() << "no CUDA device";
  auto cpu = make_net(), gpu = make_net();
  gpu->to(cuda_device(0));
  for (auto& [name, t] : gpu->state_dict()) EXPECT_TRUE(t.device().is_cuda()) << name;
  Tensor x = ops::randn({2, 3, 6, 6});
  Tensor yc = (*cpu)(x), yg = (*gpu)(ops::to_device(x, cuda_device(0)));
  expect_close(yg, yc, "output");
  sum(square(yc)).backward();
  sum(square(yg)).backward();
  auto pc = cpu->named_parameters(), pg = gpu->named_parameters();
  for (size_t i = 0; i < pc.size(); ++i) {
    EXPECT_TRUE(pg[i].second.grad().device().is_cuda()) << pc[i].first;
    expect_close(pg[i].second.grad(), pc[i].second.grad(), pc[i].first + ".grad");
  }
  auto bc = cpu->named_buffers(), bg = gpu->named_buffers();
  for (size_t i = 0; i < bc.size(); ++i) expect_close(bg[i].second, bc[i].second, bc[i].first);
}

}  // namespace
}  // namespace mm::nn
