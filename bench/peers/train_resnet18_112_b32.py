"""Peer of mmalign_bench train_resnet18_112_b32: torchvision ResNet-18 (1000 classes) @112 px, batch 32,
train mode; cross-entropy, backward, AdamW (bench/peers/_train.py)."""
import torchvision
from _common import run
from _train import image_setup, iteration

run("train_resnet18_112_b32", lambda: image_setup(torchvision.models.resnet18(), 32, 112), iteration,
    default_reps=3, default_warmup=1)
