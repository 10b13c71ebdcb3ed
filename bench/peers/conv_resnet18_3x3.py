"""Peer of mmalign_bench conv_resnet18_3x3: ResNet-18's 3x3 conv layers forward+backward, batch 32.

For each of (64ch, 56^2), (128, 28^2), (256, 14^2), (512, 7^2): a 3x3 stride-1 pad-1 conv C->C
without bias, forward, then backward with a fixed random output gradient (grads of input and weight).
"""
import torch
import torch.nn.functional as F
from _common import run, uniform

LAYERS = [(64, 56), (128, 28), (256, 14), (512, 7)]
BATCH = 32


def setup():
    state = []
    for i, (c, hw) in enumerate(LAYERS):
        x = uniform((BATCH, c, hw, hw), 10 + i).requires_grad_(True)
        bound = (1.0 / (c * 9)) ** 0.5
        w = uniform((c, c, 3, 3), 20 + i, -bound, bound).requires_grad_(True)
        gy = uniform((BATCH, c, hw, hw), 30 + i)
        state.append((x, w, gy))
    return state


def iteration(state):
    for x, w, gy in state:
        x.grad = None
        w.grad = None
        y = F.conv2d(x, w, None, (1, 1), (1, 1))
        y.backward(gy)


run("conv_resnet18_3x3", setup, iteration, default_reps=5, default_warmup=1)
