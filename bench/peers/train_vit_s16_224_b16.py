"""Peer of mmalign_bench train_vit_s16_224_b16: ViT-S/16 as torchvision's VisionTransformer (patch 16,
12 layers, 6 heads, width 384, MLP 1536, 1000 classes) @224 px, batch 16; cross-entropy, backward,
AdamW (bench/peers/_train.py)."""
from torchvision.models.vision_transformer import VisionTransformer
from _common import run
from _train import image_setup, iteration


def model():
    return VisionTransformer(image_size=224, patch_size=16, num_layers=12, num_heads=6, hidden_dim=384,
                             mlp_dim=1536, num_classes=1000)


run("train_vit_s16_224_b16", lambda: image_setup(model(), 16, 224), iteration, default_reps=3, default_warmup=1)
