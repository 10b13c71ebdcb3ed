"""Peer of mmalign_bench tiny_ops_10k: framework overhead. On [4]-element tensors, 2,500 x
{mul by a tensor, add a scalar, tanh, sub a tensor} = 10,000 ops forward, then backward through
the whole chain. Also reports us_per_op = iteration time / 10,000 and its forward/backward split
(averaged over all iterations, warm-up included)."""
import time

import torch
from _common import run, uniform

REPS = 2500
OPS = 4 * REPS


def setup():
    x = uniform((4,), 7).requires_grad_(True)
    scale = torch.full((4,), 1.0001)
    shift = torch.full((4,), 0.0001)
    gy = torch.ones(4)
    return x, scale, shift, gy


SPLIT = {"fwd": 0.0, "bwd": 0.0, "n": 0}


def iteration(s):
    x, scale, shift, gy = s
    t0 = time.perf_counter()
    y = x
    for _ in range(REPS):
        y = torch.mul(y, scale)
        y = torch.add(y, 0.0001)
        y = torch.tanh(y)
        y = torch.sub(y, shift)
    t1 = time.perf_counter()
    y.backward(gy)
    SPLIT["fwd"] += t1 - t0
    SPLIT["bwd"] += time.perf_counter() - t1
    SPLIT["n"] += 1
    x.grad = None


run("tiny_ops_10k", setup, iteration, default_reps=5, default_warmup=2, min_time=0.3,
    extra=lambda o: {"us_per_op": o["seconds_per_iter"] / OPS * 1e6,
                     "fwd_us_per_op": SPLIT["fwd"] / SPLIT["n"] / OPS * 1e6,
                     "bwd_us_per_op": SPLIT["bwd"] / SPLIT["n"] / OPS * 1e6})
