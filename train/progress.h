// Training progress on the console and in train.log (SPEC §7 "Observability").
//
// On a terminal, one line redrawn in place ('\r', then "erase to end of line"), at most every
// min_redraw_s seconds and always at the last step:
//     step 120/600 [####................] loss 2.31 lr 1.2e-3 312 pairs/s ETA 1m32s
// Otherwise (a pipe, a file, CI), the plain line of the trainer every log_every steps and at the end:
//     step 120/600  loss 2.3100  lr 0.0012  scale 14.29  312 pairs/s  38 s
// Either way, those plain lines are appended to the log file (train.log in the run directory) with
// the messages (evaluation results, warnings), so the file reads the same whatever the console was.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace mm::train {

struct ProgressSample {
  int64_t step = 0;  // steps done (1-based after the first step)
  double loss = 0, lr = 0, logit_scale = 0, pairs_per_second = 0;
  double elapsed_s = 0;  // since training (or this resumed part of it) started
};

struct ProgressOptions {
  int64_t total_steps = 0;
  int64_t first_step = 0;  // steps already done when training started (a resumed run): the ETA's origin
  int64_t log_every = 20;
  std::string log_path;    // train.log; empty: no file
  enum class Mode { Auto, Bar, Lines } mode = Mode::Auto;  // Auto: Bar when `out` is a terminal
  double min_redraw_s = 0.2;
  FILE* out = stdout;
};

class ProgressReporter {
 public:
  explicit ProgressReporter(ProgressOptions options);
  ~ProgressReporter();  // ends the bar's line
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // After every step (cheap: draws or prints only when due).
  void update(const ProgressSample& s);
  // A line of its own (an evaluation result, a warning): printed above the bar, and logged.
  void message(const std::string& line);
  // Ends the bar's line (later output starts on a fresh line); idempotent.
  void finish();

  bool bar() const { return bar_; }

 private:
  void log(const std::string& line);

  ProgressOptions o_;
  bool bar_ = false;
  bool bar_drawn_ = false;  // the cursor is on the bar's line
  double last_draw_s_ = -1e300;
  std::unique_ptr<FILE, int (*)(FILE*)> log_;
};

// ---- formatting (pure functions, tested without a terminal) -----------------------------------------

// "45s", "1m32s", "2h03m", "3d04h"; "?" for a negative or non-finite value.
std::string format_eta(double seconds);
// "[#####...............]": `width` cells, done/total filled (rounded down; clamped to [0, width]).
std::string format_bar(int64_t done, int64_t total, int width = 20);
// Two significant digits, compact exponent: 0.0012 → "1.2e-3", 0.5 → "0.5", 2e-05 → "2e-5", 0 → "0".
std::string format_lr(double lr);
// The estimated seconds left: the mean time per step of this run so far times the steps left.
double eta_seconds(const ProgressSample& s, int64_t first_step, int64_t total_steps);
// The terminal line (no '\r').
std::string format_bar_line(const ProgressSample& s, int64_t first_step, int64_t total_steps);
// The plain periodic line, as the trainer printed it before the bar existed.
std::string format_plain_line(const ProgressSample& s, int64_t total_steps);

}  // namespace mm::train
