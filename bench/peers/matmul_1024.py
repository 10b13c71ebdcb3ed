"""Peer of mmalign_bench matmul_1024: C = A @ B, 1024x1024x1024 f32."""
import torch
from _common import run, uniform


def setup():
    return uniform((1024, 1024), 1), uniform((1024, 1024), 2)


def iteration(s):
    a, b = s
    with torch.no_grad():
        c = torch.matmul(a, b)
    return c


run("matmul_1024", setup, iteration, default_reps=7, default_warmup=3, min_time=0.2,
    extra=lambda o: {"gflops": 2 * 1024 ** 3 / o["seconds_per_iter"] / 1e9})
