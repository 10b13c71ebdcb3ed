// `mmalign ablate --config F [--rungs v0,v1,...] [--set k=v]... --out DIR` (SPEC §5.3): trains every
// rung of the cross-attention ladder as the alignment head (train/ablate.h) and writes DIR/ablation.md
// and DIR/ablation.json (rewritten after each rung, so an interrupted sweep keeps what it finished).
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "apps/commands.h"
#include "train/ablate.h"

namespace mm::app {

int run_ablate(const AblateArgs& a) {
  train::config::Config cfg = train::load_config(a.config);
  for (const std::string& kv : a.overrides) train::apply_override(cfg, kv);
  std::vector<std::string> rungs;
  std::stringstream ss(a.rungs);
  for (std::string r; std::getline(ss, r, ',');)
    if (!r.empty()) rungs.push_back(r);
  std::filesystem::create_directories(a.out);
  const auto rows = train::run_ablation(cfg, std::filesystem::path(a.config).parent_path().string(), rungs, a.out);
  std::printf("\n%s\ntable: %s/ablation.md\n", train::ablation_table(rows).c_str(), a.out.c_str());
  return 0;
}

}  // namespace mm::app
