// The progress reporter (train/progress.h): its formatting functions, and what it writes to the
// console stream and to train.log in both modes (a temporary file stands in for the terminal).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "tests/common/expect_error.h"
#include "tests/train/obs_temp_dir.h"
#include "train/progress.h"

namespace mm {
namespace {

using testing::ObsTempDir;
using testing::read_file;
using train::ProgressOptions;
using train::ProgressReporter;
using train::ProgressSample;

TEST(Progress, FormatEta) {
  EXPECT_EQ(train::format_eta(0), "0s");
  EXPECT_EQ(train::format_eta(45.4), "45s");
  EXPECT_EQ(train::format_eta(59.6), "1m00s");  // rounded before splitting: never "60s"
  EXPECT_EQ(train::format_eta(92), "1m32s");
  EXPECT_EQ(train::format_eta(3599.4), "59m59s");
  EXPECT_EQ(train::format_eta(3600), "1h00m");
  EXPECT_EQ(train::format_eta(7380), "2h03m");
  EXPECT_EQ(train::format_eta(90000), "1d01h");
  EXPECT_EQ(train::format_eta(-1), "?");
  EXPECT_EQ(train::format_eta(std::numeric_limits<double>::quiet_NaN()), "?");
  EXPECT_EQ(train::format_eta(std::numeric_limits<double>::infinity()), "?");
}

TEST(Progress, FormatBar) {
  EXPECT_EQ(train::format_bar(0, 600, 10), "[..........]");
  EXPECT_EQ(train::format_bar(120, 600, 10), "[##........]");
  EXPECT_EQ(train::format_bar(599, 600, 10), "[#########.]");  // rounded down: full only when done
  EXPECT_EQ(train::format_bar(600, 600, 10), "[##########]");
  EXPECT_EQ(train::format_bar(900, 600, 4), "[####]");
  EXPECT_EQ(train::format_bar(-5, 600, 4), "[....]");
  EXPECT_EQ(train::format_bar(3, 0, 4), "[....]");
  EXPECT_EQ(train::format_bar(1, 2).size(), 22u);
}

TEST(Progress, FormatLr) {
  EXPECT_EQ(train::format_lr(0.0012), "1.2e-3");
  EXPECT_EQ(train::format_lr(2e-5), "2e-5");
  EXPECT_EQ(train::format_lr(0.00999), "1e-2");
  EXPECT_EQ(train::format_lr(0.01), "0.01");
  EXPECT_EQ(train::format_lr(0.5), "0.5");
  EXPECT_EQ(train::format_lr(0), "0");
  EXPECT_EQ(train::format_lr(1.5e-10), "1.5e-10");
  EXPECT_EQ(train::format_lr(2.5e4), "2.5e4");
}

TEST(Progress, EtaIsMeanStepTimeTimesStepsLeft) {
  ProgressSample s;
  s.step = 120;
  s.elapsed_s = 24;
  EXPECT_DOUBLE_EQ(train::eta_seconds(s, 0, 600), 96.0);
  EXPECT_DOUBLE_EQ(train::eta_seconds(s, 100, 600), 576.0);  // resumed at 100: 20 steps took 24 s
  EXPECT_LT(train::eta_seconds(s, 120, 600), 0);              // no step done yet: unknown
  s.step = 600;
  EXPECT_EQ(train::eta_seconds(s, 0, 600), 0.0);
}

TEST(Progress, Lines) {
  ProgressSample s{120, 2.31, 0.0012, 14.2857, 312.4, 24};
  EXPECT_EQ(train::format_bar_line(s, 0, 600),
            "step 120/600 [####................] loss 2.310 lr 1.2e-3 312 pairs/s ETA 1m36s");
  EXPECT_EQ(train::format_plain_line(s, 600), "step 120/600  loss 2.3100  lr 0.0012  scale 14.29  312 pairs/s  24 s");
}

// Runs steps 1..n through a reporter writing to a temporary "console"; returns what it wrote there.
std::string drive(ProgressOptions o, int64_t n, bool with_message) {
  FILE* out = std::tmpfile();
  EXPECT_NE(out, nullptr);
  o.out = out;
  {
    ProgressReporter p(o);
    for (int64_t step = 1; step <= n; ++step) {
      p.update({step, 1.0 / static_cast<double>(step), 1e-3, 10, 100, 0.5 * static_cast<double>(step)});
      if (with_message && step == 4) p.message("eval {\"rsum\":1.5}");
    }
  }
  std::string text;
  std::rewind(out);
  for (int c; (c = std::fgetc(out)) != EOF;) text.push_back(static_cast<char>(c));
  std::fclose(out);
  return text;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(Progress, PlainLinesEveryLogEveryAndInTrainLog) {
  ObsTempDir dir;
  ProgressOptions o;
  o.total_steps = 10;
  o.log_every = 4;
  o.mode = ProgressOptions::Mode::Lines;
  o.log_path = dir.file("train.log");
  const std::string console = drive(o, 10, true);
  const std::string want = "step 4/10  loss 0.2500  lr 0.001  scale 10.00  100 pairs/s  2 s\n"
                           "eval {\"rsum\":1.5}\n"
                           "step 8/10  loss 0.1250  lr 0.001  scale 10.00  100 pairs/s  4 s\n"
                           "step 10/10  loss 0.1000  lr 0.001  scale 10.00  100 pairs/s  5 s\n";
  EXPECT_EQ(console, want);
  EXPECT_EQ(read_file(o.log_path), want);
}

TEST(Progress, BarRedrawsInPlaceAndLogsPlainLines) {
  ObsTempDir dir;
  ProgressOptions o;
  o.total_steps = 10;
  o.log_every = 5;
  o.mode = ProgressOptions::Mode::Bar;
  o.min_redraw_s = 0;  // every step
  o.log_path = dir.file("train.log");
  const std::string console = drive(o, 10, true);
  // Ten draws plus the message's erase; one newline after the message, one at the end.
  EXPECT_EQ(count(console, "\r"), 11u);
  EXPECT_EQ(count(console, "\x1b[K"), 11u);
  EXPECT_EQ(count(console, "\n"), 2u);
  EXPECT_NE(console.find("\rstep 10/10 [####################] loss 0.100 lr 1e-3 100 pairs/s ETA 0s\x1b[K\n"),
            std::string::npos) << console;
  EXPECT_NE(console.find("\r\x1b[Keval {\"rsum\":1.5}\n\rstep 5/10 "), std::string::npos) << console;
  // The log has the plain lines only, whatever the console showed.
  EXPECT_EQ(read_file(o.log_path), "eval {\"rsum\":1.5}\n"
                                   "step 5/10  loss 0.2000  lr 0.001  scale 10.00  100 pairs/s  2 s\n"
                                   "step 10/10  loss 0.1000  lr 0.001  scale 10.00  100 pairs/s  5 s\n");
}

TEST(Progress, BarIsThrottledButAlwaysShowsTheLastStep) {
  ProgressOptions o;
  o.total_steps = 50;
  o.mode = ProgressOptions::Mode::Bar;
  o.min_redraw_s = 1e9;  // only the first draw and the final step
  const std::string console = drive(o, 50, false);
  EXPECT_EQ(count(console, "\r"), 2u) << console;
  EXPECT_NE(console.find("\rstep 1/50 "), std::string::npos);
  EXPECT_NE(console.find("\rstep 50/50 "), std::string::npos);
}

TEST(Progress, AutoModeOnAFileIsLines) {
  ProgressOptions o;
  o.total_steps = 3;
  o.log_every = 1;
  const std::string console = drive(o, 3, false);  // a temporary file is not a terminal
  EXPECT_EQ(count(console, "\r"), 0u);
  EXPECT_EQ(count(console, "\n"), 3u);
}

TEST(Progress, BadOptionsAndUnwritableLog) {
  ProgressOptions o;
  o.total_steps = 10;
  o.log_every = 0;
  EXPECT_ERROR_CONTAINS(ProgressReporter{o}, ErrorKind::Value, "log_every");
  o.log_every = 1;
  o.log_path = "/nonexistent-dir/train.log";
  EXPECT_ERROR_CONTAINS(ProgressReporter{o}, ErrorKind::Runtime, "/nonexistent-dir/train.log");
}

}  // namespace
}  // namespace mm
