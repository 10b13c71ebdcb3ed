// Mixed precision in training: the GradScaler's rules (train/grad_scaler.h), the config
// (train/mixed_precision.h), real towers under autocast, and short f16/bf16 training loops.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>

#include "autograd/autocast.h"
#include "autograd/functions.h"
#include "models/bert.h"
#include "models/dual_encoder.h"
#include "nn/losses/clip.h"
#include "models/lstm_text.h"
#include "models/resnet.h"
#include "models/vit.h"
#include "runtime/safetensors.h"
#include "train/config.h"
#include "train/grad_scaler.h"
#include "train/mixed_precision.h"
#include "train/optim.h"

using namespace mm;
using namespace mm::train;

namespace {

Generator& gen() {
  static Generator g(4321);
  return g;
}

Tensor rnd(const Shape& s, double scale = 1.0) { return mul(ops::randn(s, DType::F32, kCPU, &gen()), scale); }
Tensor leaf(const Shape& s, double scale) { return rnd(s, scale).detach().set_requires_grad(); }

std::vector<double> vals(const Tensor& t) { return t.to_double_vector(); }

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  return a.dtype() == b.dtype() && a.shape() == b.shape() && vals(a) == vals(b);
}

Tensor copy_of(const Tensor& t) { return t.defined() ? clone(t.detach()) : Tensor(); }

std::vector<ParamGroup> group_of(const std::vector<Tensor>& ps) {
  ParamGroup g;
  for (size_t i = 0; i < ps.size(); ++i) {
    std::string name = "p";  // not "p" + std::string: g++ 12 -O3 reports a false -Wrestrict on that
    name += std::to_string(i);
    g.params.emplace_back(name, ps[i]);
  }
  return {g};
}

// A two-layer MLP classifier with f32 parameters.
struct Mlp {
  Tensor w1 = leaf({32, 8}, 0.35), b1 = leaf({32}, 0.0), w2 = leaf({4, 32}, 0.18), b2 = leaf({4}, 0.0);
  std::vector<Tensor> params() const { return {w1, b1, w2, b2}; }
  Tensor loss(const Tensor& x, const Tensor& y) const {
    return cross_entropy(linear(relu(linear(x, w1, b1)), w2, b2), y);
  }
};

// A learnable toy task: the class is the argmax of a fixed linear map of x.
void toy_data(Tensor& x, Tensor& y) {
  x = rnd({64, 8});
  Tensor proj = Tensor::from_vector<float>({1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, -1, 0, 0, 0, 0, -1, 0, 0,
                                            0, 0, -1, 0, 0, 0, 0, -1},
                                           {8, 4});
  y = argmax(matmul(x, proj), 1);
}

// Trains `net` for `steps` Adam steps at precision `low` (F32: plain) with `scaler`; returns the losses.
std::vector<double> train_loop(const Mlp& net, const Tensor& x, const Tensor& y, DType low, GradScaler& scaler,
                               int steps, int* skipped = nullptr) {
  Adam opt(group_of(net.params()), {.lr = 1e-2});
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    Tensor loss;
    {
      AutocastGuard guard(low);
      loss = net.loss(x, y);
    }
    losses.push_back(loss.item());
    scaler.scale(loss).backward();
    scaler.unscale_(opt);
    const bool stepped = scaler.step(opt);
    if (!stepped && skipped) ++*skipped;
    scaler.update();
  }
  return losses;
}

}  // namespace

// ---- GradScaler ------------------------------------------------------------------------------------

TEST(GradScaler, DefaultsAreTorchs) {
  GradScaler s;
  EXPECT_TRUE(s.enabled());
  EXPECT_EQ(s.get_scale(), 65536.0);
  EXPECT_EQ(s.options().growth_factor, 2.0);
  EXPECT_EQ(s.options().backoff_factor, 0.5);
  EXPECT_EQ(s.options().growth_interval, 2000);
  EXPECT_EQ(s.growth_tracker(), 0);
  EXPECT_THROW(GradScaler({.init_scale = 0.0}), Error);
  EXPECT_THROW(GradScaler({.growth_factor = 1.0}), Error);
  EXPECT_THROW(GradScaler({.backoff_factor = 1.0}), Error);
  EXPECT_THROW(GradScaler({.growth_interval = 0}), Error);
}

