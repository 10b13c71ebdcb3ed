// The contrastive losses (nn/losses/) on the CUDA device: each loss and option, forward and the
// gradients w.r.t. every floating input (embeddings, logit scale and bias, CMPC's W), agrees with the
// CPU on the same inputs. The losses are compositions of existing ops, so this checks that every op
// they use runs on CUDA and that nothing in them silently assumes CPU memory (labels, masks and
// targets are built on the embeddings' device). Skips without a device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "autograd/functions.h"
#include "nn/losses/losses.h"
#include "ops/copy.h"
#include "ops/creation.h"

namespace mm::nn {
namespace {

struct Case {
  std::string name;
  std::function<TensorList()> inputs;  // f32 CPU tensors; floating ones are differentiated
  std::function<TensorList(const TensorList&, Device)> fn;
};

Tensor ids(const std::vector<int64_t>& v, Device d) {
  return ops::to_device(Tensor::from_vector<int64_t>(v, {static_cast<int64_t>(v.size())}), d);
}
Tensor scalar(float v) { return Tensor::from_vector<float>({v}, {}); }
TensorList randns(uint64_t seed, std::initializer_list<Shape> shapes) {
  manual_seed(seed);
  TensorList r;
  for (const Shape& s : shapes) r.push_back(ops::randn(s));
  return r;
}
Tensor unit(const Tensor& x) { return normalize(x, 2.0, 1); }

std::vector<Case> cases() {
  std::vector<Case> c;
  auto pair_and_scale = [](uint64_t seed, float ls) {
    return [=] {
      TensorList in = randns(seed, {{6, 5}, {6, 5}});
      in.push_back(scalar(ls));
      return in;
    };
  };
  c.push_back({"clip mean_of_directions", pair_and_scale(1, 2.6f),
               [](const TensorList& x, Device) { return TensorList{clip_loss(unit(x[0]), unit(x[1]), x[2])}; }});
  c.push_back({"clip sum, label smoothing 0.1", pair_and_scale(2, 1.5f), [](const TensorList& x, Device) {
                 return TensorList{clip_loss(unit(x[0]), unit(x[1]), x[2], {ClipReduction::Sum, 0.1})};
               }});
  c.push_back({"clip scale 1e4", pair_and_scale(3, std::log(1e4f)),
               [](const TensorList& x, Device) { return TensorList{clip_loss(unit(x[0]), unit(x[1]), x[2])}; }});
  c.push_back({"clip_logits with bias",
               [] {
                 TensorList in = randns(4, {{3, 5}, {4, 5}});
                 in.push_back(scalar(0.7f));
                 in.push_back(scalar(-1.5f));
                 return in;
               },
               [](const TensorList& x, Device) { return TensorList{clip_logits(x[0], x[1], x[2], x[3])}; }});
  c.push_back({"siglip with bias",
               [] {
                 TensorList in = randns(5, {{6, 5}, {6, 5}});
                 in.push_back(scalar(std::log(10.0f)));
                 in.push_back(scalar(-10.0f));
                 return in;
               },
               [](const TensorList& x, Device) { return TensorList{siglip_loss(unit(x[0]), unit(x[1]), x[2], x[3])}; }});
  using N = TripletNegatives;
  using S = TripletSimilarity;
  for (auto [name, o] : std::vector<std::pair<std::string, TripletLossOptions>>{
           {"triplet cosine all", {0.2, S::Cosine, N::All, LossDirections::Both, false}},
           {"triplet cosine hardest", {0.2, S::Cosine, N::Hardest, LossDirections::Both, true}},
           {"triplet cosine semi-hard", {0.2, S::Cosine, N::SemiHard, LossDirections::ImageToText, false}},
           {"triplet euclidean hardest", {0.5, S::Euclidean, N::Hardest, LossDirections::TextToImage, false}},
           {"triplet euclidean semi-hard", {0.5, S::Euclidean, N::SemiHard, LossDirections::Both, false}}}) {
    c.push_back({name, [] { return randns(6, {{6, 5}, {6, 5}}); },
                 [o](const TensorList& x, Device) { return TensorList{triplet_loss(x[0], x[1], o)}; }});
  }
  c.push_back({"contrastive pair", [] { return randns(7, {{6, 5}, {6, 5}}); },
               [](const TensorList& x, Device d) {
                 return TensorList{contrastive_pair_loss(x[0], x[1], ids({0, 1, 1, 0, 1, 0}, d), 3.0, Reduction::None)};
               }});
  c.push_back({"margin ranking", [] { return randns(8, {{6}, {6}}); },
               [](const TensorList& x, Device d) {
                 Tensor y = ops::to_device(Tensor::from_vector<float>({1, -1, 1, 1, -1, -1}, {6}), d);
                 return TensorList{margin_ranking_loss(x[0], x[1], y, 0.3, Reduction::Sum)};
               }});
  c.push_back({"cmpm", [] { return randns(9, {{6, 5}, {6, 5}}); },
               [](const TensorList& x, Device d) { return TensorList{cmpm_loss(x[0], x[1], ids({0, 1, 0, 2, 1, 0}, d))}; }});
  c.push_back({"cmpc", [] { return randns(10, {{6, 5}, {6, 5}, {5, 3}}); },
               [](const TensorList& x, Device d) {
                 return TensorList{cmpc_loss(x[0], x[1], ids({0, 2, 1, 0, 2, 2}, d), x[2])};
               }});
  c.push_back({"ntxent", [] { return randns(11, {{6, 5}, {6, 5}}); },
               [](const TensorList& x, Device) { return TensorList{ntxent_loss(x[0], x[1], 0.2)}; }});
  c.push_back({"intra-class", [] { return randns(12, {{6, 5}}); },
               [](const TensorList& x, Device d) { return TensorList{intra_class_loss(x[0], ids({0, 1, 0, 2, 1, 0}, d))}; }});
  c.push_back({"distillation",
               [] {
                 TensorList in = randns(13, {{6, 5}, {6, 5}, {6, 7}, {6, 7}});
                 in.insert(in.begin() + 2, scalar(2.0f));
                 in.push_back(scalar(3.0f));
                 return in;
               },
               [](const TensorList& x, Device) {
                 DistillationLoss r = distillation_loss(unit(x[0]), unit(x[1]), x[2], unit(x[3]), unit(x[4]), x[5]);
                 return TensorList{r.contrastive, r.distill};
               }});
  return c;
}

// |got − want| ≤ 1e-5 + 1e-4·max|want| per element: relative to the tensor's scale, since gradients
// at a scale of 1e4 have near-zero entries that differ by float32 summation order only.
void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what;
  auto g = ops::to_device(got, kCPU).to_double_vector(), w = want.to_double_vector();
  double scale = 0;
  for (double v : w) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(g[i], w[i], 1e-5 + 1e-4 * scale) << what << " " << i;
}

// Runs fn on leaves made from `in` on `device`; returns the outputs and the leaves (with .grad set
// by the backward of Σ_k Σ(out_k ⊙ R_k), R_k fixed per output).
std::pair<TensorList, TensorList> run(const Case& c, const TensorList& in, Device device) {
  TensorList leaves;
  for (const Tensor& t : in) leaves.push_back(ops::to_device(t, device).detach().set_requires_grad(true));
  TensorList out = c.fn(leaves, device);
  Tensor total;
  manual_seed(99);
  for (const Tensor& o : out) {
    Tensor term = sum(mul(o, ops::to_device(ops::randn(o.shape()), device)));
    total = total.defined() ? add(total, term) : term;
  }
  total.backward();
  return {out, leaves};
}

TEST(LossesOnCuda, ForwardAndGradientsMatchCpu) {
  if (!device_backend_available(DeviceKind::CUDA)) GTEST_SKIP() << "no CUDA device";
  const std::vector<Case> all = cases();
  ASSERT_EQ(all.size(), 17u);
  for (const Case& c : all) {
    SCOPED_TRACE(c.name);
    TensorList in = c.inputs();
    auto [cpu_out, cpu_in] = run(c, in, kCPU);
    auto [gpu_out, gpu_in] = run(c, in, cuda_device(0));
    ASSERT_EQ(gpu_out.size(), cpu_out.size());
    for (size_t k = 0; k < cpu_out.size(); ++k) {
      EXPECT_TRUE(gpu_out[k].device().is_cuda());
      expect_close(gpu_out[k], cpu_out[k], c.name + " output " + std::to_string(k));
    }
    for (size_t k = 0; k < cpu_in.size(); ++k) {
      ASSERT_TRUE(gpu_in[k].grad().defined()) << c.name << " input " << k;
      EXPECT_TRUE(gpu_in[k].grad().device().is_cuda());
      expect_close(gpu_in[k].grad(), cpu_in[k].grad(), c.name + " grad of input " + std::to_string(k));
    }
  }
}

}  // namespace
}  // namespace mm::nn
