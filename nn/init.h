// Parameter initialisation, in place, with torch.nn.init's formulas and names. Each draws from the
// default Philox generator (manual_seed makes it reproducible), or from `gen` when given.
//
// fan_in / fan_out follow torch.nn.init._calculate_fan_in_and_fan_out: for a weight [out, in, k...],
// fan_in = in·Πk and fan_out = out·Πk. gain(nonlinearity, a) is torch.nn.init.calculate_gain.
#pragma once

#include <string>
#include <utility>

#include "runtime/philox.h"
#include "runtime/tensor.h"

namespace mm::nn::init {

std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& w);
double calculate_gain(const std::string& nonlinearity, double param = 0.01);

void uniform_(const Tensor& t, double low = 0.0, double high = 1.0, Generator* gen = nullptr);
void normal_(const Tensor& t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
// Normal(mean, std) restricted to [a, b] (resampling by inverse CDF, as torch.nn.init.trunc_normal_).
void trunc_normal_(const Tensor& t, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0,
                   Generator* gen = nullptr);
void constant_(const Tensor& t, double value);
void zeros_(const Tensor& t);
void ones_(const Tensor& t);
void xavier_uniform_(const Tensor& t, double gain = 1.0, Generator* gen = nullptr);
void xavier_normal_(const Tensor& t, double gain = 1.0, Generator* gen = nullptr);
// mode "fan_in" or "fan_out"; nonlinearity as calculate_gain ("leaky_relu" uses a).
void kaiming_uniform_(const Tensor& t, double a = 0.0, const std::string& mode = "fan_in",
                      const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);
void kaiming_normal_(const Tensor& t, double a = 0.0, const std::string& mode = "fan_in",
                     const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);

}  // namespace mm::nn::init