TEST(GradScaler, ScaleAndUnscaleAreExactWithPowersOfTwo) {
  Tensor p = leaf({5}, 1.0), q = leaf({2, 3}, 1.0);
  Tensor c = rnd({5}, 0.37), d = rnd({2, 3}, 1e-3);
  auto loss_fn = [&] { return add(sum(mul(p, c)), mul(sum(square(q)), 0.1)); };
  loss_fn().backward();
  const Tensor gp = copy_of(p.grad()), gq = copy_of(q.grad());
  p.zero_grad();
  q.zero_grad();

  GradScaler s({.init_scale = 1024.0});
  Tensor loss = loss_fn();
  Tensor scaled = s.scale(loss);
  EXPECT_EQ(scaled.dtype(), DType::F32);
  EXPECT_EQ(scaled.item(), loss.item() * 1024.0);
  scaled.backward();
  // The scaled gradients are exactly 1024× the true ones (a power of two only moves the exponent).
  std::vector<double> sp = vals(p.grad()), rp = vals(gp);
  for (size_t i = 0; i < sp.size(); ++i) EXPECT_EQ(sp[i], rp[i] * 1024.0);
  EXPECT_FALSE(s.unscale_({p, q, leaf({1}, 1.0)}));  // a parameter without a gradient is skipped
  EXPECT_TRUE(bitwise_equal(p.grad(), gp));
  EXPECT_TRUE(bitwise_equal(q.grad(), gq));
  EXPECT_FALSE(s.found_inf());
}

TEST(GradScaler, F16LossIsScaledInF32) {
  GradScaler s;  // 65536 is beyond f16's largest value 65504
  Tensor w = leaf({3}, 1.0);
  Tensor loss = sum(to(w, DType::F16));  // an f16 loss (autocast would have made it f32)
  Tensor scaled = s.scale(loss);
  EXPECT_EQ(scaled.dtype(), DType::F32);
  EXPECT_TRUE(std::isfinite(scaled.item()));
  Tensor d = s.scale(ops::to_dtype(rnd({}), DType::F64));
  EXPECT_EQ(d.dtype(), DType::F64);
}

