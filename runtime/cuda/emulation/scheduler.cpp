// Runs kernels: a grid's blocks in turn (or spread over worker threads), a block's threads as
// cooperating fibers. A fiber runs until it finishes or reaches a barrier, a warp collective or a
// vote; the scheduler then resumes the next fiber that can make progress. Barriers are therefore
// exact: a missing __syncthreads shows up as a wrong result, a __syncthreads that not every live
// thread reaches as a reported deadlock (a GPU would hang).
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "runtime/cuda/emulation/device_api.h"
#include "runtime/cuda/emulation/emulator.h"
#include "runtime/cuda/emulation/fiber.h"

thread_local constinit uint3 threadIdx{0, 0, 0};
thread_local constinit uint3 blockIdx{0, 0, 0};
thread_local constinit dim3 blockDim{1, 1, 1};
thread_local constinit dim3 gridDim{1, 1, 1};

namespace mm::cuda::emu {

namespace {

constexpr int kWarp = 32;

std::string hex(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

struct Launch {
  dim3 grid, block;
  size_t shared_bytes;
  std::string name;
  std::function<void()> body;
  uint64_t id;  // seeds shuffled schedules
};

enum class Wait : uint8_t { Running, Barrier, Warp, Exited };

struct GpuThread {
  uint3 idx{};
  Wait wait = Wait::Running;
  uint64_t generation = 0;  // of the barrier or warp collective it waits on
};

// Lanes in divergent branches may be in different collectives at once (on disjoint masks), so the
// pending state is per lane: a collective completes when every lane of its mask that is still alive
// waits in the same collective with the same mask.
struct WarpState {
  unsigned live = 0;     // lanes that exist and have not exited
  unsigned pending = 0;  // lanes waiting in a collective
  WarpOp op[kWarp] = {};
  unsigned mask[kWarp] = {};
  uint64_t value[kWarp] = {};
  uint64_t result[kWarp] = {};
  int param[kWarp] = {};
  int width[kWarp] = {};
  uint64_t released[kWarp] = {};  // bumped when the lane's collective completes
};

struct BlockRun {
  const Launch* launch = nullptr;
  uint3 block{};
  std::vector<GpuThread> threads;
  std::vector<WarpState> warps;
  int live = 0;
  int arrived = 0;  // at the block barrier
  uint64_t generation = 0;
  int current = -1;  // index of the running GPU thread
  std::unique_ptr<unsigned char[]> dynamic_shared;
};

thread_local BlockRun* t_block = nullptr;

std::atomic<int> g_workers{0};  // 0: not yet read from the environment
std::atomic<int> g_order{-1};
std::atomic<uint64_t> g_launch_id{0};

int workers() {
  int w = g_workers.load();
  if (w == 0) {
    const char* env = std::getenv("MMALIGN_EMU_WORKERS");
    w = env ? std::max(1, std::atoi(env)) : 1;
    g_workers = w;
  }
  return w;
}

ScheduleOrder order() {
  int o = g_order.load();
  if (o < 0) {
    const char* env = std::getenv("MMALIGN_EMU_SCHEDULE");
    std::string s = env ? env : "forward";
    o = static_cast<int>(s == "reverse" ? ScheduleOrder::Reverse
                         : s == "shuffle" ? ScheduleOrder::Shuffle
                                          : ScheduleOrder::Forward);
    g_order = o;
  }
  return static_cast<ScheduleOrder>(o);
}

[[noreturn]] void fatal(const BlockRun& b, const std::string& what) {
  const uint3 t = b.current >= 0 ? b.threads[b.current].idx : uint3{0, 0, 0};
  std::fprintf(stderr,
               "mmalign CUDA emulation: kernel '%s' (grid %u,%u,%u block %u,%u,%u), block (%u,%u,%u), "
               "thread (%u,%u,%u): %s\n",
               b.launch->name.c_str(), b.launch->grid.x, b.launch->grid.y, b.launch->grid.z, b.launch->block.x,
               b.launch->block.y, b.launch->block.z, b.block.x, b.block.y, b.block.z, t.x, t.y, t.z, what.c_str());
  std::fflush(stderr);
  std::abort();
}

BlockRun& current_block(const char* what) {
  if (t_block == nullptr || t_block->current < 0) {
    std::fprintf(stderr, "mmalign CUDA emulation: %s called outside a kernel\n", what);
    std::abort();
  }
  return *t_block;
}

// ---- warp collectives ------------------------------------------------------------------------

// All ones: a NaN as float/double, -1 as an integer — what a shuffle from a lane that did not take
// part returns (undefined on a GPU).
constexpr uint64_t kPoison = ~uint64_t(0);

// The lane a shuffle reads. Only the low 5 bits of a lane mask or delta count, as in PTX shfl.sync.
uint64_t shuffle_source(const WarpState& w, unsigned group, int lane) {
  const int width = w.width[lane];
  const int base = lane & ~(width - 1);
  const int p = w.param[lane];
  int src = lane;
  switch (w.op[lane]) {
    case WarpOp::ShflIdx: src = base + (p & (width - 1)); break;
    case WarpOp::ShflUp: src = lane - (p & 31) < base ? lane : lane - (p & 31); break;
    case WarpOp::ShflDown: src = lane + (p & 31) >= base + width ? lane : lane + (p & 31); break;
    case WarpOp::ShflXor: {
      const int x = lane ^ (p & 31);
      src = x >= base + width ? lane : x;  // later segments are out of reach
      break;
    }
    default: break;
  }
  return (group >> src) & 1u ? w.value[src] : kPoison;
}

void complete_group(WarpState& w, unsigned group, WarpOp op) {
  uint64_t vote_all = 1, vote_any = 0, ballot = 0;
  for (int l = 0; l < kWarp; ++l) {
    if (!((group >> l) & 1u)) continue;
    vote_all &= w.value[l] != 0;
    vote_any |= w.value[l] != 0;
    if (w.value[l]) ballot |= 1u << l;
  }
  for (int l = 0; l < kWarp; ++l) {
    if (!((group >> l) & 1u)) continue;
    switch (op) {
      case WarpOp::All: w.result[l] = vote_all; break;
      case WarpOp::Any: w.result[l] = vote_any; break;
      case WarpOp::Ballot: w.result[l] = ballot; break;
      case WarpOp::Sync: w.result[l] = 0; break;
      default: w.result[l] = shuffle_source(w, group, l); break;
    }
    ++w.released[l];
  }
  w.pending &= ~group;
}

// Completes the collective `lane` waits in if all its live participants are there.
bool try_complete(WarpState& w, int lane) {
  const unsigned group = w.mask[lane] & w.live;
  for (int l = 0; l < kWarp; ++l) {
    if (!((group >> l) & 1u)) continue;
    if (!((w.pending >> l) & 1u) || w.op[l] != w.op[lane] || w.mask[l] != w.mask[lane]) return false;
  }
  complete_group(w, group, w.op[lane]);
  return true;
}

void maybe_release_barrier(BlockRun& b) {
  if (b.arrived > 0 && b.arrived == b.live) {
    b.arrived = 0;
    ++b.generation;
  }
}

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::ShflIdx: return "__shfl_sync";
    case WarpOp::ShflUp: return "__shfl_up_sync";
    case WarpOp::ShflDown: return "__shfl_down_sync";
    case WarpOp::ShflXor: return "__shfl_xor_sync";
    case WarpOp::All: return "__all_sync";
    case WarpOp::Any: return "__any_sync";
    case WarpOp::Ballot: return "__ballot_sync";
    case WarpOp::Sync: return "__syncwarp";
  }
  return "?";
}

void on_thread_exit(BlockRun& b) {
  const int t = b.current;
  b.threads[t].wait = Wait::Exited;
  --b.live;
  WarpState& w = b.warps[t / kWarp];
  w.live &= ~(1u << (t % kWarp));
  // Collectives that were waiting only for this lane can now complete.
  for (int l = 0; l < kWarp; ++l)
    if ((w.pending >> l) & 1u) try_complete(w, l);
  maybe_release_barrier(b);
}

std::vector<int> visiting_order(const BlockRun& b, uint64_t pass) {
  std::vector<int> order(b.threads.size());
  std::iota(order.begin(), order.end(), 0);
  switch (emu::order()) {
    case ScheduleOrder::Forward: break;
    case ScheduleOrder::Reverse: std::reverse(order.begin(), order.end()); break;
    case ScheduleOrder::Shuffle: {
      std::mt19937_64 rng(b.launch->id * 0x9E3779B97F4A7C15ull ^ (uint64_t(b.block.x) << 40) ^
                          (uint64_t(b.block.y) << 20) ^ b.block.z ^ (pass << 52));
      std::shuffle(order.begin(), order.end(), rng);
      break;
    }
  }
  return order;
}

std::string lanes_str(unsigned lanes) {
  std::string out;
  for (int l = 0; l < kWarp; ++l)
    if ((lanes >> l) & 1u) {
      // Appended in two steps: g++ 12 -O3 reports a false -Wrestrict on `const char* + std::string`.
      if (!out.empty()) out += ',';
      out += std::to_string(l);
    }
  return out;
}

// What each warp's waiting lanes wait for: one line per distinct (collective, mask).
std::string describe_warps(const BlockRun& b) {
  std::string out;
  for (size_t wi = 0; wi < b.warps.size(); ++wi) {
    const WarpState& w = b.warps[wi];
    unsigned left = w.pending;
    int kinds = 0;
    std::string groups;
    while (left) {
      const int l = __builtin_ctz(left);
      unsigned same = 0;
      for (int k = 0; k < kWarp; ++k)
        if (((left >> k) & 1u) && w.op[k] == w.op[l] && w.mask[k] == w.mask[l]) same |= 1u << k;
      groups += " lanes " + lanes_str(same) + " at " + op_name(w.op[l]) + " (mask " + hex(w.mask[l]) +
                ", live lanes of it " + lanes_str(w.mask[l] & w.live) + ");";
      left &= ~same;
      ++kinds;
    }
    if (kinds > 1) out += " lanes of warp " + std::to_string(wi) + " wait at different warp collectives:" + groups;
    else if (kinds == 1) out += " warp " + std::to_string(wi) + ":" + groups;
  }
  return out;
}

[[noreturn]] void report_deadlock(BlockRun& b) {
  int at_barrier = 0, at_warp = 0;
  for (const GpuThread& g : b.threads) {
    if (g.wait == Wait::Barrier) ++at_barrier;
    if (g.wait == Wait::Warp) ++at_warp;
  }
  b.current = -1;
  fatal(b, "deadlock: " + std::to_string(at_barrier) + " threads wait at __syncthreads (which needs all " +
               std::to_string(b.live) + " live threads), " + std::to_string(at_warp) + " at warp collectives;" +
               describe_warps(b) + " a GPU would hang here");
}

// ---- running a block -------------------------------------------------------------------------

struct WorkerState {
  std::vector<std::unique_ptr<Fiber>> fibers;
  std::function<void()> job;  // what every fiber runs: the kernel body, then the exit bookkeeping
};

// Per OS thread; released (stacks unmapped) when the thread exits. Its fibers are then all parked
// between jobs, so nothing on their stacks needs unwinding.
thread_local std::unique_ptr<WorkerState> t_worker;

WorkerState& worker_state() {
  if (!t_worker) t_worker = std::make_unique<WorkerState>();
  return *t_worker;
}

void run_block(const Launch& L, uint3 block_idx) {
  WorkerState& ws = worker_state();
  const int nthreads = static_cast<int>(L.block.x * L.block.y * L.block.z);
  while (static_cast<int>(ws.fibers.size()) < nthreads) ws.fibers.push_back(std::make_unique<Fiber>());

  BlockRun b;
  b.launch = &L;
  b.block = block_idx;
  b.threads.resize(nthreads);
  b.warps.resize((nthreads + kWarp - 1) / kWarp);
  b.live = nthreads;
  for (int t = 0; t < nthreads; ++t) {
    b.threads[t].idx = uint3{t % L.block.x, (t / L.block.x) % L.block.y, t / (L.block.x * L.block.y)};
    b.warps[t / kWarp].live |= 1u << (t % kWarp);
  }
  // Fresh for every block and poisoned, so reading shared memory nobody wrote gives NaN; allocated
  // at its exact size, so AddressSanitizer sees accesses past it.
  b.dynamic_shared.reset(new unsigned char[L.shared_bytes]);
  std::fill_n(b.dynamic_shared.get(), L.shared_bytes, 0xFF);

  t_block = &b;
  blockIdx = block_idx;
  blockDim = L.block;
  gridDim = L.grid;
  ws.job = [&b, &L] {
    try {
      L.body();
    } catch (const std::exception& e) {
      fatal(b, std::string("exception thrown inside a kernel: ") + e.what());
    } catch (...) {
      fatal(b, "exception thrown inside a kernel");
    }
    on_thread_exit(b);
  };
  for (int t = 0; t < nthreads; ++t) ws.fibers[t]->start(&ws.job);

  for (uint64_t pass = 0; b.live > 0; ++pass) {
    bool progressed = false;
    for (int t : visiting_order(b, pass)) {
      GpuThread& g = b.threads[t];
      const bool runnable = g.wait == Wait::Running ||
                            (g.wait == Wait::Barrier && g.generation != b.generation) ||
                            (g.wait == Wait::Warp && g.generation != b.warps[t / kWarp].released[t % kWarp]);
      if (!runnable) continue;
      g.wait = Wait::Running;
      b.current = t;
      threadIdx = g.idx;
      ws.fibers[t]->resume();
      progressed = true;
    }
    if (!progressed) report_deadlock(b);
  }
  t_block = nullptr;
}

void run_grid(const Launch& L) {
  const int64_t nblocks = int64_t(L.grid.x) * L.grid.y * L.grid.z;
  auto block_at = [&L](int64_t i) {
    return uint3{static_cast<unsigned>(i % L.grid.x), static_cast<unsigned>((i / L.grid.x) % L.grid.y),
                 static_cast<unsigned>(i / (int64_t(L.grid.x) * L.grid.y))};
  };
  const int w = static_cast<int>(std::min<int64_t>(workers(), nblocks));
  const bool reverse = order() == ScheduleOrder::Reverse;
  if (w <= 1) {
    for (int64_t i = 0; i < nblocks; ++i) run_block(L, block_at(reverse ? nblocks - 1 - i : i));
    return;
  }
#pragma omp parallel for num_threads(w) schedule(dynamic, 1)
  for (int64_t i = 0; i < nblocks; ++i) run_block(L, block_at(reverse ? nblocks - 1 - i : i));
}

}  // namespace

