#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

#include "runtime/error.h"

namespace mm::train {

namespace {

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <typename... Args>
std::string printf_string(const char* fmt, Args... args) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), fmt, args...);
  return buf;
}

// A terminal that understands "\x1b[K" (erase to end of line): a TTY whose TERM is not "dumb".
bool is_terminal(FILE* f) {
  if (f == nullptr || !isatty(fileno(f))) return false;
  const char* term = std::getenv("TERM");
  return term == nullptr || std::string_view(term) != "dumb";
}

}  // namespace

std::string format_eta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  if (s < 60) return printf_string("%llds", static_cast<long long>(s));
  if (s < 3600) return printf_string("%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  if (s < 86400)
    return printf_string("%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>(s % 3600 / 60));
  return printf_string("%lldd%02lldh", static_cast<long long>(s / 86400), static_cast<long long>(s % 86400 / 3600));
}

std::string format_bar(int64_t done, int64_t total, int width) {
  int64_t filled = total > 0 ? done * width / total : 0;
  filled = std::max<int64_t>(0, std::min<int64_t>(width, filled));
  std::string bar = "[";
  bar.append(static_cast<size_t>(filled), '#').append(static_cast<size_t>(width - filled), '.').append("]");
  return bar;
}

std::string format_lr(double lr) {
  if (lr == 0) return "0";
  if (!std::isfinite(lr)) return printf_string("%g", lr);
  const double a = std::fabs(lr);
  if (a >= 0.01 && a < 1000) return printf_string("%.2g", lr);
  // "%.1e" gives "1.2e-03" / "2.0e-05": drop a ".0" mantissa, the exponent's '+' and leading zeros.
  std::string s = printf_string("%.1e", lr);
  const size_t e = s.find('e');
  std::string mant = s.substr(0, e), exp = s.substr(e + 1);
  if (mant.size() >= 2 && mant.compare(mant.size() - 2, 2, ".0") == 0) mant.resize(mant.size() - 2);
  std::string sign;
  if (exp[0] == '-' || exp[0] == '+') {
    if (exp[0] == '-') sign = "-";
    exp.erase(0, 1);
  }
  exp.erase(0, std::min(exp.find_first_not_of('0'), exp.size() - 1));
  mant.append("e").append(sign).append(exp);
  return mant;
}

double eta_seconds(const ProgressSample& s, int64_t first_step, int64_t total_steps) {
  const int64_t done = s.step - first_step, left = total_steps - s.step;
  if (done <= 0 || s.elapsed_s <= 0) return -1;  // no rate yet
  return left <= 0 ? 0.0 : s.elapsed_s / static_cast<double>(done) * static_cast<double>(left);
}

std::string format_bar_line(const ProgressSample& s, int64_t first_step, int64_t total_steps) {
  std::string line = printf_string("step %lld/%lld ", static_cast<long long>(s.step), static_cast<long long>(total_steps));
  line.append(format_bar(s.step, total_steps))
      .append(printf_string(" loss %.3f lr ", s.loss))
      .append(format_lr(s.lr))
      .append(printf_string(" %.0f pairs/s ETA ", s.pairs_per_second))
      .append(format_eta(eta_seconds(s, first_step, total_steps)));
  return line;
}

std::string format_plain_line(const ProgressSample& s, int64_t total_steps) {
  return printf_string("step %lld/%lld  loss %.4f  lr %.3g  scale %.2f  %.0f pairs/s  %.0f s",
                       static_cast<long long>(s.step), static_cast<long long>(total_steps), s.loss, s.lr,
                       s.logit_scale, s.pairs_per_second, s.elapsed_s);
}

ProgressReporter::ProgressReporter(ProgressOptions options) : o_(std::move(options)), log_(nullptr, &std::fclose) {
  MM_CHECK(o_.total_steps >= 0 && o_.log_every >= 1, Value, "progress", "total_steps ", o_.total_steps,
           " must be >= 0 and log_every ", o_.log_every, " >= 1");
  bar_ = o_.mode == ProgressOptions::Mode::Bar || (o_.mode == ProgressOptions::Mode::Auto && is_terminal(o_.out));
  if (!o_.log_path.empty()) {
    log_.reset(std::fopen(o_.log_path.c_str(), "a"));  // append: a resumed run continues the log
    MM_CHECK(log_ != nullptr, Runtime, "progress", "cannot open ", o_.log_path, ": ", std::strerror(errno));
  }
}

ProgressReporter::~ProgressReporter() { finish(); }

void ProgressReporter::update(const ProgressSample& s) {
  const bool periodic = s.step % o_.log_every == 0 || s.step == o_.total_steps;
  if (periodic) log(format_plain_line(s, o_.total_steps));
  if (!bar_) {
    if (periodic) {
      std::fprintf(o_.out, "%s\n", format_plain_line(s, o_.total_steps).c_str());
      std::fflush(o_.out);
    }
    return;
  }
  // Redrawing every step would cost a write per step and flicker; a few times a second reads as live.
  const double now = monotonic_seconds();
  if (now - last_draw_s_ < o_.min_redraw_s && s.step != o_.total_steps) return;
  last_draw_s_ = now;
  std::fprintf(o_.out, "\r%s\x1b[K", format_bar_line(s, o_.first_step, o_.total_steps).c_str());
  std::fflush(o_.out);
  bar_drawn_ = true;
}

void ProgressReporter::message(const std::string& line) {
  if (bar_drawn_) {
    std::fputs("\r\x1b[K", o_.out);  // the message takes the bar's line; the next update redraws it below
    bar_drawn_ = false;
    last_draw_s_ = -1e300;
  }
  std::fprintf(o_.out, "%s\n", line.c_str());
  std::fflush(o_.out);
  log(line);
}

void ProgressReporter::finish() {
  if (!bar_drawn_) return;
  std::fputs("\n", o_.out);
  std::fflush(o_.out);
  bar_drawn_ = false;
}

void ProgressReporter::log(const std::string& line) {
  if (!log_) return;
  // Flushed per line: train.log is what one reads when a run died.
  MM_CHECK(std::fprintf(log_.get(), "%s\n", line.c_str()) >= 0 && std::fflush(log_.get()) == 0, Runtime,
           "progress", "cannot write ", o_.log_path, ": ", std::strerror(errno));
}

}  // namespace mm::train
