// Losses and distances, composed from differentiable framework ops (see loss.h for the semantics).
// Gradients come from the parts (mm::norm gives 0 at a zero norm, as PyTorch does), except for cdist's
// matmul form, which records its own node so that its gradient is computed from exact differences.
#include "autograd/grad/loss.h"

#include <cmath>

#include "autograd/autocast.h"
#include "autograd/grad/elementwise.h"
#include "autograd/grad/index.h"
#include "autograd/grad/linalg.h"
#include "autograd/grad/reduce.h"
#include "autograd/grad/shape.h"
#include "autograd/grad/softmax.h"
#include "ops/common/broadcast.h"

namespace mm {

// Every function here is on autocast's f32 list (autograd/autocast.h): while autocast is enabled its
// f16/bf16 inputs are cast up to f32 and the body runs with autocast off, so cdist's matmul and the
// parts of the composites stay f32 (PyTorch, too, excludes autocast inside an op it has cast).
#define MM_AUTOCAST_F32(...)                 \
  if (autocast_enabled()) [[unlikely]] {     \
    AutocastGuard autocast_off(DType::F32); \
    return __VA_ARGS__;                      \
  }

namespace {

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::None: return "none";
    case Reduction::Mean: return "mean";
    case Reduction::Sum: return "sum";
  }
  return "?";
}

Tensor reduce_loss(const Tensor& loss, Reduction r) {
  switch (r) {
    case Reduction::None: return loss;
    case Reduction::Sum: return sum(loss);
    case Reduction::Mean: return mean(loss);
  }
  fail(ErrorKind::Value, "loss", "unknown reduction ", static_cast<int>(r));
}


// Validated class-index target of nll_loss / cross_entropy, for an input viewed as [N,C,d...].
struct ClassTarget {
  Tensor index;   // i64 [N,1,d...] on the input's device, ignored entries replaced by 0 (valid for gather)
  Tensor keep;    // bool [N,d...]: target != ignore_index
  int64_t kept = 0;
};

ClassTarget class_target(const Tensor& input, const Tensor& target, int64_t ignore_index, const char* op) {
  MM_CHECK(!is_floating(target.dtype()) && target.dtype() != DType::Bool, DType, op,
           "class-index target must have an integer dtype, got ", dtype_name(target.dtype()));
  const Shape& is = input.shape();
  Shape want{is[0]};
  want.insert(want.end(), is.begin() + 2, is.end());
  MM_CHECK(target.shape() == want, Shape, op, "target ", shape_str(target.shape()), " does not match input ",
           shape_str(is), " (expected target ", shape_str(want), ": the input without its class dim 1)");
  // Range check on the host, before any kernel runs (a bad index must be an error, never a read out of
  // bounds). On CUDA this copies the targets to the host: one small synchronising transfer.
  int64_t classes = is[1];
  Tensor host = ops::contiguous(ops::to_dtype(ops::to_device(target, kCPU), DType::I64));
  const int64_t* t = host.data<int64_t>();
  ClassTarget r;
  for (int64_t i = 0; i < host.numel(); ++i) {
    if (t[i] == ignore_index) continue;
    MM_CHECK(t[i] >= 0 && t[i] < classes, Index, op, "target ", t[i], " is out of range for ", classes,
             " classes (expected in [0, ", classes, ") or ignore_index = ", ignore_index, ")");
    ++r.kept;
  }
  Tensor t64 = ops::to_device(host, input.device());
  r.keep = ne(t64, static_cast<double>(ignore_index));
  r.index = unsqueeze(where(r.keep, t64, ops::scalar_tensor(0, DType::I64, input.device())), 1);
  return r;
}

// Per-target losses of the class-index form (0 for ignored targets) reduced with the "mean over
// non-ignored targets" rule shared by nll_loss and cross_entropy.
Tensor reduce_class_loss(const Tensor& per_target, const ClassTarget& t, Reduction r) {
  if (r == Reduction::Mean) return div(sum(per_target), static_cast<double>(t.kept));  // 0/0 = NaN if all ignored
  return reduce_loss(per_target, r);
}

