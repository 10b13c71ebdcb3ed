// SIGINT / SIGTERM during training: the handler only records the signal; the trainer polls
// `stop_requested()` between steps, writes a checkpoint and exits cleanly (exit status 128 + signal,
// the shell convention, so a script's `mmalign train ... && next` does not go on). A second signal
// while the checkpoint is being written is recorded too but does not interrupt the write.
#pragma once

namespace mm::train {

// Installs the handlers (idempotent); the previous handlers come back when the guard is destroyed.
class StopSignalGuard {
 public:
  StopSignalGuard();
  ~StopSignalGuard();
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;
};

// The signal received since the guard was installed (SIGINT or SIGTERM), or 0.
int stop_requested();

// For tests: forget a recorded signal.
void clear_stop_request();

}  // namespace mm::train