TEST(GradScaler, NonFiniteGradientSkipsTheStepAndBacksOff) {
  for (double bad : {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    Mlp net;
    Tensor x, y;
    toy_data(x, y);
    AdamW opt(group_of(net.params()), {.lr = 1e-2});
    GradScaler s({.init_scale = 256.0});
    // One clean step, so the optimizer has state to (not) change.
    s.scale(net.loss(x, y)).backward();
    EXPECT_TRUE(s.step(opt));
    s.update();
    EXPECT_EQ(s.get_scale(), 256.0);
    EXPECT_EQ(s.growth_tracker(), 1);

    opt.zero_grad();
    s.scale(net.loss(x, y)).backward();
    // Inject one non-finite element into one gradient.
    Tensor g = copy_of(net.w2.grad());
    std::vector<double> gv = vals(g);
    gv[3] = bad;
    net.w2.set_grad(ops::to_dtype(Tensor::from_vector<double>(gv, g.shape()), DType::F32));
    std::vector<Tensor> before;
    for (const Tensor& p : net.params()) before.push_back(copy_of(p));
    std::vector<Optimizer::State> state_before = opt.state();
    std::vector<Tensor> m_before, v_before;
    for (const auto& st : state_before) {
      m_before.push_back(copy_of(st.exp_avg));
      v_before.push_back(copy_of(st.exp_avg_sq));
    }
    EXPECT_TRUE(s.unscale_(opt));
    EXPECT_FALSE(s.step(opt));  // skipped
    s.update();
    EXPECT_EQ(s.get_scale(), 128.0);
    EXPECT_EQ(s.growth_tracker(), 0);
    const std::vector<Tensor> ps = net.params();
    for (size_t i = 0; i < ps.size(); ++i) EXPECT_TRUE(bitwise_equal(ps[i], before[i])) << "parameter " << i;
    ASSERT_EQ(opt.state().size(), state_before.size());
    for (size_t i = 0; i < state_before.size(); ++i) {
      EXPECT_EQ(opt.state()[i].step, state_before[i].step);
      EXPECT_TRUE(bitwise_equal(opt.state()[i].exp_avg, m_before[i]));
      EXPECT_TRUE(bitwise_equal(opt.state()[i].exp_avg_sq, v_before[i]));
    }
  }
}

TEST(GradScaler, GrowsAfterGrowthIntervalCleanSteps) {
  Tensor w = leaf({4}, 1.0);
  SGD opt(group_of({w}), {.lr = 0.1});
  GradScaler s({.init_scale = 8.0, .growth_factor = 4.0, .backoff_factor = 0.25, .growth_interval = 3});
  auto clean_step = [&] {
    opt.zero_grad();
    s.scale(sum(square(w))).backward();
    EXPECT_TRUE(s.step(opt));  // unscales itself when unscale_ was not called
    s.update();
  };
  clean_step();
  clean_step();
  EXPECT_EQ(s.get_scale(), 8.0);
  EXPECT_EQ(s.growth_tracker(), 2);
  clean_step();
  EXPECT_EQ(s.get_scale(), 32.0);
  EXPECT_EQ(s.growth_tracker(), 0);
  // An overflow resets the tracker: growth needs growth_interval clean steps again.
  clean_step();
  opt.zero_grad();
  s.scale(sum(square(w))).backward();
  w.set_grad(ops::full({4}, std::numeric_limits<double>::infinity(), DType::F32, kCPU));
  EXPECT_FALSE(s.step(opt));
  s.update();
  EXPECT_EQ(s.get_scale(), 8.0);
  EXPECT_EQ(s.growth_tracker(), 0);
  clean_step();
  clean_step();
  EXPECT_EQ(s.get_scale(), 8.0);
  clean_step();
  EXPECT_EQ(s.get_scale(), 32.0);
}

TEST(GradScaler, OncePerStepOrderIsChecked) {
  Tensor w = leaf({2}, 1.0);
  SGD opt(group_of({w}), {.lr = 0.1});
  GradScaler s;
  EXPECT_THROW(s.update(), Error);  // nothing checked yet
  s.scale(sum(w)).backward();
  s.unscale_(opt);
  EXPECT_THROW(s.unscale_(opt), Error);  // would divide by S twice
  s.step(opt);
  EXPECT_THROW(s.step(opt), Error);
  s.update();
  EXPECT_NO_THROW(s.unscale_(opt));
}

TEST(GradScaler, DisabledPassesThrough) {
  Tensor w = leaf({3}, 1.0);
  SGD opt(group_of({w}), {.lr = 0.5});
  GradScaler s({.enabled = false});
  EXPECT_EQ(s.get_scale(), 1.0);
  Tensor loss = sum(square(w));
  EXPECT_TRUE(s.scale(loss).same(loss));
  loss.backward();
  const Tensor g = copy_of(w.grad());
  EXPECT_FALSE(s.unscale_(opt));
  EXPECT_TRUE(bitwise_equal(w.grad(), g));
  const Tensor before = copy_of(w);
  EXPECT_TRUE(s.step(opt));
  EXPECT_FALSE(bitwise_equal(w, before));
  s.update();
  EXPECT_TRUE(s.state_dict().empty());
  EXPECT_NO_THROW(s.load_state_dict({}));
}

TEST(GradScaler, StateDictRoundTripResumesExactly) {
  GradScalerOptions o{.init_scale = 1024.0, .growth_interval = 2};
  GradScaler a(o);
  Tensor w = leaf({3}, 1.0);
  SGD opt(group_of({w}), {.lr = 0.01});
  // Overflow steps (forced) and clean steps in a fixed pattern.
  auto run_step = [&](GradScaler& s, bool overflow) {
    opt.zero_grad();
    s.scale(sum(square(w))).backward();
    if (overflow) w.set_grad(ops::full({3}, std::numeric_limits<double>::quiet_NaN(), DType::F32, kCPU));
    s.step(opt);
    s.update();
  };
  const bool pattern[] = {false, true, false, false, false, true, false};
  for (bool o1 : pattern) run_step(a, o1);
  // Through a safetensors file, as a checkpoint stores it (per-process path).
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("mm_grad_scaler_" + std::to_string(::getpid()) + ".safetensors"))
                               .string();
  std::map<std::string, Tensor> sd = a.state_dict();
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_EQ(sd.at(GradScaler::kScaleKey).dtype(), DType::F64);
  EXPECT_EQ(sd.at(GradScaler::kTrackerKey).dtype(), DType::I64);
  safetensors::save(path, std::vector<std::pair<std::string, Tensor>>(sd.begin(), sd.end()));
  GradScaler b(o);
  b.load_state_dict(safetensors::load_all(path));
  std::filesystem::remove(path);
  EXPECT_EQ(b.get_scale(), a.get_scale());
  EXPECT_EQ(b.growth_tracker(), a.growth_tracker());
  for (bool o2 : {false, false, true, false, false, false}) {
    run_step(a, o2);
    run_step(b, o2);
    EXPECT_EQ(a.get_scale(), b.get_scale());
    EXPECT_EQ(a.growth_tracker(), b.growth_tracker());
  }
  // Bad states: nothing is loaded.
  GradScaler c(o);
  EXPECT_THROW(c.load_state_dict({}), Error);
  EXPECT_THROW(c.load_state_dict({{GradScaler::kScaleKey, Tensor::from_vector<double>({4.0}, {})}}), Error);
  EXPECT_THROW(c.load_state_dict({{GradScaler::kScaleKey, Tensor::from_vector<float>({4.0f}, {})},
                                  {GradScaler::kTrackerKey, Tensor::from_vector<int64_t>({1}, {})}}),
               Error);
  EXPECT_THROW(c.load_state_dict({{GradScaler::kScaleKey, Tensor::from_vector<double>({-4.0}, {})},
                                  {GradScaler::kTrackerKey, Tensor::from_vector<int64_t>({1}, {})}}),
               Error);
  EXPECT_EQ(c.get_scale(), 1024.0);
}

