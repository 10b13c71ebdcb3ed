// Per-rank memory of one forward + backward of a global contrastive loss (nn/losses/global.h) against
// the single-process loss on the same global batch (docs/DISTRIBUTED.md, "Memory per rank as the
// global batch grows"; issue 8).
//
//   mpirun --oversubscribe --allow-run-as-root -np W dist_loss_memory --loss clip|siglip|triplet
//       --b 256 --d 512 --mode global        # each rank: b rows, global batch B = W·b
//   dist_loss_memory --loss clip --b 2048 --d 512 --mode single   # one process, the whole batch B = b
//
// Inputs (allocated before the measurement): leaf embeddings image, text [b, D] f32 (L2-normalised
// N(0, 1) rows from a fixed seed, rank r holding rows [r·b, (r+1)·b) of the same global batch),
// requiring grad; clip and siglip also take a logit scale (and siglip a bias) leaf requiring grad.
// Triplet: cosine similarity, hardest negatives, both directions, mean over anchors.
//
// Measured: the CPU allocator's peak of live bytes (CpuAllocatorStats::peak_allocated_bytes, blocks at
// their size-class-rounded size) from just before the loss to after backward, minus the bytes live
// before the loss: the loss's own working set, the inputs' gradients included. retained_bytes is what
// is still live after backward once the loss and its graph are dropped (the gradients). Secondary: the
// process's peak RSS (getrusage ru_maxrss, whole process lifetime: MPI, the library, the inputs).
// The forward + backward runs --iters times (default 2); the peak reported is the maximum over
// iterations, and peak_first the first iteration's (they agree unless something is cached).
//
// Output: one JSON line per rank (rank order), with the formula of docs/DISTRIBUTED.md in bytes:
//   single process: B² (the B×B logits, one copy)
//   clip, triplet:  2·B·D + 2·b·B (gathered features and the two [b, B] logits / similarities)
//   siglip:         b·B + B·D (the w retained b×b blocks and text blocks)
// times the element size (4 for f32).
#include <sys/resource.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "nn/losses/clip.h"
#include "nn/losses/global.h"
#include "nn/losses/siglip.h"
#include "nn/losses/triplet.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "ops/shape.h"
#include "runtime/cpu_allocator.h"
#include "runtime/dist/communicator.h"

namespace {

struct Args {
  std::string loss = "clip";
  std::string mode = "global";
  int64_t b = 256;
  int64_t d = 512;
  int iters = 2;
  uint64_t seed = 1234;
};

[[noreturn]] void usage(const std::string& why) {
  std::string msg = "dist_loss_memory: ";
  msg.append(why).append(
      "\nusage: dist_loss_memory --loss clip|siglip|triplet --b N --d N --mode global|single [--iters N] [--seed N]\n");
  std::fputs(msg.c_str(), stderr);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    if (i + 1 >= argc) usage("missing value after " + key);
    const std::string val = argv[++i];
    if (key == "--loss") a.loss = val;
    else if (key == "--mode") a.mode = val;
    else if (key == "--b") a.b = std::stoll(val);
    else if (key == "--d") a.d = std::stoll(val);
    else if (key == "--iters") a.iters = std::stoi(val);
    else if (key == "--seed") a.seed = std::stoull(val);
    else usage("unknown option " + key);
  }
  if (a.loss != "clip" && a.loss != "siglip" && a.loss != "triplet") usage("--loss must be clip, siglip or triplet");
  if (a.mode != "global" && a.mode != "single") usage("--mode must be global or single");
  if (a.b < 1 || a.d < 1 || a.iters < 1) usage("--b, --d and --iters must be >= 1");
  return a;
}

// Rows [r·b, (r+1)·b) of the L2-normalised global [B, D] matrix from `seed`, as a fresh leaf. The whole
// global matrix is generated and dropped before the measurement (only the slice stays live).
mm::Tensor my_rows(int64_t B, int64_t d, int64_t row0, int64_t rows, uint64_t seed) {
  mm::Tensor slice;
  {
    mm::Generator gen(seed);
    mm::Tensor all = mm::normalize(mm::ops::randn({B, d}, mm::DType::F32, mm::kCPU, &gen));
    slice = mm::ops::contiguous(mm::clone(mm::ops::slice(all, 0, row0, row0 + rows)));
  }
  return slice.detach().set_requires_grad();
}

