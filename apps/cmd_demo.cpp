// `mmalign demo`: the quick-start job until the training pipeline lands — fits a small MLP with the
// autograd engine and prints the loss going down (train/toy_fit.cpp).
#include <cstdio>

#include "apps/commands.h"
#include "runtime/parallel.h"
#include "train/toy_fit.h"

namespace mm::app {

int run_demo(const DemoArgs& args) {
  if (args.threads > 0) set_num_threads(args.threads);
  ToyFitOptions opt;
  opt.steps = args.steps;
  opt.seed = args.seed;
  std::printf("mmalign demo: fitting y = sin(3x) + 0.5x with a 1-32-32-1 tanh MLP (Adam, %d steps, %d threads)\n",
              opt.steps, num_threads());
  int every = opt.steps >= 20 ? opt.steps / 20 : 1;
  ToyFitResult r = toy_fit(opt, [&](int step, double loss) {
    if (step == 1 || step % every == 0 || step == opt.steps) std::printf("step %5d  loss %.6f\n", step, loss);
  });
  std::printf("loss %.6f -> %.6f (%.1fx lower)\n", r.initial_loss, r.final_loss, r.initial_loss / r.final_loss);
  return r.final_loss < r.initial_loss ? 0 : 1;
}

}  // namespace mm::app
