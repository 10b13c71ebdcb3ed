#include <gtest/gtest.h>

#include "autograd/grad/elementwise.h"

using namespace mm;

TEST(Engine, ChainRuleThroughBroadcast) {
  Tensor a = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}).set_requires_grad();
  Tensor b = Tensor::from_vector<double>({10, 20, 30}, {3}).set_requires_grad();
  Tensor y = exp(a * b * 0.01);
  y.backward(ops::ones_like(y));
  auto ga = a.grad().to_double_vector();
  auto gb = b.grad().to_double_vector();
  std::vector<double> av{1, 2, 3, 4, 5, 6}, bv{10, 20, 30};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(ga[i], std::exp(av[i] * bv[i % 3] * 0.01) * bv[i % 3] * 0.01, 1e-12);
  for (int j = 0; j < 3; ++j) {
    double e = 0;
    for (int i = 0; i < 2; ++i) e += std::exp(av[i * 3 + j] * bv[j] * 0.01) * av[i * 3 + j] * 0.01;
    EXPECT_NEAR(gb[j], e, 1e-12);
  }
}
