// A small, complete autograd example: fit a 1-32-32-1 tanh MLP to y = sin(3x) + 0.5x on [-1, 1]
// with Adam, full-batch. It is what `mmalign demo` runs until the training pipeline exists, and a
// readable tour of the API: tensors, parameters, a forward pass, backward(), an optimizer update.
#pragma once

#include <cstdint>
#include <functional>

namespace mm {

struct ToyFitOptions {
  int steps = 300;
  int points = 256;
  uint64_t seed = 0;
  double lr = 1e-2;
};

struct ToyFitResult {
  double initial_loss = 0;
  double final_loss = 0;
};

// Calls on_step(step, loss) for every step.
ToyFitResult toy_fit(const ToyFitOptions& opt, const std::function<void(int, double)>& on_step);

}  // namespace mm
