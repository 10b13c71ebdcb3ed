// Fibers: the execution contexts of emulated GPU threads. Each OS thread that runs blocks owns a
// pool of fibers (one per GPU thread of the largest block it has run); a fiber is reused for thread
// after thread, so its stack unwinds normally between jobs (which keeps AddressSanitizer's view of the
// stack exact) and starting a GPU thread costs one context switch.
#pragma once

#include <cstddef>
#include <functional>

namespace mm::cuda::emu {

class Fiber {
 public:
  Fiber();
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Runs `job` on this fiber until it finishes or calls yield_to_scheduler(). Returns true when the
  // job has finished. Called from the OS thread's own (scheduler) stack.
  void start(std::function<void()>* job);
  bool resume();

  // Called from inside a running job: back to the scheduler, which resumes this fiber later.
  static void yield_to_scheduler();

 private:
  [[noreturn]] static void main_loop(Fiber* self);
  friend void fiber_entry(Fiber* self);
  void* sp_ = nullptr;         // saved stack pointer while suspended
  char* stack_ = nullptr;      // mapping, guard page first
  size_t stack_bytes_ = 0;
  std::function<void()>* job_ = nullptr;
  bool finished_ = true;
  void* asan_fake_stack_ = nullptr;
};

}  // namespace mm::cuda::emu
