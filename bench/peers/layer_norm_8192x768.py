"""Peer of mmalign_bench layer_norm_8192x768: layer norm over the last dim (weight, bias, eps 1e-5)
of [8192, 768], forward + backward (grads of x, weight, bias) with a fixed random output gradient."""
import torch
import torch.nn.functional as F
from _common import run, uniform


def setup():
    x = uniform((8192, 768), 1).requires_grad_(True)
    w = uniform((768,), 2, 0.5, 1.5).requires_grad_(True)
    b = uniform((768,), 3).requires_grad_(True)
    gy = uniform((8192, 768), 4)
    return x, w, b, gy


def iteration(s):
    x, w, b, gy = s
    x.grad = w.grad = b.grad = None
    y = F.layer_norm(x, (768,), w, b, 1e-5)
    y.backward(gy)


run("layer_norm_8192x768", setup, iteration, default_reps=7, default_warmup=3, min_time=0.2)
