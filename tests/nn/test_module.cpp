// Module mechanics: names and order (PyTorch's), state_dict / strict load_state_dict errors, modes,
// placement, gradients.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "nn/containers.h"
#include "nn/layers.h"
#include "ops/copy.h"
#include "tests/common/expect_error.h"

namespace mm::nn {
namespace {

// conv → bn → relu → fc, in the shape of a tiny torchvision-style network.
class Tiny : public Module {
 public:
  Tiny() : Module("Tiny") {
    conv1 = register_module("conv1", std::make_shared<Conv2d>(3, 4, 3, Conv2dOptions{.padding = {1, 1}, .bias = false}));
    bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(4));
    layers = register_module("layers", std::make_shared<Sequential>(
                                           std::initializer_list<ModulePtr>{std::make_shared<Linear>(4, 5), ReLU(),
                                                                            std::make_shared<Linear>(5, 2)}));
    scale = ops::ones({1});
    register_parameter("scale", &scale);
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = relu((*bn1)((*conv1)(x)));
    h = mean(h, {2, 3});
    return mul((*layers)(h), scale);
  }
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<Sequential> layers;
  Tensor scale;
};

std::vector<std::string> names(const NamedTensors& v) {
  std::vector<std::string> n;
  for (auto& [k, t] : v) n.push_back(k);
  return n;
}

TEST(Module, StateDictNamesAndOrderFollowPyTorch) {
  Tiny m;
  // torch: own parameters first, then buffers, then children in registration order.
  EXPECT_EQ(names(m.state_dict()),
            (std::vector<std::string>{"scale", "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                      "bn1.running_var", "bn1.num_batches_tracked", "layers.0.weight",
                                      "layers.0.bias", "layers.2.weight", "layers.2.bias"}));
  EXPECT_EQ(names(m.named_parameters()).size(), 8u);
  EXPECT_EQ(m.num_parameters(), 1 + 4 * 3 * 9 + 4 + 4 + 20 + 5 + 10 + 2);
  EXPECT_EQ(m.named_modules().size(), 7u);  // Tiny, conv1, bn1, layers, 3 layers children
}

TEST(Module, LoadStateDictRoundTripsValues) {
  Tiny a, b;
  b.load_state_dict(a.state_dict());
  auto sa = a.state_dict(), sb = b.state_dict();
  for (size_t i = 0; i < sa.size(); ++i)
    EXPECT_EQ(sa[i].second.to_double_vector(), sb[i].second.to_double_vector()) << sa[i].first;
  // The loaded tensors are still the module's parameters (leaves that require grad).
  EXPECT_TRUE(b.conv1->weight.requires_grad());
  EXPECT_TRUE(b.named_parameters()[1].second.same(b.conv1->weight));
}

TEST(Module, StrictLoadListsEveryProblemAndChangesNothing) {
  Tiny a, b;
  const auto before = b.conv1->weight.to_double_vector();
  NamedTensors s = a.state_dict();
  s.erase(s.begin() + 1);                                // conv1.weight missing
  s.emplace_back("head.weight", ops::zeros({2, 2}));     // unexpected
  s[4].second = ops::zeros({7});                         // bn1.running_var mis-shaped
  const std::string msg = mm::testing::error_message([&] { b.load_state_dict(s); });
  EXPECT_NE(msg.find("missing keys: conv1.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected keys: head.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mis-shaped keys: bn1.running_var (checkpoint [7], module [4])"), std::string::npos) << msg;
  EXPECT_EQ(b.conv1->weight.to_double_vector(), before);
  EXPECT_NE(b.bn1->weight.to_double_vector(), std::vector<double>(4, 0.0));
}

TEST(Module, NonStrictLoadReportsMissingAndUnexpected) {
  Tiny a, b;
  NamedTensors s = a.state_dict();
  s.erase(s.begin());
  s.emplace_back("extra", ops::zeros({1}));
  LoadResult r = b.load_state_dict(s, /*strict=*/false);
  EXPECT_EQ(r.missing, std::vector<std::string>{"scale"});
  EXPECT_EQ(r.unexpected, std::vector<std::string>{"extra"});
  EXPECT_EQ(b.conv1->weight.to_double_vector(), a.conv1->weight.to_double_vector());
  s[0].second = ops::zeros({9, 9, 9, 9});  // shape mismatches are errors even when not strict
  EXPECT_ERROR_CONTAINS(b.load_state_dict(s, false), ErrorKind::Value, "mis-shaped");
}

TEST(Module, TrainEvalReachesEveryChild) {
  Tiny m;
  m.eval();
  for (auto& [name, mod] : m.named_modules()) EXPECT_FALSE(mod->is_training()) << name;
  m.train();
  for (auto& [name, mod] : m.named_modules()) EXPECT_TRUE(mod->is_training()) << name;
}

TEST(Module, BackwardFillsEveryParameterAndZeroGradDropsThem) {
  Tiny m;
  Tensor y = m(ops::ones({2, 3, 5, 5}));
  sum(y).backward();
  for (auto& [name, p] : m.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
  m.zero_grad();
  for (auto& [name, p] : m.named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;
}

TEST(Module, ToDtypeConvertsFloatingStateOnly) {
  Tiny m;
  m.to(DType::F64);
  for (auto& [name, t] : m.state_dict()) {
    if (name == "bn1.num_batches_tracked")
      EXPECT_EQ(t.dtype(), DType::I64);
    else
      EXPECT_EQ(t.dtype(), DType::F64) << name;
  }
  EXPECT_TRUE(m.conv1->weight.requires_grad());
  EXPECT_EQ(m(ops::ones({1, 3, 4, 4}, DType::F64)).dtype(), DType::F64);
}

TEST(Module, NamesAreValidatedAndUnique) {
  struct Bad : Module {
    Tensor w = ops::ones({1});
    Bad() : Module("Bad") { register_parameter("w", &w); }
    void again() { register_parameter("w", &w); }
    void dotted() { register_buffer("a.b", &w); }
  } b;
  EXPECT_ERROR_CONTAINS(b.again(), ErrorKind::Value, "registered twice");
  EXPECT_ERROR_CONTAINS(b.dotted(), ErrorKind::Value, "invalid name");
  EXPECT_ERROR_CONTAINS(std::make_shared<ModuleList>()->forward(ops::ones({1})), ErrorKind::Value,
                        "no single-tensor forward");
}

TEST(Module, ReprPrintsTheTree) {
  Tiny m;
  const std::string r = m.repr();
  EXPECT_NE(r.find("(conv1): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("(layers): Sequential(\n    (0): Linear(in_features=4, out_features=5, bias=True)"),
            std::string::npos)
      << r;
}

}  // namespace
}  // namespace mm::nn
