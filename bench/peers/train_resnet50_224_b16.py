"""Peer of mmalign_bench train_resnet50_224_b16: torchvision ResNet-50 (1000 classes) @224 px, batch 16,
train mode; cross-entropy, backward, AdamW (bench/peers/_train.py)."""
import torchvision
from _common import run
from _train import image_setup, iteration

run("train_resnet50_224_b16", lambda: image_setup(torchvision.models.resnet50(), 16, 224), iteration,
    default_reps=3, default_warmup=1)