// ---- the device API ------------------------------------------------------------------------------

void block_barrier() {
  BlockRun& b = current_block("__syncthreads");
  GpuThread& g = b.threads[b.current];
  ++b.arrived;
  if (b.arrived == b.live) {  // the last to arrive releases everyone and goes on
    b.arrived = 0;
    ++b.generation;
    return;
  }
  g.wait = Wait::Barrier;
  g.generation = b.generation;
  Fiber::yield_to_scheduler();
}

uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t bits, int param, int width) {
  BlockRun& b = current_block(op_name(op));
  const int t = b.current;
  const int lane = t % kWarp;
  WarpState& w = b.warps[t / kWarp];
  if (!((mask >> lane) & 1u))
    fatal(b, std::string(op_name(op)) + " called by lane " + std::to_string(lane) + " with a mask (" + hex(mask) +
                 ") that does not include it");
  if (width < 1 || width > kWarp || (width & (width - 1)) != 0)
    fatal(b, std::string(op_name(op)) + " with width " + std::to_string(width) + " (must be a power of 2 ≤ 32)");
  w.op[lane] = op;
  w.mask[lane] = mask;
  w.value[lane] = bits;
  w.param[lane] = param;
  w.width[lane] = width;
  w.pending |= 1u << lane;
  if (try_complete(w, lane)) return w.result[lane];  // the last to arrive completes it and goes on
  GpuThread& g = b.threads[t];
  g.wait = Wait::Warp;
  g.generation = w.released[lane];
  Fiber::yield_to_scheduler();
  return w.result[lane];
}

