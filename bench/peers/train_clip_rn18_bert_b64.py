"""Peer of mmalign_bench train_clip_rn18_bert_b64 (SPEC §9's CLIP step): torchvision ResNet-18 (no
classifier) @64 px + BERT 4x256 (bench/peers/_bert.py, pooler output), linear projections to 256
without bias, L2 normalisation, logits = exp(logit_scale)·I·Tᵀ (logit_scale init log(1/0.07)),
CLIP InfoNCE (mean of the two directions), batch 64 x 32 tokens; backward, AdamW (bench/peers/_train.py),
then the logit scale clamped to [0, ln 100]."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from _bert import VOCAB, Bert
from _common import run
from _train import adamw

BATCH, TOKENS, SIZE, EMBED = 64, 32, 64, 256


class Clip(nn.Module):
    def __init__(self):
        super().__init__()
        self.image = torchvision.models.resnet18()
        self.image.fc = nn.Identity()
        self.text = Bert()
        self.image_projection = nn.Linear(512, EMBED, bias=False)
        self.text_projection = nn.Linear(256, EMBED, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, images, ids, mask):
        i = F.normalize(self.image_projection(self.image(images)), dim=-1)
        t = F.normalize(self.text_projection(self.text(ids, mask)), dim=-1)
        return self.logit_scale.exp() * i @ t.t()


def setup():
    model = Clip().train()
    g = torch.Generator().manual_seed(11)
    images = torch.rand((BATCH, 3, SIZE, SIZE), generator=g) * 2 - 1
    ids = torch.randint(0, VOCAB, (BATCH, TOKENS), generator=g)
    mask = torch.ones(BATCH, TOKENS, dtype=torch.long)
    return model, adamw(model), (images, ids, mask)


def iteration(state):
    model, opt, (images, ids, mask) = state
    opt.zero_grad(set_to_none=True)
    logits = model(images, ids, mask)
    labels = torch.arange(BATCH)
    loss = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))
    loss.backward()
    opt.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(100))


run("train_clip_rn18_bert_b64", setup, iteration, default_reps=3, default_warmup=1)