// Unbatched inputs ([C] with a 0-d target) run as a batch of one; Reduction::None gives a 0-d result.
bool unbatched(const Tensor& input, const Tensor& target, const char* op) {
  MM_CHECK(input.dim() >= 1, Shape, op, "input must have a class dimension, got a 0-d tensor");
  if (input.dim() != 1) return false;
  MM_CHECK(target.dim() == 0 || is_floating(target.dtype()), Shape, op, "unbatched input ",
           shape_str(input.shape()), " needs a 0-d class-index target, got ", shape_str(target.shape()));
  return true;
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction, int64_t ignore_index) {
  MM_AUTOCAST_F32(nll_loss(autocast_to_f32(log_probs), target, reduction, ignore_index))
  const char* op = "nll_loss";
  check_floating(log_probs, op, "input");
  MM_CHECK(target.defined(), Value, op, "target is undefined");
  if (unbatched(log_probs, target, op)) {
    Tensor r = nll_loss(unsqueeze(log_probs, 0), unsqueeze(target, 0), reduction, ignore_index);
    return reduction == Reduction::None ? squeeze(r, 0) : r;
  }
  ClassTarget t = class_target(log_probs, target, ignore_index, op);
  Tensor picked = squeeze(gather(log_probs, 1, t.index), 1);  // log p[n, t_n]
  return reduce_class_loss(where(t.keep, neg(picked), 0.0), t, reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction, int64_t ignore_index,
                     double label_smoothing) {
  MM_AUTOCAST_F32(
      cross_entropy(autocast_to_f32(logits), autocast_to_f32(target), reduction, ignore_index, label_smoothing))
  const char* op = "cross_entropy";
  check_floating(logits, op, "input");
  MM_CHECK(target.defined(), Value, op, "target is undefined");
  MM_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, Value, op, "label_smoothing must be in [0, 1], got ",
           label_smoothing);
  if (unbatched(logits, target, op)) {
    Tensor r = cross_entropy(unsqueeze(logits, 0), unsqueeze(target, 0), reduction, ignore_index, label_smoothing);
    return reduction == Reduction::None ? squeeze(r, 0) : r;
  }
  const double eps = label_smoothing;
  const double classes = static_cast<double>(logits.size(1));

  if (is_floating(target.dtype())) {
    // Class probabilities: smoothing mixes in the uniform distribution, y' = (1−ε)·y + ε/C.
    MM_CHECK(target.shape() == logits.shape(), Shape, op, "probability target ", shape_str(target.shape()),
             " must have the input's shape ", shape_str(logits.shape()));
    Tensor lp = log_softmax(logits, 1);
    Tensor y = to(target, logits.dtype());
    if (eps > 0) y = y * (1.0 - eps) + eps / classes;
    return reduce_loss(neg(sum(lp * y, {1})), reduction);  // Mean: over N·d..., as in PyTorch
  }

  ClassTarget t = class_target(logits, target, ignore_index, op);
  Tensor lp = log_softmax(logits, 1);
  Tensor loss = neg(squeeze(gather(lp, 1, t.index), 1));  // −log p[n, t_n]
  // Label smoothing (PyTorch's cross_entropy): (1−ε)·nll + ε/C·Σ_c(−log p[n,c]), both terms masked by
  // ignore_index and both averaged over the non-ignored targets.
  if (eps > 0) loss = loss * (1.0 - eps) - sum(lp, {1}) * (eps / classes);
  return reduce_class_loss(where(t.keep, loss, 0.0), t, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& x, const Tensor& y, Reduction reduction,
                                        const Tensor& pos_weight) {
  MM_AUTOCAST_F32(binary_cross_entropy_with_logits(autocast_to_f32(x), autocast_to_f32(y), reduction,
                                                   autocast_to_f32(pos_weight)))
  const char* op = "binary_cross_entropy_with_logits";
  check_floating(x, op, "input");
  check_floating(y, op, "target");
  MM_CHECK(x.shape() == y.shape(), Shape, op, "target ", shape_str(y.shape()), " must have the input's shape ",
           shape_str(x.shape()));
  // −[w·y·log σ(x) + (1−y)·log σ(−x)], w = pos_weight. This equals PyTorch's
  // (1−y)·x − (1+(w−1)·y)·log σ(x) (use log σ(−x) = log σ(x) − x), but never subtracts two large
  // numbers: for x = −30, y = 0 it gives log1p(e^−30) directly instead of −30 + 30.000…. logsigmoid
  // is smooth, so the gradient is exact at x = 0 too (a max(x,0)/|x| form is kinked there).
  Tensor pos = y * logsigmoid(x);
  if (pos_weight.defined()) {
    check_floating(pos_weight, op, "pos_weight");
    MM_CHECK(broadcasts_to(pos_weight.shape(), x.shape()), Shape, op, "pos_weight ", shape_str(pos_weight.shape()),
             " must broadcast to the input ", shape_str(x.shape()));
    pos = pos * pos_weight;
  }
  return reduce_loss(neg(pos + (1.0 - y) * logsigmoid(neg(x))), reduction);
}

Tensor mse_loss(const Tensor& x, const Tensor& y, Reduction reduction) {
  MM_AUTOCAST_F32(mse_loss(autocast_to_f32(x), autocast_to_f32(y), reduction))
  const char* op = "mse_loss";
  check_floating(x, op, "input");
  check_floating(y, op, "target");
  MM_CHECK(x.shape() == y.shape(), Shape, op, "target ", shape_str(y.shape()), " must have the input's shape ",
           shape_str(x.shape()), " (reduction ", reduction_name(reduction), ")");
  return reduce_loss(square(x - y), reduction);
}

Tensor normalize(const Tensor& x, double p, int64_t dim, double eps) {
  MM_AUTOCAST_F32(normalize(autocast_to_f32(x), p, dim, eps))
  const char* op = "normalize";
  check_floating(x, op, "input");
  MM_CHECK(eps >= 0, Value, op, "eps must be non-negative, got ", eps);
  int64_t d = wrap_dim(dim, x.dim(), op);
  return div(x, clamp_min(norm(x, p, {d}, /*keepdim=*/true), eps));
}

Tensor cosine_similarity(const Tensor& a, const Tensor& b, int64_t dim, double eps) {
  MM_AUTOCAST_F32(cosine_similarity(autocast_to_f32(a), autocast_to_f32(b), dim, eps))
  const char* op = "cosine_similarity";
  check_floating(a, op, "x1");
  check_floating(b, op, "x2");
  MM_CHECK(eps >= 0, Value, op, "eps must be non-negative, got ", eps);
  Shape s = broadcast_shapes(a.shape(), b.shape(), op);
  MM_CHECK(!s.empty(), Shape, op, "inputs must have at least one dimension, got 0-d tensors");
  int64_t d = wrap_dim(dim, static_cast<int64_t>(s.size()), op);
  Tensor ae = expand(a, s), be = expand(b, s);
  // Normalise each side first (clamped separately), then take the dot product: the result stays in
  // [−1, 1] up to rounding, unlike a·b / (‖a‖‖b‖) with the product formed first.
  Tensor an = ae / clamp_min(norm(ae, 2, {d}, true), eps);
  Tensor bn = be / clamp_min(norm(be, 2, {d}, true), eps);
  return sum(an * bn, {d});
}

Tensor cdist(const Tensor& a, const Tensor& b, double p) {
  MM_AUTOCAST_F32(cdist(autocast_to_f32(a), autocast_to_f32(b), p))
  const char* op = "cdist";
  check_floating(a, op, "x1");
  check_floating(b, op, "x2");
  MM_CHECK(a.dim() >= 2 && b.dim() >= 2, Shape, op, "inputs must be at least 2-D [...,P,M] and [...,R,M], got ",
           shape_str(a.shape()), " and ", shape_str(b.shape()));
  MM_CHECK(a.size(-1) == b.size(-1), Shape, op, "feature sizes differ: ", shape_str(a.shape()), " and ",
           shape_str(b.shape()), " (last dimensions must match)");
  MM_CHECK(a.dtype() == b.dtype(), DType, op, "x1 and x2 must have the same dtype, got ", dtype_name(a.dtype()),
           " and ", dtype_name(b.dtype()));
  MM_CHECK(p >= 0, Value, op, "p must be non-negative, got ", p);
  Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  broadcast_shapes(ba, bb, op);  // batch dims must broadcast (throws a Shape error naming both)
  const int64_t P = a.size(-2), R = b.size(-2);
  if (!(p == 2 && (P > 25 || R > 25)))
    return norm(unsqueeze(a, -2) - unsqueeze(b, -3), p, {-1});  // [...,P,R,M] differences → [...,P,R]

  // ‖a_i − b_j‖² = ‖a_i‖² + ‖b_j‖² − 2·a_i·b_j: one matmul, no [P,R,M] temporary. Rounding can make it
  // slightly negative for (nearly) equal points, hence the clamp before the sqrt.
  Tensor dist;
  {
    NoGradGuard no_grad;
    Tensor an = sum(square(a), {-1}, true);                     // [...,P,1]
    Tensor bn = transpose(sum(square(b), {-1}, true), -1, -2);  // [...,1,R]
    dist = sqrt(clamp_min(an + bn - matmul(a, transpose(b, -1, -2)) * 2.0, 0.0));
  }
  if (needs_grad({a, b})) {
    record(op, {a, b}, {dist}, [a = saved(a), b = saved(b), dist = saved(dist)](const GradContext& c) {
      // PyTorch's cdist_backward for p = 2: ∂d_ij/∂a_i = (a_i − b_j)/d_ij, 0 where d_ij = 0. Built from
      // the exact differences, so equal points get exactly 0 even though the matmul form leaves a
      // rounding-sized d_ij there. (Differentiating sqrt(clamp(...)) instead would give ∞·0 = NaN.)
      Tensor zero = eq(dist, 0.0);
      Tensor w = unsqueeze(masked_fill(c.grad() / masked_fill(dist, zero, 1.0), zero, 0.0), -1);  // [...,P,R,1]
      Tensor gd = (unsqueeze(a, -2) - unsqueeze(b, -3)) * w;                                         // [...,P,R,M]
      // diff = a_i − b_j: a gets the sum over j, b minus the sum over i (the engine reduces broadcast
      // batch dims back to each input's shape).
      return TensorList{c.needs_grad(0) ? sum(gd, {-2}) : Tensor(), c.needs_grad(1) ? neg(sum(gd, {-3})) : Tensor()};
    });
  }
  return dist;
}

#undef MM_AUTOCAST_F32

}  // namespace mm
