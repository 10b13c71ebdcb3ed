// Reading the PyTorch golden files written by tools/golden/towers.py (tests/golden/towers/*.safetensors):
// weights/<name>, inputs/<name>, outputs/<name>, loss_weights/<output>, grads/inputs/<name>,
// grads/params/<name>, and a JSON architecture description in the metadata under "config".
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "nn/module.h"
#include "ops/copy.h"
#include "runtime/safetensors.h"

namespace mm::testing {

struct Golden {
  std::map<std::string, Tensor> all;
  nlohmann::json config;
  std::string mode;

  explicit Golden(const std::string& name) {
    const std::string path = std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/towers/" + name + ".safetensors";
    safetensors::File f = safetensors::File::open(path);
    for (const auto& info : f.tensors()) all[info.name] = f.load(info.name);
    config = nlohmann::json::parse(f.metadata().at("config"));
    mode = f.metadata().at("mode");
  }
  // Every entry under `prefix` ("weights/"), with the prefix removed.
  nn::NamedTensors group(const std::string& prefix) const {
    nn::NamedTensors out;
    for (const auto& [k, v] : all)
      if (k.rfind(prefix, 0) == 0) out.emplace_back(k.substr(prefix.size()), v);
    return out;
  }
  const Tensor& at(const std::string& key) const {
    auto it = all.find(key);
    if (it == all.end()) throw std::runtime_error("golden file has no " + key);
    return it->second;
  }
};

// max|got − want| / max|want|: outputs after ReLU and gradients hold exact zeros, where an
// element-wise relative error means nothing.
inline double relative_error(const Tensor& got, const Tensor& want) {
  auto g = ops::to_device(got, kCPU).to_double_vector(), w = want.to_double_vector();
  EXPECT_EQ(g.size(), w.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < std::min(g.size(), w.size()); ++i) {
    diff = std::max(diff, std::fabs(g[i] - w[i]));
    scale = std::max(scale, std::fabs(w[i]));
  }
  return scale == 0 ? diff : diff / scale;
}

#define EXPECT_MATCHES_GOLDEN(got, want, tol, what)                                                  \
  do {                                                                                               \
    ASSERT_TRUE((got).defined()) << what << " was not computed";                                     \
    ASSERT_EQ(shape_str((got).shape()), shape_str((want).shape())) << what;                          \
    EXPECT_LE(::mm::testing::relative_error(got, want), tol) << what;                                \
  } while (0)

}  // namespace mm::testing
