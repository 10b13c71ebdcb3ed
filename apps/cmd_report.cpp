// `mmalign report --run DIR [--out FILE]`: the run's self-contained report.html (train/report.h).
#include <cstdio>

#include "apps/commands.h"
#include "train/report.h"

namespace mm::app {

int run_report(const ReportArgs& a) {
  const std::string out = train::write_report(a.run, a.out);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace mm::app