bool in_kernel() { return t_block != nullptr; }

void* dynamic_shared_memory() { return current_block("dynamic shared memory").dynamic_shared.get(); }

unsigned live_lanes_mask() {
  BlockRun& b = current_block("__activemask");
  return b.warps[b.current / kWarp].live;
}

void set_workers(int n) { g_workers = std::max(1, n); }
void set_schedule_order(ScheduleOrder o) { g_order = static_cast<int>(o); }

void launch_kernel(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream, const char* name,
                   std::function<void()> thread_body) {
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  const bool valid = block.x >= 1 && block.y >= 1 && block.z >= 1 && block.x <= 1024 && block.y <= 1024 &&
                     block.z <= 64 && threads <= 1024 && grid.x >= 1 && grid.y >= 1 && grid.z >= 1 &&
                     grid.x <= 2147483647u && grid.y <= 65535 && grid.z <= 65535;
  if (!valid) {
    set_last_error(cudaErrorInvalidConfiguration);
    return;
  }
  if (shared_bytes > kSharedBytesPerBlock) {  // a GPU reports this one as an invalid argument
    set_last_error(cudaErrorInvalidValue);
    return;
  }
  auto launch = std::make_shared<Launch>(Launch{grid, block, shared_bytes, name ? name : "kernel",
                                                std::move(thread_body), g_launch_id.fetch_add(1)});
  cudaError_t e = enqueue(stream, [launch] { run_grid(*launch); });
  if (e != cudaSuccess) set_last_error(e);
}

}  // namespace mm::cuda::emu
