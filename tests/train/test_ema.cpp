// EMA of weights (train/ema.h) on a tiny module: exact values (dyadic numbers, or the same f32
// operations written out), buffers copied rather than averaged, the warmup decay, checkpoints that
// continue bitwise, and evaluation with the average swapped in and out.
#include <gtest/gtest.h>

#include "nn/layers.h"
#include "ops/copy.h"
#include "tests/common/expect_error.h"
#include "train/ema.h"

namespace mm::train {
namespace {

class Tiny : public nn::Module {
 public:
  Tiny() : Module("Tiny") {
    fc = register_module("fc", std::make_shared<nn::Linear>(2, 1));
    bn = register_module("bn", std::make_shared<nn::BatchNorm1d>(2));
  }
  // Every parameter to p, the running mean to m, the batch count to n.
  void set(double p, double m, int64_t n) {
    for (const Tensor& t : parameters()) ops::fill_(t, p);
    ops::fill_(bn->running_mean, m);
    ops::fill_(bn->num_batches_tracked, static_cast<double>(n));
  }
  std::shared_ptr<nn::Linear> fc;
  std::shared_ptr<nn::BatchNorm1d> bn;
};

// The model's values now (state_dict hands out live tensors, so copy them out).
std::vector<std::vector<double>> snapshot(const nn::Module& m) {
  std::vector<std::vector<double>> out;
  for (auto& [name, t] : m.state_dict()) out.push_back(t.to_double_vector());
  return out;
}

std::vector<double> values(const Ema& ema, const std::string& name) {
  for (auto& [n, t] : ema.values())
    if (n == name) return t.to_double_vector();
  ADD_FAILURE() << "no " << name;
  return {};
}

TEST(Ema, AveragesParametersAndCopiesBuffers) {
  Tiny m;
  m.set(1.0, 0.5, 0);
  Ema ema(m, {0.75, false});
  EXPECT_EQ(values(ema, "fc.weight"), (std::vector<double>{1.0, 1.0}));  // starts at the model
  m.set(3.0, 2.0, 7);
  ema.update(m);
  EXPECT_EQ(values(ema, "fc.weight"), (std::vector<double>{1.5, 1.5}));  // 0.75·1 + 0.25·3
  EXPECT_EQ(values(ema, "bn.bias"), (std::vector<double>{1.5, 1.5}));
  EXPECT_EQ(values(ema, "bn.running_mean"), (std::vector<double>{2.0, 2.0}));  // copied
  EXPECT_EQ(values(ema, "bn.num_batches_tracked"), (std::vector<double>{7}));
  m.set(-1.0, 4.0, 8);
  ema.update(m);
  EXPECT_EQ(values(ema, "fc.bias"), (std::vector<double>{0.875}));  // 0.75·1.5 + 0.25·(−1)
  EXPECT_EQ(values(ema, "bn.running_mean"), (std::vector<double>{4.0, 4.0}));
  EXPECT_EQ(ema.num_updates(), 2);
  EXPECT_EQ(ema.values().size(), m.state_dict().size());
}

// decay_t = min(decay, (1 + t)/(10 + t)); each update is e·d + θ·(1 − d) in f32, the scalars rounded
// to f32 (volatile keeps the compiler from fusing the reference's multiply-add).
TEST(Ema, WarmupDecayAndF32Arithmetic) {
  Tiny m;
  m.set(1.0, 0.0, 0);
  Ema ema(m, {0.25, true});
  float e = 1.0f;
  const float params[] = {3.0f, -0.7f, 0.1f, 5.0f};
  for (int t = 0; t < 4; ++t) {
    const double d = std::min(0.25, (1.0 + t) / (10.0 + t));
    EXPECT_EQ(ema.next_decay(), d) << t;
    volatile float kept = e * static_cast<float>(d);
    volatile float fresh = params[t] * static_cast<float>(1.0 - d);
    e = kept + fresh;
    m.set(params[t], 0.0, 0);
    ema.update(m);
    EXPECT_EQ(values(ema, "fc.weight"), (std::vector<double>{e, e})) << t;
  }
  EXPECT_EQ(ema.next_decay(), 0.25);  // (1 + 4)/(10 + 4) > 0.25: the cap
}

TEST(Ema, StateDictRoundTripContinuesBitwise) {
  Tiny m;
  m.set(0.3, 0.1, 1);
  Ema a(m, {0.9, true});
  m.set(0.7, 0.2, 2);
  a.update(m);
  const auto saved = a.state_dict();
  EXPECT_EQ(saved.size(), m.state_dict().size() + 1);
  EXPECT_TRUE(saved.count("ema.fc.weight") && saved.count("ema.bn.running_var"));
  EXPECT_EQ(saved.at("ema_num_updates").item(), 1);
  Tiny other;
  other.set(9.0, 9.0, 9);
  Ema b(other, {0.9, true});
  b.load_state_dict(saved);
  EXPECT_EQ(b.num_updates(), 1);
  m.set(-0.45, 0.3, 3);
  a.update(m);
  b.update(m);
  for (size_t i = 0; i < a.values().size(); ++i)
    EXPECT_EQ(a.values()[i].second.to_double_vector(), b.values()[i].second.to_double_vector()) << a.values()[i].first;
}

TEST(Ema, BadStateIsRejectedByKeyAndNothingIsLoaded) {
  Tiny m;
  m.set(0.5, 0.0, 0);
  Ema ema(m, {0.9, false});
  const auto good = ema.state_dict();
  auto edit = [&](const std::string& key, const Tensor& t) {
    auto s = good;
    if (t.defined())
      s[key] = t;
    else
      s.erase(key);
    return s;
  };
  EXPECT_ERROR_CONTAINS(ema.load_state_dict(edit("ema.fc.weight", Tensor())), ErrorKind::Value, "Ema",
                        "'ema.fc.weight' is missing");
  EXPECT_ERROR_CONTAINS(ema.load_state_dict(edit("ema.nope", ops::zeros({1}))), ErrorKind::Value, "'ema.nope'",
                        "not part of this model's average");
  EXPECT_ERROR_CONTAINS(ema.load_state_dict(edit("ema.fc.weight", ops::zeros({2, 1}))), ErrorKind::Shape,
                        "'ema.fc.weight'", "[2,1]", "[1,2]");
  EXPECT_ERROR_CONTAINS(ema.load_state_dict(edit("ema.fc.bias", ops::zeros({1}, DType::F64))), ErrorKind::DType,
                        "'ema.fc.bias'", "f64");
  EXPECT_ERROR_CONTAINS(ema.load_state_dict(edit("ema_num_updates", ops::zeros({}))), ErrorKind::Value,
                        "'ema_num_updates'", "0-d i64");
  EXPECT_EQ(values(ema, "fc.weight"), (std::vector<double>{0.5, 0.5}));
  Tiny m2;
  auto lin = std::make_shared<nn::Linear>(2, 1);
  EXPECT_ERROR_CONTAINS(ema.update(*lin), ErrorKind::Value, "Ema", "update");
  EXPECT_ERROR_CONTAINS(Ema(m2, {1.5, false}), ErrorKind::Value, "Ema", "decay");
}

TEST(Ema, SwapInForEvaluationAndRestoreExactly) {
  Tiny m;
  m.set(1.0, 0.5, 3);
  Ema ema(m, {0.5, false});
  m.set(2.0, 1.5, 4);
  ema.update(m);  // parameters 1.5, running mean 1.5 (copied)
  m.set(0.1, 0.7, 5);
  const auto before = snapshot(m);
  {
    EmaSwap swap(ema, m);
    EXPECT_EQ(m.fc->weight.to_double_vector(), (std::vector<double>{1.5, 1.5}));
    EXPECT_EQ(m.bn->running_mean.to_double_vector(), (std::vector<double>{1.5, 1.5}));
    EXPECT_TRUE(m.fc->weight.requires_grad());  // still a trainable parameter
    swap.restore();
    swap.restore();  // idempotent
    EXPECT_EQ(snapshot(m), before);
    ema.copy_to(m);  // copy_to on its own does not restore (the swap already did)
  }
  EXPECT_EQ(m.fc->weight.to_double_vector(), (std::vector<double>{1.5, 1.5}));
  {
    m.set(0.1, 0.7, 5);
    EmaSwap swap(ema, m);
  }
  EXPECT_EQ(snapshot(m), before);  // bit for bit, buffers included
}

TEST(Ema, LowPrecisionParametersAverageInF32) {
  Tiny m;
  m.to(DType::BF16);
  Ema ema(m, {0.5, false});
  for (auto& [name, t] : ema.values()) {
    const bool buffer = name.find("running") != std::string::npos || name == "bn.num_batches_tracked";
    // Buffers are copied as they are; parameters average in f32.
    const DType expected = name == "bn.num_batches_tracked" ? DType::I64 : buffer ? DType::BF16 : DType::F32;
    EXPECT_EQ(t.dtype(), expected) << name;
  }
}

}  // namespace
}  // namespace mm::train