// ---- Config ----------------------------------------------------------------------------------------

TEST(MixedPrecisionConfig, PrecisionsAndLossScale) {
  MixedPrecision f32 = make_mixed_precision(config::Train());
  EXPECT_EQ(f32.precision, "f32");
  EXPECT_EQ(f32.low, DType::F32);
  EXPECT_FALSE(f32.scaling());

  config::Config cfg = parse_config("train { precision: \"bf16\" }");
  MixedPrecision bf16 = make_mixed_precision(cfg.train());
  EXPECT_EQ(bf16.low, DType::BF16);
  EXPECT_FALSE(bf16.scaling());

  cfg = parse_config("train { precision: \"f16\" }");
  MixedPrecision f16 = make_mixed_precision(cfg.train());
  EXPECT_EQ(f16.low, DType::F16);
  ASSERT_TRUE(f16.scaling());
  EXPECT_EQ(f16.scaler.get_scale(), 65536.0);
  EXPECT_EQ(f16.scaler.options().growth_interval, 2000);

  cfg = parse_config(
      "train { precision: \"f16\" loss_scale { init_scale: 128 growth_factor: 4 backoff_factor: 0.25 "
      "growth_interval: 10 } }");
  MixedPrecision custom = make_mixed_precision(cfg.train());
  EXPECT_EQ(custom.scaler.get_scale(), 128.0);
  EXPECT_EQ(custom.scaler.options().growth_factor, 4.0);
  EXPECT_EQ(custom.scaler.options().backoff_factor, 0.25);
  EXPECT_EQ(custom.scaler.options().growth_interval, 10);
}

