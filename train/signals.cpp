#include "train/signals.h"

#include <atomic>
#include <csignal>

namespace mm::train {

namespace {

std::atomic<int> g_signal{0};
struct sigaction g_old_int, g_old_term;
int g_guards = 0;

extern "C" void record_signal(int sig) { g_signal.store(sig); }  // async-signal-safe: one atomic store

}  // namespace

StopSignalGuard::StopSignalGuard() {
  if (g_guards++ > 0) return;
  struct sigaction sa {};
  sa.sa_handler = record_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // blocking reads (the loader's) resume instead of failing with EINTR
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopSignalGuard::~StopSignalGuard() {
  if (--g_guards > 0) return;
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

int stop_requested() { return g_signal.load(); }

void clear_stop_request() { g_signal.store(0); }

}  // namespace mm::train
