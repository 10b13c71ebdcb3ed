// The global contrastive losses (nn/losses/global.h) against the single-process losses on the global
// batch, which every rank computes itself from the shared seed. The global batch is kB = 12 pairs
// whatever the world size (rank r holds rows [r·b, (r+1)·b), b = kB/w), so the np 2 and np 4 runs
// compare against the same single-process numbers: that is the world-size independence check, and
// a world of one (LocalCommunicator on the whole batch) is checked against them too.
//
// For each loss, on every rank: (a) the mean over ranks of the local losses equals the global loss;
// (b) the gradient of the rank's embeddings (w times the global one, see global.h) equals its slice of
// the single-process gradient, and through a shared projection W the DDP-averaged gradient of W
// equals the single-process one; (c) the scale (and bias) gradient averaged over ranks equals the
// single-process one; (d) the bytes handed to the communicator equal global_loss_bytes_per_step.
// f64 throughout: the two computations differ only in the order of additions (~1e-16 relative),
// while a wrong label offset, block, sign or factor of w is an O(1e-2) error or more.
#include <gtest/gtest.h>

#include <functional>
#include <optional>

#include "autograd/dist.h"
#include "nn/losses/clip.h"
#include "nn/losses/global.h"
#include "nn/losses/siglip.h"
#include "nn/losses/triplet.h"
#include "tests/common/expect_error.h"
#include "tests/dist/dist_test_util.h"

