// Fiber context switching. On x86-64 a dozen instructions save the callee-saved registers and the
// floating-point control words and swap stack pointers (glibc's swapcontext also saves the signal mask
// with a system call, which costs more than most emulated GPU threads do). Elsewhere, ucontext.
#include "runtime/cuda/emulation/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define MM_EMU_ASAN 1
#endif

#if !defined(__x86_64__) || defined(MMALIGN_EMU_UCONTEXT)
#define MM_EMU_USE_UCONTEXT 1
#include <ucontext.h>
#endif

namespace mm::cuda::emu {

namespace {

// Emulated GPU threads are shallow, but sanitizers inflate frames; the mapping is reserved, not
// committed, so only the pages a thread touches cost memory.
#if defined(MM_EMU_ASAN)
constexpr size_t kStackBytes = size_t(1) << 20;
#else
constexpr size_t kStackBytes = size_t(256) << 10;
#endif

thread_local Fiber* t_running = nullptr;  // the fiber now executing on this OS thread
#if defined(MM_EMU_USE_UCONTEXT)
thread_local ucontext_t t_scheduler_context;
#else
thread_local void* t_scheduler_sp = nullptr;
#endif
// AddressSanitizer must be told which stack is live (otherwise it misreads frames after a switch).
[[maybe_unused]] thread_local const void* t_scheduler_stack_bottom = nullptr;
[[maybe_unused]] thread_local size_t t_scheduler_stack_size = 0;
[[maybe_unused]] thread_local void* t_scheduler_fake_stack = nullptr;

inline void asan_start_switch([[maybe_unused]] void** fake_stack_save, [[maybe_unused]] const void* bottom,
                              [[maybe_unused]] size_t size) {
#if defined(MM_EMU_ASAN)
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#endif
}
inline void asan_finish_switch([[maybe_unused]] void* fake_stack_save, [[maybe_unused]] const void** old_bottom,
                               [[maybe_unused]] size_t* old_size) {
#if defined(MM_EMU_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack_save, old_bottom, old_size);
#endif
}

}  // namespace

#if !defined(MM_EMU_USE_UCONTEXT)
// mm_emu_switch(save, next): pushes rbp, rbx, r12-r15 and the MXCSR/x87 control words, stores rsp in
// *save, loads `next` as rsp and pops the same registers from the other stack, returning into it.
// A new fiber's stack is laid out so that this "returns" into mm_emu_fiber_trampoline with the Fiber*
// in rbx and the entry function in r12.
extern "C" void mm_emu_switch(void** save, void* next);
asm(R"(
  .text
  .globl mm_emu_switch
  .type mm_emu_switch,@function
mm_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size mm_emu_switch, .-mm_emu_switch

  .globl mm_emu_fiber_trampoline
  .type mm_emu_fiber_trampoline,@function
mm_emu_fiber_trampoline:
  movq %rbx, %rdi
  callq *%r12
  ud2
  .size mm_emu_fiber_trampoline, .-mm_emu_fiber_trampoline
)");
extern "C" void mm_emu_fiber_trampoline();
#endif

void fiber_entry(Fiber* self) { Fiber::main_loop(self); }

#if defined(MM_EMU_USE_UCONTEXT)
// makecontext passes int arguments only: the Fiber* travels as two halves.
static void ucontext_entry(unsigned lo, unsigned hi) {
  fiber_entry(reinterpret_cast<Fiber*>((static_cast<uintptr_t>(hi) << 32) | lo));
}
#endif

Fiber::Fiber() {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  stack_bytes_ = kStackBytes;
  void* m = mmap(nullptr, stack_bytes_ + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (m == MAP_FAILED) {
    std::fprintf(stderr, "mmalign CUDA emulation: cannot map a %zu-byte fiber stack\n", stack_bytes_);
    std::abort();
  }
  // A guard page below the stack turns an overflow into a fault instead of silent corruption.
  mprotect(m, page, PROT_NONE);
  stack_ = static_cast<char*>(m) + page;

#if defined(MM_EMU_USE_UCONTEXT)
  auto* ctx = new ucontext_t;
  getcontext(ctx);
  ctx->uc_stack.ss_sp = stack_;
  ctx->uc_stack.ss_size = stack_bytes_;
  ctx->uc_link = nullptr;
  const auto addr = reinterpret_cast<uintptr_t>(this);
  makecontext(ctx, reinterpret_cast<void (*)()>(ucontext_entry), 2, static_cast<unsigned>(addr),
              static_cast<unsigned>(addr >> 32));
  sp_ = ctx;
#else
  uint32_t mxcsr = 0;
  uint16_t fpcw = 0;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpcw));
  auto top = (reinterpret_cast<uintptr_t>(stack_) + stack_bytes_) & ~uintptr_t(15);
  auto* frame = reinterpret_cast<uint64_t*>(top - 64);  // popped by mm_emu_switch; rsp ends 16-aligned
  frame[0] = mxcsr | (static_cast<uint64_t>(fpcw) << 32);
  frame[1] = frame[2] = frame[3] = 0;                               // r15, r14, r13
  frame[4] = reinterpret_cast<uint64_t>(&fiber_entry);              // r12
  frame[5] = reinterpret_cast<uint64_t>(this);                      // rbx
  frame[6] = 0;                                                     // rbp: ends the frame chain
  frame[7] = reinterpret_cast<uint64_t>(&mm_emu_fiber_trampoline);  // return address
  sp_ = frame;
#endif
}

Fiber::~Fiber() {
#if defined(MM_EMU_USE_UCONTEXT)
  delete static_cast<ucontext_t*>(sp_);
#endif
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  munmap(stack_ - page, stack_bytes_ + page);
}

void Fiber::start(std::function<void()>* job) {
  job_ = job;
  finished_ = false;
}

bool Fiber::resume() {
  t_running = this;
  asan_start_switch(&t_scheduler_fake_stack, stack_, stack_bytes_);
#if defined(MM_EMU_USE_UCONTEXT)
  swapcontext(&t_scheduler_context, static_cast<ucontext_t*>(sp_));
#else
  mm_emu_switch(&t_scheduler_sp, sp_);
#endif
  asan_finish_switch(t_scheduler_fake_stack, nullptr, nullptr);
  t_running = nullptr;
  return finished_;
}

void Fiber::yield_to_scheduler() {
  Fiber* self = t_running;
  asan_start_switch(&self->asan_fake_stack_, t_scheduler_stack_bottom, t_scheduler_stack_size);
#if defined(MM_EMU_USE_UCONTEXT)
  swapcontext(static_cast<ucontext_t*>(self->sp_), &t_scheduler_context);
#else
  mm_emu_switch(&self->sp_, t_scheduler_sp);
#endif
  asan_finish_switch(self->asan_fake_stack_, &t_scheduler_stack_bottom, &t_scheduler_stack_size);
}

void Fiber::main_loop(Fiber* self) {
  // First entry: learn the scheduler stack's bounds (needed to switch back under ASan).
  asan_finish_switch(nullptr, &t_scheduler_stack_bottom, &t_scheduler_stack_size);
  for (;;) {
    (*self->job_)();  // never throws: the scheduler's job wrapper catches
    self->finished_ = true;
    yield_to_scheduler();  // suspended here until start() + resume() hand it the next job
  }
}

}  // namespace mm::cuda::emu
