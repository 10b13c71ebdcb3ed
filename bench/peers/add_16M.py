"""Peer of mmalign_bench add_16M: c = a + b for two 16M-float tensors (forward only, no grad).
Also reports bytes/s counting 3 x 64 MB per iteration."""
import torch
from _common import run, uniform

N = 1 << 24


def setup():
    return uniform((N,), 1), uniform((N,), 2)


def iteration(s):
    a, b = s
    with torch.no_grad():
        c = a + b
    return c


run("add_16M", setup, iteration, default_reps=7, default_warmup=3, min_time=0.2,
    extra=lambda o: {"bytes_per_second": 3 * 4 * N / o["seconds_per_iter"]})
