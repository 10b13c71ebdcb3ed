// The trainer on the CUDA device (train.device "cuda"): the model, the batches, the losses, the fused
// optimizer and the evaluation run there, and a few steps agree with the same run on the CPU (the
// kernels differ only in summation order). Skips without a device; the CUDA emulation build runs it.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/copy.h"
#include "train/trainer.h"

namespace mm::train {
namespace {

const char* kTiny = R"(
model {
  image { resnet { layers: [1, 1, 1, 1] widths: [4, 8, 8, 8] } image_size: 32 }
  text { lstm { embed_dim: 8 hidden_size: 8 } max_length: 10 }
}
data { synthetic { num_train: 32 num_val: 8 num_test: 8 image_size: 32 } num_workers: 0 }
head { embed_dim: 8 }
optim { lr: 3e-3 grad_clip: 1.0 }
train { steps: 3 batch_size: 8 seed: 4 threads: 1 }
)";

TEST(TrainerOnCuda, StepsMatchTheCpu) {
  if (!device_backend_available(DeviceKind::CUDA)) GTEST_SKIP() << "no CUDA device";
  config::Config cpu_cfg = parse_config(kTiny), cuda_cfg = parse_config(kTiny);
  apply_override(cuda_cfg, "train.device=cuda");
  Trainer cpu(cpu_cfg, ".", ""), gpu(cuda_cfg, ".", "");
  ASSERT_TRUE(gpu.device().is_cuda());
  for (const Tensor& p : gpu.model().parameters()) ASSERT_TRUE(p.device().is_cuda());
  for (int s = 0; s < 3; ++s) {
    const double lc = cpu.step(), lg = gpu.step();
    EXPECT_NEAR(lg, lc, 1e-4 * std::fabs(lc)) << "step " << s + 1;
    EXPECT_NEAR(gpu.history().back().grad_norm, cpu.history().back().grad_norm,
                1e-3 * cpu.history().back().grad_norm) << "step " << s + 1;
  }
  const auto pc = cpu.model().named_parameters(), pg = gpu.model().named_parameters();
  ASSERT_EQ(pc.size(), pg.size());
  for (size_t k = 0; k < pc.size(); ++k) {
    const std::vector<double> c = pc[k].second.to_double_vector(),
                              g = ops::to_device(pg[k].second, kCPU).to_double_vector();
    double scale = 1e-12, worst = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      scale = std::max(scale, std::fabs(c[i]));
      worst = std::max(worst, std::fabs(c[i] - g[i]));
    }
    EXPECT_LE(worst / scale, 1e-3) << pc[k].first;
  }
  const nlohmann::json e = gpu.evaluate("val");
  for (const char* k : {"i2t_r1", "t2i_r1", "i2t_r10"}) {
    ASSERT_TRUE(e.contains(k)) << e.dump();
    EXPECT_GE(e[k].get<double>(), 0.0);
    EXPECT_LE(e[k].get<double>(), 1.0);
  }
}

// train.precision on the device: the autocast casts reach cuBLAS's Half / BFloat16 GEMMs; the losses
// follow the CPU run of the same precision (whose kernels compute the low dtypes in f32 too, so only
// the rounding points differ), and f16's loss scaler unscales device gradients.
TEST(TrainerOnCuda, MixedPrecisionStepsMatchTheCpu) {
  if (!device_backend_available(DeviceKind::CUDA)) GTEST_SKIP() << "no CUDA device";
  for (const char* precision : {"bf16", "f16"}) {
    config::Config cpu_cfg = parse_config(kTiny), cuda_cfg = parse_config(kTiny);
    for (config::Config* c : {&cpu_cfg, &cuda_cfg}) apply_override(*c, std::string("train.precision=") + precision);
    apply_override(cuda_cfg, "train.device=cuda");
    Trainer cpu(cpu_cfg, ".", ""), gpu(cuda_cfg, ".", "");
    for (int s = 0; s < 3; ++s) {
      const double lc = cpu.step(), lg = gpu.step();
      ASSERT_TRUE(std::isfinite(lg)) << precision;
      // bf16 keeps 8 mantissa bits: one rounding is 2^-9 ≈ 2e-3 relative; a few layers, 2e-2.
      EXPECT_NEAR(lg, lc, 2e-2 * std::fabs(lc)) << precision << " step " << s + 1;
      EXPECT_EQ(gpu.history().back().loss_scale, cpu.history().back().loss_scale) << precision;
    }
  }
}

}  // namespace
}  // namespace mm::train
