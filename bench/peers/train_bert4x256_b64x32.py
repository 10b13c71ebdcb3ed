"""Peer of mmalign_bench train_bert4x256_b64x32: BERT 4 layers x 256 (bench/peers/_bert.py) with its
tanh pooler and a 2-class linear head, batch 64 x 32 tokens, all tokens real; cross-entropy,
backward, AdamW (bench/peers/_train.py)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from _bert import VOCAB, Bert
from _common import run
from _train import adamw, iteration

BATCH, TOKENS = 64, 32


class BertClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.bert = Bert()
        self.head = nn.Linear(256, 2)

    def forward(self, ids, mask):
        return self.head(self.bert(ids, mask))


def setup():
    model = BertClassifier().train()
    g = torch.Generator().manual_seed(11)
    ids = torch.randint(0, VOCAB, (BATCH, TOKENS), generator=g)
    mask = torch.ones(BATCH, TOKENS, dtype=torch.long)
    labels = torch.randint(0, 2, (BATCH,), generator=g)
    return model, adamw(model), lambda m: F.cross_entropy(m(ids, mask), labels)


run("train_bert4x256_b64x32", setup, iteration, default_reps=3, default_warmup=1)