namespace mm::nn {
namespace {

using dist::testing::comm;
using dist::testing::global_randn;
using dist::testing::rel_err;
using dist::testing::rows_of;

constexpr double kTol = 1e-12;
constexpr int64_t kB = 12, kDin = 6, kD = 5;

// The global loss on this rank's rows (or, with a LocalCommunicator, on the whole batch).
using GlobalFn = std::function<Tensor(const Tensor& img, const Tensor& txt, const Tensor& scale, const Tensor& bias,
                                      dist::Communicator& c)>;
// The single-process loss on the whole batch.
using RefFn = std::function<Tensor(const Tensor& img, const Tensor& txt, const Tensor& scale, const Tensor& bias)>;

Tensor leaf(const Tensor& t) { return mm::clone(t).detach().set_requires_grad(); }
Tensor scalar_leaf(double v) { return Tensor::from_vector<double>({v}, {}).set_requires_grad(); }

Tensor avg_over_ranks(const Tensor& t) {
  Tensor x = ops::contiguous(mm::clone(t.detach()));
  comm().all_reduce(x, dist::ReduceOp::Avg);
  return x;
}

int64_t sent_bytes(const dist::Communicator& c) {
  return c.stats(dist::Collective::AllGather).bytes + c.stats(dist::Collective::ReduceScatter).bytes +
         c.stats(dist::Collective::Send).bytes;
}

struct Inputs {
  Tensor image, text, scale, bias, w_img, w_txt;  // leaves
};

// Embeddings are either the leaves themselves (direct) or normalize(leaf · W) with a projection W
// shared by all ranks (the DDP case: W's gradient is averaged over ranks).
Inputs make_inputs(const Tensor& I, const Tensor& T, double scale, std::optional<double> bias,
                   const Tensor& Wi, const Tensor& Wt) {
  Inputs in{leaf(I), leaf(T), scalar_leaf(scale), bias ? scalar_leaf(*bias) : Tensor(), Tensor(), Tensor()};
  if (Wi.defined()) {
    in.w_img = leaf(Wi);
    in.w_txt = leaf(Wt);
  }
  return in;
}

Tensor embed(const Tensor& x, const Tensor& w) { return w.defined() ? normalize(matmul(x, w)) : x; }

void check(const std::string& what, const GlobalFn& global, const RefFn& ref, uint64_t seed, double scale,
           std::optional<double> bias, std::optional<GlobalLossKind> kind, bool projected) {
  const int w = comm().world(), r = comm().rank();
  ASSERT_EQ(kB % w, 0) << "the global batch " << kB << " must split evenly over " << w << " ranks";
  const int64_t b = kB / w, din = projected ? kDin : kD;
  Tensor I = global_randn({kB, din}, seed), T = global_randn({kB, din}, seed + 1);
  if (!projected) {  // the losses take L2-normalised embeddings
    I = normalize(I);
    T = normalize(T);
  }
  Tensor Wi = projected ? global_randn({kDin, kD}, seed + 2) : Tensor();
  Tensor Wt = projected ? global_randn({kDin, kD}, seed + 3) : Tensor();
  const std::string at = what + (projected ? " (through W)" : " (embeddings)") + " on " + std::to_string(w) + " ranks";

  // The single-process reference on the global batch.
  Inputs ref_in = make_inputs(I, T, scale, bias, Wi, Wt);
  Tensor ref_loss = ref(embed(ref_in.image, ref_in.w_img), embed(ref_in.text, ref_in.w_txt), ref_in.scale, ref_in.bias);
  ref_loss.backward();

  // This rank's slice.
  Inputs in = make_inputs(rows_of(I, r, b), rows_of(T, r, b), scale, bias, Wi, Wt);
  comm().reset_stats();
  Tensor loss = global(embed(in.image, in.w_img), embed(in.text, in.w_txt), in.scale, in.bias, comm());
  loss.backward();
  if (kind) {
    EXPECT_EQ(sent_bytes(comm()), global_loss_bytes_per_step(*kind, b, kD, w, 8)) << at;
    EXPECT_EQ(comm().stats(dist::Collective::Recv).bytes, comm().stats(dist::Collective::Send).bytes) << at;
    EXPECT_EQ(comm().stats(dist::Collective::AllReduce).calls, 0) << at << ": the loss itself all-reduces nothing";
  }
  EXPECT_LT(rel_err(avg_over_ranks(loss), ref_loss), kTol) << at << ": mean over ranks of the loss";
  // Per-sample inputs: rank r's gradient is Σ_s ∂L_s/∂x_r = w · ∂L_global/∂x_r.
  EXPECT_LT(rel_err(mul(in.image.grad(), 1.0 / w), rows_of(ref_in.image.grad(), r, b)), kTol) << at << ": image rows";
  EXPECT_LT(rel_err(mul(in.text.grad(), 1.0 / w), rows_of(ref_in.text.grad(), r, b)), kTol) << at << ": text rows";
  // Shared parameters: DDP's average over ranks.
  if (projected) {
    EXPECT_LT(rel_err(avg_over_ranks(in.w_img.grad()), ref_in.w_img.grad()), kTol) << at << ": W_image";
    EXPECT_LT(rel_err(avg_over_ranks(in.w_txt.grad()), ref_in.w_txt.grad()), kTol) << at << ": W_text";
  }
  const bool has_scale = ref_in.scale.grad().defined();
  EXPECT_EQ(in.scale.grad().defined(), has_scale) << at;
  if (has_scale && in.scale.grad().defined()) {
    EXPECT_LT(rel_err(avg_over_ranks(in.scale.grad()), ref_in.scale.grad()), kTol) << at << ": logit scale";
    EXPECT_GT(std::abs(ref_in.scale.grad().item()), 1e-6) << at << ": the scale gradient must be non-trivial";
  }
  if (bias) {
    EXPECT_LT(rel_err(avg_over_ranks(in.bias.grad()), ref_in.bias.grad()), kTol) << at << ": logit bias";
  }

  // A world of one on the whole batch gives the single-process loss and gradients.
  dist::LocalCommunicator local(DeviceKind::CPU);
  Inputs one = make_inputs(I, T, scale, bias, Wi, Wt);
  Tensor one_loss = global(embed(one.image, one.w_img), embed(one.text, one.w_txt), one.scale, one.bias, local);
  one_loss.backward();
  EXPECT_LT(rel_err(one_loss, ref_loss), 1e-14) << what << ": world of one";
  EXPECT_LT(rel_err(one.image.grad(), ref_in.image.grad()), kTol) << what << ": world of one, image";
  EXPECT_LT(rel_err(one.text.grad(), ref_in.text.grad()), kTol) << what << ": world of one, text";
}

void check_both(const std::string& what, const GlobalFn& global, const RefFn& ref, uint64_t seed, double scale,
                std::optional<double> bias, std::optional<GlobalLossKind> kind) {
  check(what, global, ref, seed, scale, bias, kind, /*projected=*/false);
  check(what, global, ref, seed + 10, scale, bias, kind, /*projected=*/true);
}

TEST(GlobalLosses, ClipEqualsSingleProcessOnTheGlobalBatch) {
  for (ClipLossOptions o : {ClipLossOptions{}, ClipLossOptions{ClipReduction::Sum, 0.1}}) {
    const std::string what = o.label_smoothing > 0 ? "clip (sum, smoothing 0.1)" : "clip";
    check_both(
        what,
        [o](const Tensor& i, const Tensor& t, const Tensor& s, const Tensor&, dist::Communicator& c) {
          return global_clip_loss(i, t, s, c, o);
        },
        [o](const Tensor& i, const Tensor& t, const Tensor& s, const Tensor&) { return clip_loss(i, t, s, o); }, 100,
        std::log(1 / 0.07), std::nullopt, GlobalLossKind::Clip);
  }
}

TEST(GlobalLosses, SiglipByRingExchangeEqualsSingleProcessOnTheGlobalBatch) {
  GlobalFn global = [](const Tensor& i, const Tensor& t, const Tensor& s, const Tensor& bias, dist::Communicator& c) {
    return global_siglip_loss(i, t, s, bias, c);
  };
  RefFn ref = [](const Tensor& i, const Tensor& t, const Tensor& s, const Tensor& bias) {
    return siglip_loss(i, t, s, bias);
  };
  check_both("siglip (init)", global, ref, 200, kSiglipInitLogitScale, kSiglipInitLogitBias, GlobalLossKind::Siglip);
  check_both("siglip (s = e^1.3, bias −1.5)", global, ref, 300, 1.3, -1.5, GlobalLossKind::Siglip);
  check_both("siglip (no bias)", global, ref, 400, 0.7, std::nullopt, GlobalLossKind::Siglip);
}

TEST(GlobalLosses, TripletEqualsSingleProcessOnTheGlobalBatch) {
  struct Case {
    std::string what;
    TripletLossOptions o;
    bool both_directions;
  };
  std::vector<Case> cases;
  TripletLossOptions o;  // hardest, cosine, both directions, mean
  cases.push_back({"triplet hardest", o, true});
  o.sum_over_anchors = true;
  cases.push_back({"triplet hardest, sum over anchors", o, true});
  o = {};
  o.negatives = TripletNegatives::All;
  cases.push_back({"triplet all", o, true});
  o.negatives = TripletNegatives::SemiHard;
  o.margin = 0.5;
  cases.push_back({"triplet semi-hard", o, true});
  o = {};
  o.similarity = TripletSimilarity::Euclidean;
  o.margin = 1.0;
  cases.push_back({"triplet hardest, euclidean", o, true});
  o = {};
  o.directions = LossDirections::TextToImage;
  cases.push_back({"triplet hardest, text→image", o, false});
  uint64_t seed = 500;
  for (const Case& c : cases) {
    TripletLossOptions opt = c.o;
    check_both(
        c.what,
        [opt](const Tensor& i, const Tensor& t, const Tensor&, const Tensor&, dist::Communicator& cm) {
          return global_triplet_loss(i, t, cm, opt);  // no scale: its gradient stays undefined on both sides
        },
        [opt](const Tensor& i, const Tensor& t, const Tensor&, const Tensor&) { return triplet_loss(i, t, opt); },
        seed, 1.0, std::nullopt, c.both_directions ? std::optional<GlobalLossKind>(GlobalLossKind::Triplet) : std::nullopt);
    seed += 100;
  }
}

TEST(GlobalLosses, BytesFormula) {
  // Clip and triplet: 2 all_gathers of b·D·e and 2 reduce_scatters of w·b·D·e; SigLIP: 2(w − 1) blocks.
  EXPECT_EQ(global_loss_bytes_per_step(GlobalLossKind::Clip, 3, 5, 4, 4), 2 * 60 + 2 * 4 * 60);
  EXPECT_EQ(global_loss_bytes_per_step(GlobalLossKind::Triplet, 3, 5, 1, 2), 4 * 30);
  EXPECT_EQ(global_loss_bytes_per_step(GlobalLossKind::Siglip, 3, 5, 4, 4), 6 * 60);
  EXPECT_EQ(global_loss_bytes_per_step(GlobalLossKind::Siglip, 3, 5, 1, 4), 0);
  EXPECT_ERROR_CONTAINS(global_loss_bytes_per_step(GlobalLossKind::Siglip, 0, 5, 2, 4), ErrorKind::Value,
                        "global_loss_bytes_per_step", "b=0", "siglip");
}

// Argument errors are raised before any collective, identically on every rank.
TEST(GlobalLosses, BadArgumentsAreErrorsNamingTheLoss) {
  Tensor a = zeros({2, 4}, DType::F64), t = zeros({3, 4}, DType::F64), s = zeros({}, DType::F64);
  EXPECT_ERROR_CONTAINS(global_clip_loss(a, t, s, comm()), ErrorKind::Shape, "global_clip_loss", "[2,4]", "[3,4]");
  EXPECT_ERROR_CONTAINS(global_siglip_loss(a, a, zeros({2}, DType::F64), Tensor(), comm()), ErrorKind::Shape,
                        "global_siglip_loss", "logit_scale");
  TripletLossOptions o;
  o.margin = -1;
  EXPECT_ERROR_CONTAINS(global_triplet_loss(a, a, comm(), o), ErrorKind::Value, "global_triplet_loss", "margin");
}

}  // namespace
}  // namespace mm::nn