TEST(MixedPrecisionConfig, ErrorsNameTheField) {
  auto message = [](const std::string& text) -> std::string {
    try {
      make_mixed_precision(parse_config(text).train());
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  std::string m = message("train { precision: \"fp16\" }");
  EXPECT_NE(m.find("train.precision"), std::string::npos) << m;
  EXPECT_NE(m.find("fp16"), std::string::npos) << m;
  m = message("train { precision: \"bf16\" loss_scale { init_scale: 8 } }");
  EXPECT_NE(m.find("train.loss_scale"), std::string::npos) << m;
  m = message("train { precision: \"f16\" loss_scale { backoff_factor: 2 } }");
  EXPECT_NE(m.find("train.loss_scale.backoff_factor"), std::string::npos) << m;
  m = message("train { precision: \"f16\" loss_scale { growth_interval: 0 } }");
  EXPECT_NE(m.find("train.loss_scale.growth_interval"), std::string::npos) << m;
}

// ---- Towers and training loops ---------------------------------------------------------------------

// A one-layer ViT on 16-px images and a one-layer BERT without dropout.
models::ViTConfig tiny_vit() {
  models::ViTConfig vc;
  vc.image_size = 16;
  vc.patch_size = 8;
  vc.num_layers = 1;
  vc.num_heads = 2;
  vc.hidden_dim = 16;
  vc.mlp_dim = 32;
  return vc;
}

models::BertConfig tiny_bert() {
  models::BertConfig bc;
  bc.vocab_size = 40;
  bc.hidden_size = 16;
  bc.num_hidden_layers = 1;
  bc.num_attention_heads = 2;
  bc.intermediate_size = 32;
  bc.max_position_embeddings = 16;
  bc.hidden_dropout = bc.attention_dropout = 0.0;
  return bc;
}

// Every tower runs forward and backward under autocast without a dtype error, with f32 parameter
// gradients (LayerNorm/BatchNorm with f32 affine parameters after f16 convolutions, attention masks,
// embeddings, LSTM).
TEST(MixedPrecisionTowers, ForwardBackwardUnderAutocast) {
  gen().manual_seed(30);
  mm::manual_seed(30);  // the towers' initialisation draws from the default generator
  const models::ViTConfig vc = tiny_vit();
  models::ResNetConfig rc;
  rc.layers = {1, 1, 1, 1};
  rc.widths = {4, 8, 8, 8};
  const models::BertConfig bc = tiny_bert();
  models::LSTMTextConfig lc;
  lc.vocab_size = 40;
  lc.embed_dim = 8;
  lc.hidden_size = 8;
  std::vector<std::shared_ptr<models::ImageTower>> images{std::make_shared<models::VisionTransformer>(vc),
                                                          std::make_shared<models::ResNet>(rc)};
  std::vector<std::shared_ptr<models::TextTower>> texts{std::make_shared<models::BertModel>(bc),
                                                        std::make_shared<models::LSTMTextEncoder>(lc)};
  Tensor img = rnd({2, 3, 16, 16});
  Tensor ids = Tensor::from_vector<int64_t>({2, 5, 7, 9, 3, 4, 0, 0}, {2, 4});
  Tensor mask = Tensor::from_vector<int64_t>({1, 1, 1, 1, 1, 1, 0, 0}, {2, 4});
  for (DType low : {DType::BF16, DType::F16}) {
    auto check = [&](nn::Module& m, const std::function<Tensor()>& features, const std::string& what) {
      m.zero_grad();
      Tensor loss;
      {
        AutocastGuard g(low);
        loss = sum(square(features()));
      }
      EXPECT_EQ(loss.dtype(), DType::F32) << what;
      EXPECT_TRUE(std::isfinite(loss.item())) << what;
      loss.backward();
      int with_grad = 0;
      for (const auto& [name, p] : m.named_parameters()) {
        if (!p.grad().defined()) continue;
        ++with_grad;
        EXPECT_EQ(p.grad().dtype(), DType::F32) << what << " " << name;
      }
      EXPECT_GT(with_grad, 0) << what;
    };
    for (auto& t : images) check(*t, [&] { return t->features(img); }, "image tower " + t->type_name());
    for (auto& t : texts) check(*t, [&] { return t->features(ids, mask); }, "text tower " + t->type_name());
  }
}

// The trainer's objective: a DualEncoder (ViT + BERT, LayerNorm projection heads) with the CLIP loss.
// Under autocast the loss is f32 and within a few low-dtype roundings of the f32 loss; every parameter
// (logit_scale included) gets an f32 gradient.
TEST(MixedPrecisionTowers, DualEncoderClipLoss) {
  gen().manual_seed(31);
  mm::manual_seed(31);  // the towers' initialisation draws from the default generator
  const models::ViTConfig vc = tiny_vit();
  const models::BertConfig bc = tiny_bert();
  models::DualEncoderConfig dc;
  dc.projection = "linear_ln";
  dc.embed_dim = 8;
  models::DualEncoder model(std::make_shared<models::VisionTransformer>(vc), std::make_shared<models::BertModel>(bc),
                            dc);
  Tensor img = rnd({4, 3, 16, 16});
  Tensor ids = Tensor::from_vector<int64_t>({2, 5, 7, 9, 3, 4, 0, 0, 8, 8, 1, 0, 6, 2, 9, 3}, {4, 4});
  Tensor mask = Tensor::from_vector<int64_t>({1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1}, {4, 4});
  auto loss_fn = [&] {
    return nn::clip_loss_from_logits(model.logits(model.encode_image(img), model.encode_text(ids, mask)));
  };
  const double ref = loss_fn().item();
  for (DType low : {DType::BF16, DType::F16}) {
    model.zero_grad();
    Tensor loss;
    {
      AutocastGuard g(low);
      loss = loss_fn();
    }
    EXPECT_EQ(loss.dtype(), DType::F32);
    // bf16: u = 2^-9 per rounding, a few dozen roundings on the way: 2 % is generous; f16 8× tighter.
    EXPECT_NEAR(loss.item(), ref, (low == DType::BF16 ? 2e-2 : 2.5e-3) * ref) << dtype_name(low);
    if (std::getenv("MM_AUTOCAST_VERBOSE")) std::printf("%s loss %.6g vs %.6g\n", dtype_name(low), loss.item(), ref);
    loss.backward();
    for (const auto& [name, p] : model.named_parameters()) {
      ASSERT_TRUE(p.grad().defined()) << name;
      EXPECT_EQ(p.grad().dtype(), DType::F32) << name;
      EXPECT_TRUE(std::isfinite(sum(square(p.grad())).item())) << name;
    }
  }
}

// A short training loop: f16 with loss scaling and bf16 follow the f32 loop's loss curve.
TEST(MixedPrecisionTraining, LossDecreasesLikeF32) {
  gen().manual_seed(21);  // the same data whichever tests ran before in this process
  Tensor x, y;
  toy_data(x, y);
  const Mlp init;
  auto fresh = [&] {
    Mlp m;
    const std::vector<Tensor> dst = m.params(), src = init.params();
    NoGradGuard ng;
    for (size_t i = 0; i < dst.size(); ++i) ops::copy_(dst[i], src[i]);
    return m;
  };
  const int steps = 60;
  GradScaler off({.enabled = false});
  const std::vector<double> ref = train_loop(fresh(), x, y, DType::F32, off, steps);
  GradScaler f16_scaler({.growth_interval = 20});
  int skipped = 0;
  const std::vector<double> f16 = train_loop(fresh(), x, y, DType::F16, f16_scaler, steps, &skipped);
  GradScaler bf16_off({.enabled = false});
  const std::vector<double> bf16 = train_loop(fresh(), x, y, DType::BF16, bf16_off, steps);
  EXPECT_LT(ref.back(), 0.5 * ref.front());
  EXPECT_EQ(skipped, 0);  // 65536 is safe for this net; the scale grew 3 times (every 20 clean steps)
  EXPECT_EQ(f16_scaler.get_scale(), 65536.0 * 8);
  // Same start; at the end within 5 % of the f32 loss (rounding perturbs the trajectory a little;
  // observed: 1.599 → 0.0403 in f32, 0.0403 in f16 and bf16, well inside).
  EXPECT_NEAR(f16.front(), ref.front(), 1e-3 * ref.front());
  EXPECT_NEAR(bf16.front(), ref.front(), 1e-2 * ref.front());
  EXPECT_NEAR(f16.back(), ref.back(), 0.05 * ref.back());
  EXPECT_NEAR(bf16.back(), ref.back(), 0.05 * ref.back());
}

// Starting with a scale that overflows f16: the scaler backs off, skipping those steps, then trains.
TEST(MixedPrecisionTraining, OverflowingScaleBacksOffThenTrains) {
  gen().manual_seed(22);  // the same data whichever tests ran before in this process
  Tensor x, y;
  toy_data(x, y);
  Mlp net;
  GradScaler s({.init_scale = std::ldexp(1.0, 40)});  // 2^40: f16 gradients overflow (max 65504)
  int skipped = 0;
  const std::vector<double> losses = train_loop(net, x, y, DType::F16, s, 80, &skipped);
  EXPECT_GT(skipped, 0);  // observed: 23, down to 2^17
  EXPECT_LT(skipped, 40);
  EXPECT_EQ(s.get_scale(), std::ldexp(1.0, 40 - skipped));  // halved once per skipped step
  // Skipped steps leave the loss where it was; afterwards it decreases.
  EXPECT_DOUBLE_EQ(losses[1], losses[0]);
  EXPECT_LT(losses.back(), 0.7 * losses.front());
}
