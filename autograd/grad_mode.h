// Thread-local gradient mode. Inside a NoGradGuard no graph is recorded (evaluation, optimizer
// updates, the backward pass itself). Thread-local so loader or evaluation threads never change the
// training thread's mode.
#pragma once

namespace mm {

class GradMode {
 public:
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace mm
