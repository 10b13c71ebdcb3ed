// Every ladder rung on the CUDA device against the same rung on the CPU, in both modes (pair-fused,
// and token mode with padded image and text tokens): the rung outputs, the logits, the input
// gradients and every parameter gradient agree (relative error ≤ 1e-4 forward, ≤ 1e-3 gradients, the
// golden tests' tolerances; the key biases, whose gradient is zero in exact arithmetic, are checked to
// be rounding-sized instead; the rungs compose existing ops, so this checks their CUDA kernels in the
// ladder's shapes and masks). Skips without a device; in the emulation build every kernel runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "models/cross_attention/head.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "runtime/philox.h"
#include "tests/models/golden.h"

namespace mm::models {
namespace {

using mm::testing::relative_error;

const Device kGpu = cuda_device(0);

struct Result {
  HeadOutput out;
  Tensor image, text;  // the leaves, for their gradients
};

Result run(CrossAttentionHead& head, const std::string& mode, const Tensor& image, const Tensor& text,
        const Tensor& image_mask, const Tensor& text_mask, Device device) {
  Result r{{}, ops::to_device(image, device).detach().set_requires_grad(true),
        ops::to_device(text, device).detach().set_requires_grad(true)};
  r.out = mode == "pair" ? head.pair_fused(r.image, r.text)
                         : head.token(r.image, r.text, ops::to_device(text_mask, device),
                                      ops::to_device(image_mask, device));
  // L = Σ logits + Σ image_out² + Σ text_out·0.5: every output reaches the loss.
  add(add(sum(r.out.logits), sum(square(r.out.sequences.image))), sum(mul(r.out.sequences.text, 0.5))).backward();
  return r;
}

void expect_close(const Tensor& gpu, const Tensor& cpu, double tol, const std::string& what) {
  ASSERT_TRUE(gpu.defined()) << what;
  EXPECT_TRUE(gpu.device().is_cuda()) << what;
  ASSERT_EQ(shape_str(gpu.shape()), shape_str(cpu.shape())) << what;
  EXPECT_LE(relative_error(gpu, cpu), tol) << what;
}

// to_k.bias, image_to_k.bias, text_to_k.bias: biases that only shift every score of a row.
bool is_key_bias(const std::string& name) {
  const std::string tail = "to_k.bias";
  return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : ops::to_device(t, kCPU).to_double_vector()) m = std::max(m, std::fabs(v));
  return m;
}

class LadderOnCuda : public ::testing::TestWithParam<std::string> {};

TEST_P(LadderOnCuda, BothModesMatchTheCpu) {
  if (!device_backend_available(DeviceKind::CUDA)) GTEST_SKIP() << "no CUDA device";
  const std::string rung = GetParam();
  const int64_t d = 16;
  manual_seed(31);
  CrossAttentionHead cpu(make_rung(rung, d, 4, 0.1, 32)), gpu(make_rung(rung, d, 4, 0.1, 32));
  gpu.load_state_dict(cpu.state_dict());
  cpu.eval();
  gpu.eval();
  gpu.to(kGpu);
  const int64_t n_i = rung == "v10_6" ? d : 5, n_t = rung == "v10_6" ? d : rung == "v7" ? 5 : 4;
  std::vector<bool> ti(static_cast<size_t>(3 * n_t), true), ii(static_cast<size_t>(3 * n_i), true);
  ti.back() = false;
  ti[static_cast<size_t>(2 * n_t - 1)] = false;
  ii.back() = false;
  const Tensor text_mask = Tensor::from_vector<bool>(ti, {3, n_t}), image_mask = Tensor::from_vector<bool>(ii, {3, n_i});
  for (const std::string mode : {"pair", "token"}) {
    const bool pair = mode == "pair";
    Tensor image = pair ? ops::randn({4, d}) : ops::randn({3, n_i, d});
    Tensor text = pair ? ops::randn({4, d}) : ops::randn({3, n_t, d});
    cpu.zero_grad();
    gpu.zero_grad();
    Result c = run(cpu, mode, image, text, image_mask, text_mask, kCPU);
    Result g = run(gpu, mode, image, text, image_mask, text_mask, kGpu);
    const std::string what = rung + " " + mode;
    expect_close(g.out.sequences.image, c.out.sequences.image, 1e-4, what + " image_out");
    expect_close(g.out.sequences.text, c.out.sequences.text, 1e-4, what + " text_out");
    expect_close(g.out.logits, c.out.logits, 1e-4, what + " logits");
    expect_close(g.image.grad(), c.image.grad(), 1e-3, what + " d/dimage");
    expect_close(g.text.grad(), c.text.grad(), 1e-3, what + " d/dtext");
    auto pc = cpu.named_parameters(), pg = gpu.named_parameters();
    ASSERT_EQ(pc.size(), pg.size());
    std::map<std::string, Tensor> cpu_grads;
    for (const auto& [name, p] : pc) cpu_grads[name] = p.grad();
    for (size_t i = 0; i < pc.size(); ++i) {
      const std::string& name = pc[i].first;
      if (is_key_bias(name)) {
        // Zero in exact arithmetic (softmax ignores a per-row shift of the scores): both devices hold
        // rounding noise only, checked against the same layer's weight gradient (as the golden test).
        const double scale = max_abs(cpu_grads.at(name.substr(0, name.size() - 4) + "weight"));
        EXPECT_LE(max_abs(pg[i].second.grad()), 1e-5 * scale) << what << " d/d" << name;
        EXPECT_LE(max_abs(pc[i].second.grad()), 1e-5 * scale) << what << " d/d" << name;
        continue;
      }
      expect_close(pg[i].second.grad(), pc[i].second.grad(), 1e-3, what + " d/d" + name);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryRung, LadderOnCuda, ::testing::ValuesIn(rung_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace mm::models
