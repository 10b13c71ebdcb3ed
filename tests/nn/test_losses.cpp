// The contrastive losses of nn/losses/ against PyTorch (tests/golden/losses/*.safetensors, written by
// tools/golden/losses.py: open_clip's ClipLoss / SigLipLoss / DistillClipLoss where open_clip has the
// loss, plain PyTorch from the papers and seeds otherwise). Every file in the folder is one test: the
// loss named by its config runs on the stored float32 inputs; its outputs must match (relative error
// ≤ 1e-4) and the gradients of L = Σ_k Σ(out_k ⊙ R_k) w.r.t. every stored floating input — embeddings,
// logit scales, biases, CMPC's W — must match (≤ 1e-3). Relative error = max|got − want| / max|want|.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include "autograd/functions.h"
#include "nn/losses/losses.h"
#include "runtime/safetensors.h"

namespace mm::nn {
namespace {

const std::string kDir = std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/losses/";

struct Golden {
  std::string name;
  std::map<std::string, Tensor> all;
  nlohmann::json config;

  explicit Golden(const std::string& case_name) : name(case_name) {
    const std::string path = kDir + case_name + ".safetensors";
    all = safetensors::load_all(path);
    config = nlohmann::json::parse(safetensors::File::open(path).metadata().at("config"));
  }
  bool has(const std::string& key) const { return all.count(key) != 0; }
  const Tensor& at(const std::string& key) const {
    auto it = all.find(key);
    if (it == all.end()) throw std::runtime_error(name + ": the golden file has no " + key);
    return it->second;
  }
  std::map<std::string, Tensor> group(const std::string& prefix) const {
    std::map<std::string, Tensor> out;
    for (const auto& [k, v] : all)
      if (k.rfind(prefix, 0) == 0) out.emplace(k.substr(prefix.size()), v);
    return out;
  }
};

double relative_error(const Tensor& got, const Tensor& want) {
  auto g = got.to_double_vector(), w = want.to_double_vector();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < std::min(g.size(), w.size()); ++i) {
    diff = std::max(diff, std::isnan(g[i]) ? INFINITY : std::fabs(g[i] - w[i]));
    scale = std::max(scale, std::fabs(w[i]));
  }
  return scale == 0 ? diff : diff / scale;
}

void expect_matches(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what << " was not computed";
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what;
  EXPECT_LE(relative_error(got, want), tol) << what;
}

ClipLossOptions clip_options(const nlohmann::json& c) {
  const std::string r = c.at("reduction");
  EXPECT_TRUE(r == "mean_of_directions" || r == "sum") << r;
  return {r == "sum" ? ClipReduction::Sum : ClipReduction::MeanOfDirections, c.at("label_smoothing").get<double>()};
}

Reduction reduction(const std::string& r) {
  if (r == "none") return Reduction::None;
  if (r == "sum") return Reduction::Sum;
  EXPECT_EQ(r, "mean");
  return Reduction::Mean;
}

TripletLossOptions triplet_options(const nlohmann::json& c) {
  TripletLossOptions o;
  o.margin = c.at("margin");
  o.similarity = c.at("similarity") == "cosine" ? TripletSimilarity::Cosine : TripletSimilarity::Euclidean;
  const std::string n = c.at("negatives"), d = c.at("directions");
  o.negatives = n == "all" ? TripletNegatives::All : n == "hardest" ? TripletNegatives::Hardest : TripletNegatives::SemiHard;
  o.directions = d == "both" ? LossDirections::Both
                 : d == "image_to_text" ? LossDirections::ImageToText
                                        : LossDirections::TextToImage;
  o.sum_over_anchors = c.at("sum_over_anchors");
  return o;
}

// Runs the loss the config names on `in` (leaves); returns its outputs by the golden file's names.
std::map<std::string, Tensor> run_loss(const nlohmann::json& c, const std::map<std::string, Tensor>& in) {
  const std::string loss = c.at("loss");
  auto x = [&](const std::string& k) {
    const Tensor& t = in.at(k);
    return c.value("normalize", false) ? normalize(t, 2.0, 1) : t;
  };
  auto opt = [&](const std::string& k) { return in.count(k) ? in.at(k) : Tensor(); };
  if (loss == "clip") return {{"loss", clip_loss(x("image"), x("text"), in.at("logit_scale"), clip_options(c))}};
  if (loss == "clip_logits")
    return {{"logits", clip_logits(in.at("image"), in.at("text"), in.at("logit_scale"), in.at("bias"))}};
  if (loss == "siglip") return {{"loss", siglip_loss(x("image"), x("text"), in.at("logit_scale"), opt("logit_bias"))}};
  if (loss == "distillation") {
    DistillationLoss r = distillation_loss(x("image"), x("text"), in.at("logit_scale"), x("teacher_image"),
                                           x("teacher_text"), in.at("teacher_logit_scale"), clip_options(c));
    return {{"contrastive", r.contrastive}, {"distill", r.distill}};
  }
  if (loss == "triplet") return {{"loss", triplet_loss(in.at("image"), in.at("text"), triplet_options(c))}};
  if (loss == "contrastive_pair")
    return {{"loss", contrastive_pair_loss(in.at("x1"), in.at("x2"), in.at("y"), c.at("margin"), reduction(c.at("reduction")))}};
  if (loss == "margin_ranking")
    return {{"loss", margin_ranking_loss(in.at("x1"), in.at("x2"), in.at("y"), c.at("margin"), reduction(c.at("reduction")))}};
  if (loss == "cmpm") return {{"loss", cmpm_loss(in.at("image"), in.at("text"), in.at("labels"))}};
  if (loss == "cmpc") return {{"loss", cmpc_loss(in.at("image"), in.at("text"), in.at("labels"), in.at("W"))}};
  if (loss == "ntxent") return {{"loss", ntxent_loss(in.at("z1"), in.at("z2"), c.at("temperature"))}};
  if (loss == "intra_class") return {{"loss", intra_class_loss(in.at("x"), in.at("labels"))}};
  ADD_FAILURE() << "unknown loss " << loss;
  return {};
}

class LossGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(LossGolden, MatchesPyTorch) {
  Golden g(GetParam());
  std::map<std::string, Tensor> in;
  for (const auto& [k, v] : g.group("inputs/")) {
    // Every floating input is differentiated, data included (the pair flags y): PyTorch stores a
    // gradient only for those it differentiated, and the check below reads exactly those.
    in[k] = is_floating(v.dtype()) ? v.detach().set_requires_grad(true) : v;
  }
  std::map<std::string, Tensor> outputs = run_loss(g.config, in);
  ASSERT_EQ(outputs.size(), g.group("outputs/").size()) << g.name << ": every stored output is produced";
  Tensor total;
  for (const auto& [k, out] : outputs) {
    expect_matches(out, g.at("outputs/" + k), 1e-4, g.name + " output " + k);
    Tensor term = sum(mul(out, g.at("loss_weights/" + k)));
    total = total.defined() ? add(total, term) : term;
  }
  total.backward();
  const auto grads = g.group("grads/");
  ASSERT_FALSE(grads.empty()) << g.name;
  for (const auto& [k, want] : grads) {
    ASSERT_TRUE(in.count(k)) << g.name << ": no input " << k;
    expect_matches(in.at(k).grad(), want, 1e-3, g.name + " dL/d" + k);
  }
}

std::vector<std::string> golden_cases() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(kDir))
    if (e.path().extension() == ".safetensors") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(Files, LossGolden, ::testing::ValuesIn(golden_cases()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// The folder holds a case for every loss and option the script writes (so an empty or missing folder
// cannot pass by running nothing).
TEST(LossGoldenFiles, EveryLossHasCases) {
  std::map<std::string, int> per_loss;
  for (const std::string& name : golden_cases()) per_loss[Golden(name).config.at("loss")]++;
  for (const char* loss : {"clip", "clip_logits", "siglip", "distillation", "triplet", "contrastive_pair",
                           "margin_ranking", "cmpm", "cmpc", "ntxent", "intra_class"})
    EXPECT_GE(per_loss[loss], 1) << loss;
  EXPECT_EQ(golden_cases().size(), 42u) << "tools/golden/losses.py writes 42 files";
}

}  // namespace
}  // namespace mm::nn
