"""Peer of mmalign_bench softmax_8192x768: softmax along the last dim of [8192, 768],
forward + backward with a fixed random output gradient."""
import torch
from _common import run, uniform


def setup():
    x = uniform((8192, 768), 1, -4.0, 4.0).requires_grad_(True)
    gy = uniform((8192, 768), 4)
    return x, gy


def iteration(s):
    x, gy = s
    x.grad = None
    y = torch.softmax(x, -1)
    y.backward(gy)


run("softmax_8192x768", setup, iteration, default_reps=7, default_warmup=3, min_time=0.2)
