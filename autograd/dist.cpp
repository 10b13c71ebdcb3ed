// The differentiable collectives: forward through the communicator, backward the adjoint collective
// (see dist.h for the derivations). Inputs are made contiguous first (the communicator's rule).
#include "autograd/dist.h"

#include "autograd/record.h"
#include "ops/copy.h"
#include "ops/elementwise.h"

namespace mm::dist {

namespace {
int wrap_rank(int64_t r, int world) { return static_cast<int>(((r % world) + world) % world); }
}  // namespace

Tensor all_gather(const Tensor& x, Communicator& comm) {
  Tensor y = comm.all_gather(ops::contiguous(x));
  if (needs_grad({x})) {
    record("all_gather", {x}, {y}, [c = &comm](const GradContext& ctx) {
      return TensorList{c->reduce_scatter(ops::contiguous(ctx.grad()), ReduceOp::Sum)};
    });
  }
  return y;
}

Tensor all_reduce(const Tensor& x, Communicator& comm, ReduceOp op) {
  MM_CHECK(op == ReduceOp::Sum || op == ReduceOp::Avg, Value, "dist::all_reduce",
           "only sum and avg are differentiable here, got ", reduce_op_name(op));
  // A fresh buffer: the input must not change (autograd may have saved it).
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  ops::copy_(y, x);
  comm.all_reduce(y, op);
  if (needs_grad({x})) {
    record("all_reduce", {x}, {y}, [c = &comm, op](const GradContext& ctx) {
      Tensor g = Tensor::empty(ctx.grad().shape(), ctx.grad().dtype(), ctx.grad().device());
      ops::copy_(g, ctx.grad());
      c->all_reduce(g, op);
      return TensorList{g};
    });
  }
  return y;
}

Tensor ring_shift(const Tensor& x, Communicator& comm, int shift) {
  const int w = comm.world(), r = comm.rank();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  comm.sendrecv(ops::contiguous(x), wrap_rank(r + shift, w), y, wrap_rank(r - shift, w));
  if (needs_grad({x})) {
    record("ring_shift", {x}, {y}, [c = &comm, shift, w, r](const GradContext& ctx) {
      Tensor g = ops::contiguous(ctx.grad());
      Tensor back = Tensor::empty(g.shape(), g.dtype(), g.device());
      c->sendrecv(g, wrap_rank(r - shift, w), back, wrap_rank(r + shift, w));
      return TensorList{back};
    });
  }
  return y;
}

}  // namespace mm::dist