mm::Tensor scalar_leaf(double v) {
  return mm::Tensor::from_vector<float>({static_cast<float>(v)}, {}).set_requires_grad();
}

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  mm::dist::Communicator& comm = mm::dist::world_communicator();
  const int w = comm.world(), r = comm.rank();
  const bool global = a.mode == "global";
  // single: this process holds the whole batch (B = b), whatever the world size.
  const int64_t B = global ? a.b * w : a.b, rows = a.b, row0 = global ? r * a.b : 0;
  const int64_t e = 4;  // f32

  mm::Tensor image = my_rows(B, a.d, row0, rows, a.seed);
  mm::Tensor text = my_rows(B, a.d, row0, rows, a.seed + 1);
  mm::Tensor scale, bias;
  if (a.loss == "clip") scale = scalar_leaf(std::log(1.0 / 0.07));
  if (a.loss == "siglip") {
    scale = scalar_leaf(mm::nn::kSiglipInitLogitScale);
    bias = scalar_leaf(mm::nn::kSiglipInitLogitBias);
  }
  mm::nn::TripletLossOptions topt;
  topt.negatives = mm::nn::TripletNegatives::Hardest;

  mm::CpuAllocator& alloc = mm::cpu_allocator();
  size_t peak = 0, peak_first = 0, retained = 0, base_first = 0;
  double loss_value = 0;
  for (int it = 0; it < a.iters; ++it) {
    image.zero_grad();
    text.zero_grad();
    if (scale.defined()) scale.zero_grad();
    if (bias.defined()) bias.zero_grad();
    comm.barrier();
    const size_t before = alloc.stats().allocated_bytes;
    alloc.reset_peak_stats();
    {
      mm::Tensor loss;
      if (global) {
        if (a.loss == "clip") loss = mm::nn::global_clip_loss(image, text, scale, comm);
        else if (a.loss == "siglip") loss = mm::nn::global_siglip_loss(image, text, scale, bias, comm);
        else loss = mm::nn::global_triplet_loss(image, text, comm, topt);
      } else {
        if (a.loss == "clip") loss = mm::nn::clip_loss(image, text, scale);
        else if (a.loss == "siglip") loss = mm::nn::siglip_loss(image, text, scale, bias);
        else loss = mm::nn::triplet_loss(image, text, topt);
      }
      loss.backward();
      loss_value = loss.item();
    }
    const mm::CpuAllocatorStats s = alloc.stats();
    const size_t p = s.peak_allocated_bytes - before;
    if (it == 0) {
      peak_first = p;
      base_first = before;
    }
    if (p > peak) peak = p;
    retained = s.allocated_bytes - before;
  }
  comm.barrier();

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  const int64_t b = global ? a.b : B;  // anchors on this process
  int64_t formula = 0;
  std::string formula_text;
  if (!global) {
    formula = B * B * e;
    formula_text = "B*B*e";
  } else if (a.loss == "siglip") {
    formula = (b * B + B * a.d) * e;
    formula_text = "(b*B+B*D)*e";
  } else {
    formula = (2 * B * a.d + 2 * b * B) * e;
    formula_text = "(2*B*D+2*b*B)*e";
  }
  char line[1024];
  std::snprintf(line, sizeof line,
                "{\"loss\":\"%s\",\"mode\":\"%s\",\"rank\":%d,\"world\":%d,\"b\":%lld,\"B\":%lld,\"D\":%lld,"
                "\"dtype\":\"f32\",\"loss_value\":%.6g,\"base_bytes\":%zu,\"peak_bytes\":%zu,\"peak_first_bytes\":%zu,"
                "\"retained_bytes\":%zu,\"peak_mib\":%.3f,\"formula\":\"%s\",\"formula_bytes\":%lld,"
                "\"formula_mib\":%.3f,\"maxrss_mib\":%.1f}\n",
                a.loss.c_str(), a.mode.c_str(), r, w, static_cast<long long>(b), static_cast<long long>(B),
                static_cast<long long>(a.d), loss_value, base_first, peak, peak_first, retained, mib(double(peak)),
                formula_text.c_str(), static_cast<long long>(formula), mib(double(formula)),
                static_cast<double>(ru.ru_maxrss) / 1024.0);
  // One line per rank, in rank order.
  for (int k = 0; k < w; ++k) {
    if (k == r) {
      std::fputs(line, stdout);
      std::fflush(stdout);
    }
    comm.barrier();
  }
  return 0;
}
