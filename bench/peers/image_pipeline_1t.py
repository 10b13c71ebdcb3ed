"""Peer of mmalign_bench image_pipeline_1t: PIL open + decode of a 500x375 JPEG
(tests/golden/images/bench_500x375.jpg) + torchvision RandomResizedCrop(224) + RandomHorizontalFlip
+ ToTensor + Normalize(ImageNet) → f32 [3, 224, 224]; one image per iteration, one thread
(torch.set_num_threads(1): ToTensor/Normalize would otherwise split their loops over 2 threads).
image_pipeline_2t.py imports JPEG, make_transform and one_image from here."""
import os

import torch
import torchvision.transforms as T
from PIL import Image

JPEG = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "tests", "golden", "images", "bench_500x375.jpg")


def make_transform():
    return T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
                      T.ToTensor(), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])


def one_image(tf):
    # torchvision's default_loader (pil_loader): open, then convert("RGB"), which decodes.
    with open(JPEG, "rb") as f:
        img = Image.open(f).convert("RGB")
    return tf(img)


def setup():
    torch.set_num_threads(1)
    return make_transform()


if __name__ == "__main__":
    from _common import run

    run("image_pipeline_1t", setup, one_image, default_reps=5, default_warmup=5, min_time=0.5,
        extra=lambda o: {"images_per_second": 1.0 / o["seconds_per_iter"]})
