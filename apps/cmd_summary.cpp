// mmalign summary: the towers a config describes, as a layer tree with each module's output shape
// (from one traced forward on a single example input), parameter count and forward FLOPs
// (children included).
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

#include "apps/commands.h"
#include "autograd/grad_mode.h"
#include "nn/trace.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "train/config.h"
#include "train/towers.h"

namespace mm::app {

namespace {

std::string human(double v) {
  const char* units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  while (v >= 1000.0 && u < 4) v /= 1000.0, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.2f%s", v, units[u]);
  return buf;
}

// Prints `m` and its descendants; returns the FLOPs of the subtree.
double print_tree(const nn::Module& m, const std::string& name, int depth, const nn::ForwardTrace& trace,
                  std::ostringstream& out) {
  std::ostringstream children;
  double flops = 0;
  for (auto& [child_name, child] : m.named_children())
    flops += print_tree(*child, child_name, depth + 1, trace, children);
  auto it = trace.entries.find(&m);
  if (it != trace.entries.end()) flops += it->second.flops;
  char line[256];
  const std::string label = std::string(2 * depth, ' ') + (name.empty() ? "" : "(" + name + ") ") + m.type_name();
  const std::string shape = it != trace.entries.end() ? shape_str(it->second.output) : "-";
  std::snprintf(line, sizeof line, "%-58s %-18s %12s %10s\n", label.c_str(), shape.c_str(),
                human(static_cast<double>(m.num_parameters())).c_str(), human(flops).c_str());
  out << line << children.str();
  return flops;
}

void summarize(const char* title, nn::Module& tower, const std::function<Tensor()>& run) {
  nn::ForwardTrace trace;
  Tensor features = run();
  std::ostringstream tree;
  const double flops = print_tree(tower, "", 0, trace, tree) + trace.untraced_flops;
  std::printf("%s tower: features %s, %s parameters, %s FLOPs per example\n", title,
              shape_str(features.shape()).c_str(), human(static_cast<double>(tower.num_parameters())).c_str(),
              human(flops).c_str());
  std::printf("%-58s %-18s %12s %10s\n", "module", "output", "params", "FLOPs");
  std::cout << tree.str() << "\n";
}

}  // namespace

int run_summary(const SummaryArgs& a) {
  train::Towers towers(train::load_config(a.config).model());
  towers.eval();
  NoGradGuard no_grad;
  if (towers.image) {
    const int64_t s = towers.image_size;
    summarize("image", *towers.image, [&] { return towers.image->features(ops::zeros({1, 3, s, s})); });
  }
  if (towers.text) {
    const int64_t t = towers.max_length;
    summarize("text", *towers.text, [&] {
      return towers.text->features(ops::ones({1, t}, DType::I64), ops::ones({1, t}, DType::I64));
    });
  }
  return 0;
}

}  // namespace mm::app
