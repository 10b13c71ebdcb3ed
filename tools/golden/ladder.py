#!/usr/bin/env python3
# Golden files for the cross-attention ladder (SPEC §5.3; models/cross_attention/, tests/models/
# test_ladder_golden.cpp).
#
# The 17 rungs v0 … v11 written here in plain PyTorch, as the seed's (seed 002) CrossAttention classes
# with their attribute names, plus the two modes of the head that holds a rung and the learnable
# temperature (logits[i, j] = cos(image_out_i, text_out_j) / temp):
#   pair   image [B, d] and text [B, d] run as length-1 sequences (pair i = image i + caption i)
#   token  image [B, N_i, d] and text [B, N_t, d] with real-token masks on both sides (true = real),
#          each side's outputs pooled by the mean over its real tokens
# Writes tests/golden/ladder/<rung>.safetensors, one file per rung holding both modes:
#   weights/<name>                  the rung's state_dict (the seed's names; C++ loads it strictly)
#   head/temp                       the head's temperature (0-d)
#   <mode>/inputs/{image,text}      f32; token mode also image_mask, text_mask (BOOL)
#   <mode>/outputs/{image_out,text_out,logits}   rung outputs before pooling, and the logits
#   <mode>/loss_weights/<output>    R_k: the loss is L = sum_k sum(outputs/k * R_k)
#   <mode>/grads/inputs/{image,text}
#   <mode>/grads/params/<name>      dL/d every rung parameter, and "temp"
# Metadata (strings): config (JSON: sizes, token lengths, the semantics chosen where SPEC and the seed
# are silent), versions (JSON), loss, mode, seed, train_check, format.
#
# Every rung runs in eval() (dropout off). Train mode is checked here for v9 only, and only for
# shapes and determinism (same seed → same outputs; different from eval): dropout's random stream is
# PyTorch's and not reproduced by mmalign, so no train-mode values are stored.
#
# Run (from the repository root; a few seconds, one thread; needs torch and safetensors):
#   /tmp/golden-venv/bin/python tools/golden/ladder.py              # write + re-verify every file
#   /tmp/golden-venv/bin/python tools/golden/ladder.py --check-only # re-verify the existing files only
# The committed files were made with python 3.11.2, torch 1.13.1 (Debian, reports 1.13.0a0),
# safetensors 0.8.0; rerunning on those versions reproduces them byte for byte (fixed seeds, one
# thread, deterministic algorithms, the JSON header re-serialised with sorted keys).

import argparse
import json
import os
import platform
import struct
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

import safetensors
import safetensors.torch
from safetensors import safe_open

FORMAT_VERSION = "1"
DIM, HEADS, FF_DIM, DROPOUT, TEMP = 16, 4, 32, 0.1, 0.07
PAIR_B = 4
TOKEN_B, TOKEN_NI, TOKEN_NT = 3, 5, 4
# v7 needs N_i = N_t (txt = A^T v_T); v10_6 needs N_i, N_t in {1, d} (S is added by broadcasting).
TOKEN_LENGTHS = {"v7": (4, 4), "v10_6": (DIM, DIM)}
LOSS = "L = sum_k sum(<mode>/outputs/<k> * <mode>/loss_weights/<k>) over image_out, text_out, logits"
SEMANTICS = (
    "masks: true = real token; padded keys get -inf scores; in the rungs that reuse one matrix both ways "
    "(v1-v7: txt = A^T x) the rows of padded image queries are zeroed before the transpose; v10_6 zeroes "
    "S at padded image rows and text columns. Token pooling: mean over real tokens. logits = "
    "normalize(img) @ normalize(txt)^T / temp (F.normalize, eps 1e-12). Single-head rungs v0-v6 scale by "
    "dim^-0.5, multi-head by head_dim^-0.5. v10_1 has no shared to_q/to_k/to_v; v10_2 gates with "
    "sigmoid(Linear(2d,d)(gate_norm([a, raw input]))); v10_3 applies the contexts to attn_norm(x); "
    "v10_5 applies attn_norm to each level's LN(P x); v11 applies to_out per level, no dropout after it.")
RUNGS = ["v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9",
         "v10_1", "v10_2", "v10_3", "v10_4", "v10_5", "v10_6", "v11"]


# ----------------------------------------------------------------------------------------------
# masking helpers (the seed has no masks; these are the semantics of models/cross_attention/)

def masked_softmax(scores, key_real):
    """softmax over the last dim with padded keys (key_real [B, Nk] false) excluded."""
    if key_real is None:
        return scores.softmax(dim=-1)
    shape = (key_real.shape[0],) + (1,) * (scores.dim() - 2) + (key_real.shape[1],)
    return scores.masked_fill(~key_real.view(shape), float("-inf")).softmax(dim=-1)


def zero_query_rows(attn, query_real):
    if query_real is None:
        return attn
    shape = (query_real.shape[0],) + (1,) * (attn.dim() - 3) + (query_real.shape[1], 1)
    return attn.masked_fill(~query_real.view(shape), 0.0)


def ffn_branch(dim, ff_dim, dropout):
    return nn.Sequential(nn.Linear(dim, ff_dim), nn.GELU(), nn.Dropout(dropout))


# ----------------------------------------------------------------------------------------------
# the rungs. v0, v2, v3, v8, v9 follow the seed's code line by line (plus masks); the others are
# built from SPEC §5.3's table in the same style.

class V0(nn.Module):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        super().__init__()
        self.scale = dim ** -0.5

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        attn_i2t = torch.matmul(image_features, text_features.transpose(-2, -1)) * self.scale
        attn_i2t = masked_softmax(attn_i2t, text_mask)
        image_attended = torch.matmul(attn_i2t, text_features)
        attn_t2i = torch.matmul(text_features, image_features.transpose(-2, -1)) * self.scale
        attn_t2i = masked_softmax(attn_t2i, image_mask)
        text_attended = torch.matmul(attn_t2i, image_features)
        return image_attended, text_attended


def shared(qi, kt, vi, vt, scale, image_mask, text_mask):
    attn = masked_softmax(torch.matmul(qi, kt.transpose(-2, -1)) * scale, text_mask)
    image_out = torch.matmul(attn, vt)
    text_out = torch.matmul(zero_query_rows(attn, image_mask).transpose(-2, -1), vi)
    return image_out, text_out


class V1(V0):
    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        return shared(image_features, text_features, image_features, text_features, self.scale, image_mask, text_mask)


class V2(nn.Module):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        super().__init__()
        self.scale = dim ** -0.5
        self.norm = nn.LayerNorm(dim)

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        image_norm = self.norm(image_features)
        text_norm = self.norm(text_features)
        return shared(image_norm, text_norm, image_norm, text_norm, self.scale, image_mask, text_mask)


class V3(V2):
    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        image_attended, text_attended = super().forward(image_features, text_features, image_mask, text_mask)
        return image_features + image_attended, text_features + text_attended


class V4(nn.Module):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        super().__init__()
        self.scale = dim ** -0.5
        self.norm = nn.LayerNorm(dim)
        self.image_proj = nn.Linear(dim, dim)
        self.text_proj = nn.Linear(dim, dim)

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        ip = self.image_proj(self.norm(image_features))
        tp = self.text_proj(self.norm(text_features))
        return shared(ip, tp, ip, tp, self.scale, image_mask, text_mask)


class V5(V2):
    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        image_norm = self.norm(image_features)
        text_norm = self.norm(text_features)
        image_attended, text_attended = shared(image_norm, text_norm, image_norm, text_norm, self.scale,
                                               image_mask, text_mask)
        return 0.5 * image_norm + 0.5 * image_attended, 0.5 * text_norm + 0.5 * text_attended


class V6(nn.Module):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        super().__init__()
        self.scale = dim ** -0.5
        self.norm = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, dim)
        self.to_k = nn.Linear(dim, dim)
        self.to_v = nn.Linear(dim, dim)

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        image_norm = self.norm(image_features)
        text_norm = self.norm(text_features)
        return shared(self.to_q(image_norm), self.to_k(text_norm), self.to_v(image_norm), self.to_v(text_norm),
                      self.scale, image_mask, text_mask)


class MultiHead(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5

    def split_heads(self, x):
        return x.reshape(x.shape[0], -1, self.num_heads, self.head_dim).transpose(1, 2)

    @staticmethod
    def merge_heads(x):
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], -1)


class V7(MultiHead):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        super().__init__(dim, num_heads)
        self.norm = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, dim)
        self.to_k = nn.Linear(dim, dim)
        self.to_v = nn.Linear(dim, dim)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        image_norm = self.norm(image_features)
        text_norm = self.norm(text_features)
        q = self.split_heads(self.to_q(image_norm))
        k = self.split_heads(self.to_k(text_norm))
        v = self.split_heads(self.to_v(text_norm))
        attn = masked_softmax(torch.matmul(q, k.transpose(-2, -1)) * self.scale, text_mask)
        image_out = self.merge_heads(torch.matmul(attn, v))
        text_out = self.merge_heads(torch.matmul(zero_query_rows(attn, image_mask).transpose(-2, -1), v))
        return self.norm(self.to_out(image_out)), self.norm(self.to_out(text_out))


class V8(MultiHead):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        super().__init__(dim, num_heads)
        self.norm = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, dim)
        self.to_k = nn.Linear(dim, dim)
        self.to_v = nn.Linear(dim, dim)
        self.to_out = nn.Linear(dim, dim)
        self.out_norm = nn.LayerNorm(dim)

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        B, N_i, _ = image_features.shape
        _, N_t, _ = text_features.shape
        image_norm = self.norm(image_features)
        text_norm = self.norm(text_features)
        q_img = self.split_heads(self.to_q(image_norm))
        k_txt = self.split_heads(self.to_k(text_norm))
        v_txt = self.split_heads(self.to_v(text_norm))
        attn_i2t = masked_softmax(torch.matmul(q_img, k_txt.transpose(-2, -1)) * self.scale, text_mask)
        image_attended = torch.matmul(attn_i2t, v_txt)
        q_txt = self.split_heads(self.to_q(text_norm))
        k_img = self.split_heads(self.to_k(image_norm))
        v_img = self.split_heads(self.to_v(image_norm))
        attn_t2i = masked_softmax(torch.matmul(q_txt, k_img.transpose(-2, -1)) * self.scale, image_mask)
        text_attended = torch.matmul(attn_t2i, v_img)
        image_attended = image_attended.transpose(1, 2).reshape(B, N_i, -1)
        text_attended = text_attended.transpose(1, 2).reshape(B, N_t, -1)
        return self.out_norm(self.to_out(image_attended)), self.out_norm(self.to_out(text_attended))


class Gated(MultiHead):
    """v9's skeleton in the seed's registration order; `projections` adds the q/k/v layers."""

    def __init__(self, dim, num_heads, dropout, ff_dim, projections):
        super().__init__(dim, num_heads)
        ff_dim = ff_dim or dim * 4
        self.attn_norm = nn.LayerNorm(dim)
        self.ff_norm = nn.LayerNorm(dim)
        projections()
        self.to_out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.ff_gate = ffn_branch(dim, ff_dim, dropout)
        self.ff_value = ffn_branch(dim, ff_dim, dropout)
        self.ff_out = nn.Linear(ff_dim, dim)

    def attend(self, q, k, v, key_mask):
        attn = masked_softmax(torch.matmul(self.split_heads(q), self.split_heads(k).transpose(-2, -1)) * self.scale,
                              key_mask)
        attn = self.dropout(attn)
        return self.merge_heads(torch.matmul(attn, self.split_heads(v)))

    def apply_ff(self, a):
        x = self.ff_norm(a)
        return self.dropout(self.ff_out(self.ff_gate(x) * self.ff_value(x))) + a

    def finish(self, img, txt):
        """a = drop(to_out(att)), then the gated FFN with its residual, for both sides."""
        return self.apply_ff(self.dropout(self.to_out(img))), self.apply_ff(self.dropout(self.to_out(txt)))

    def add_levels(self, dim):
        self.level_projections = nn.ModuleList([nn.Linear(dim, dim) for _ in range(3)])
        self.level_norms = nn.ModuleList([nn.LayerNorm(dim) for _ in range(3)])
        self.level_weights = nn.Parameter(torch.ones(3) / 3)


class V9(Gated):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        def projections():
            self.to_q = nn.Linear(dim, dim)
            self.to_k = nn.Linear(dim, dim)
            self.to_v = nn.Linear(dim, dim)
        super().__init__(dim, num_heads, dropout, ff_dim, projections)

    def attention(self, image_norm, text_norm, image_mask, text_mask):
        image_attended = self.attend(self.to_q(image_norm), self.to_k(text_norm), self.to_v(text_norm), text_mask)
        text_attended = self.attend(self.to_q(text_norm), self.to_k(image_norm), self.to_v(image_norm), image_mask)
        return image_attended, text_attended

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        image_attended, text_attended = self.attention(self.attn_norm(image_features), self.attn_norm(text_features),
                                                       image_mask, text_mask)
        image_attended = self.dropout(self.to_out(image_attended))
        text_attended = self.dropout(self.to_out(text_attended))
        # Residual connection to the raw features: none (the seed: "makes training impossible").
        return self.apply_ff(image_attended), self.apply_ff(text_attended)


class V10_1(Gated):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        def projections():
            for side in ("image", "text"):
                for p in ("q", "k", "v"):
                    setattr(self, "%s_to_%s" % (side, p), nn.Linear(dim, dim))
        super().__init__(dim, num_heads, dropout, ff_dim, projections)

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        i, t = self.attn_norm(image_features), self.attn_norm(text_features)
        img = self.attend(self.image_to_q(i), self.text_to_k(t), self.text_to_v(t), text_mask)
        txt = self.attend(self.text_to_q(t), self.image_to_k(i), self.image_to_v(i), image_mask)
        return self.finish(img, txt)


class V10_2(V9):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        super().__init__(dim, num_heads, dropout, ff_dim)
        self.image_gate = nn.Sequential(nn.Linear(2 * dim, dim), nn.Sigmoid())
        self.text_gate = nn.Sequential(nn.Linear(2 * dim, dim), nn.Sigmoid())
        self.gate_norm = nn.LayerNorm(2 * dim)

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        img, txt = self.attention(self.attn_norm(image_features), self.attn_norm(text_features), image_mask, text_mask)
        a_img, a_txt = self.dropout(self.to_out(img)), self.dropout(self.to_out(txt))
        a_img = a_img * self.image_gate(self.gate_norm(torch.cat([a_img, image_features], dim=-1)))
        a_txt = a_txt * self.text_gate(self.gate_norm(torch.cat([a_txt, text_features], dim=-1)))
        return self.apply_ff(a_img), self.apply_ff(a_txt)


class V10_3(V9):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        super().__init__(dim, num_heads, dropout, ff_dim)
        self.image_context = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.text_context = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        img, txt = self.attention(self.image_context(self.attn_norm(image_features)),
                                  self.text_context(self.attn_norm(text_features)), image_mask, text_mask)
        return self.finish(img, txt)


class V10_4(Gated):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        def projections():
            self.to_q = nn.Linear(dim, dim)
            self.to_kv = nn.Linear(dim, 2 * dim)
        super().__init__(dim, num_heads, dropout, ff_dim, projections)

    def fused(self, xq, xkv, key_mask):
        k, v = self.to_kv(xkv).chunk(2, dim=-1)
        return self.attend(self.to_q(xq), k, v, key_mask)

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        i, t = self.attn_norm(image_features), self.attn_norm(text_features)
        img, txt = self.fused(i, t, text_mask), self.fused(t, i, image_mask)
        return self.finish(img, txt)


def weighted(level_weights, xs):
    w = level_weights.softmax(dim=0)
    return sum(w[l] * x for l, x in enumerate(xs))


class V10_5(V9):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        super().__init__(dim, num_heads, dropout, ff_dim)
        self.add_levels(dim)

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        imgs, txts = [], []
        for proj, norm in zip(self.level_projections, self.level_norms):
            i, t = norm(proj(image_features)), norm(proj(text_features))
            img, txt = self.attention(self.attn_norm(i), self.attn_norm(t), image_mask, text_mask)
            imgs.append(img)
            txts.append(txt)
        a_img = self.dropout(self.to_out(weighted(self.level_weights, imgs)))
        a_txt = self.dropout(self.to_out(weighted(self.level_weights, txts)))
        return self.apply_ff(a_img), self.apply_ff(a_txt)


class V10_6(V9):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        super().__init__(dim, num_heads, dropout, ff_dim)
        self.contrast_proj = nn.Linear(dim, dim)

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        img, txt = self.attention(self.attn_norm(image_features), self.attn_norm(text_features), image_mask, text_mask)
        a_img, a_txt = self.dropout(self.to_out(img)), self.dropout(self.to_out(txt))
        ci = F.normalize(self.contrast_proj(a_img), dim=-1)
        ct = F.normalize(self.contrast_proj(a_txt), dim=-1)
        s = torch.matmul(ci, ct.transpose(-2, -1)) * 0.1
        s = zero_query_rows(s, image_mask)
        if text_mask is not None:
            s = s.masked_fill(~text_mask.unsqueeze(1), 0.0)
        return self.apply_ff(a_img + s), self.apply_ff(a_txt + s.transpose(-2, -1))


class V11(V10_4):
    def __init__(self, dim, num_heads=8, dropout=0.1, ff_dim=None):
        super().__init__(dim, num_heads, dropout, ff_dim)
        self.add_levels(dim)

    def forward(self, image_features, text_features, image_mask=None, text_mask=None):
        imgs, txts = [], []
        for proj, norm in zip(self.level_projections, self.level_norms):
            i = self.attn_norm(norm(proj(image_features)))
            t = self.attn_norm(norm(proj(text_features)))
            imgs.append(self.to_out(self.fused(i, t, text_mask)))
            txts.append(self.to_out(self.fused(t, i, image_mask)))
        return self.apply_ff(weighted(self.level_weights, imgs)), self.apply_ff(weighted(self.level_weights, txts))


CLASSES = {"v0": V0, "v1": V1, "v2": V2, "v3": V3, "v4": V4, "v5": V5, "v6": V6, "v7": V7, "v8": V8, "v9": V9,
           "v10_1": V10_1, "v10_2": V10_2, "v10_3": V10_3, "v10_4": V10_4, "v10_5": V10_5, "v10_6": V10_6,
           "v11": V11}


class Head(nn.Module):
    """The rung under `cross_attention` and the learnable temperature `temp` (a divisor)."""

    def __init__(self, rung):
        super().__init__()
        self.temp = nn.Parameter(torch.tensor(TEMP))
        self.cross_attention = rung

    def logits(self, img, txt):
        return F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).t() / self.temp

    def pair(self, image, text):
        img, txt = self.cross_attention(image.unsqueeze(1), text.unsqueeze(1))
        return img, txt, self.logits(img.squeeze(1), txt.squeeze(1))

    def token(self, image, text, image_mask, text_mask):
        img, txt = self.cross_attention(image, text, image_mask, text_mask)

        def pool(x, real):
            m = real.to(x.dtype).unsqueeze(2)
            return (x * m).sum(1) / m.sum(1).clamp_min(1.0)
        return img, txt, self.logits(pool(img, image_mask), pool(txt, text_mask))


# ----------------------------------------------------------------------------------------------

def seed_of(rung):
    return 1000 + RUNGS.index(rung)


def build(rung):
    """The seeded head: default PyTorch init, then LayerNorm affines, every bias and level_weights
    re-drawn, so the goldens tell weight from bias and level from level."""
    torch.manual_seed(seed_of(rung))
    head = Head(CLASSES[rung](DIM, HEADS, DROPOUT, FF_DIM))
    with torch.no_grad():
        for name, p in head.cross_attention.named_parameters():
            if name == "level_weights":
                p.copy_(torch.randn_like(p) * 0.5)
            elif name.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.1)
            elif "norm" in name:
                p.uniform_(0.5, 1.5)
    return head


def real_mask(B, N, padded):
    """padded[b] trailing tokens of batch element b are padding (never all of them)."""
    m = torch.ones(B, N, dtype=torch.bool)
    for b, n in enumerate(padded):
        if n:
            m[b, N - n:] = False
    return m


def make_inputs(rung):
    torch.manual_seed(seed_of(rung) + 500)
    pair = OrderedDict([("image", torch.randn(PAIR_B, DIM)), ("text", torch.randn(PAIR_B, DIM))])
    n_i, n_t = TOKEN_LENGTHS.get(rung, (TOKEN_NI, TOKEN_NT))
    token = OrderedDict([("image", torch.randn(TOKEN_B, n_i, DIM)), ("text", torch.randn(TOKEN_B, n_t, DIM)),
                         ("image_mask", real_mask(TOKEN_B, n_i, [0, 0, 1])),
                         ("text_mask", real_mask(TOKEN_B, n_t, [0, 1, 2]))])
    return pair, token


def run_mode(head, mode, inputs):
    ins = OrderedDict((k, v.clone().requires_grad_(v.is_floating_point())) for k, v in inputs.items())
    if mode == "pair":
        img, txt, logits = head.pair(ins["image"], ins["text"])
    else:
        img, txt, logits = head.token(ins["image"], ins["text"], ins["image_mask"], ins["text_mask"])
    return ins, OrderedDict([("image_out", img), ("text_out", txt), ("logits", logits)])


def compute(rung):
    head = build(rung).eval()
    pair, token = make_inputs(rung)
    t = OrderedDict()
    for k, v in head.cross_attention.state_dict().items():
        t["weights/" + k] = v
    t["head/temp"] = head.temp.detach()
    for mode, inputs in (("pair", pair), ("token", token)):
        head.zero_grad(set_to_none=True)
        ins, outs = run_mode(head, mode, inputs)
        torch.manual_seed(seed_of(rung) + (600 if mode == "pair" else 700))
        lw = OrderedDict((k, torch.randn(v.shape)) for k, v in outs.items())
        sum((v * lw[k]).sum() for k, v in outs.items()).backward()
        for k, v in ins.items():
            t["%s/inputs/%s" % (mode, k)] = v
            if v.is_floating_point():
                t["%s/grads/inputs/%s" % (mode, k)] = v.grad
        for k, v in outs.items():
            t["%s/outputs/%s" % (mode, k)] = v
            t["%s/loss_weights/%s" % (mode, k)] = lw[k]
        for k, p in head.cross_attention.named_parameters():
            t["%s/grads/params/%s" % (mode, k)] = p.grad
        t["%s/grads/params/temp" % mode] = head.temp.grad
    return OrderedDict((k, v.detach().contiguous().clone()) for k, v in t.items())


def train_mode_check(rung):
    """Dropout on: same seed → same outputs, right shapes, not the eval outputs. Nothing is stored."""
    pair, token = make_inputs(rung)
    runs = []
    for _ in range(2):
        head = build(rung).train()
        torch.manual_seed(77)
        runs.append([o.detach() for o in run_mode(head, "token", token)[1].values()])
    ev = [o.detach() for o in run_mode(build(rung).eval(), "token", token)[1].values()]
    for a, b, e in zip(runs[0], runs[1], ev):
        assert torch.equal(a, b), "train mode is not deterministic under a fixed seed"
        assert a.shape == e.shape, "train and eval shapes differ"
    assert not torch.equal(runs[0][0], ev[0]), "dropout had no effect in train mode"
    return "token mode, train(): deterministic under a fixed seed, shapes as eval, outputs differ from eval"


# ----------------------------------------------------------------------------------------------

def versions():
    return json.dumps(OrderedDict([("python", platform.python_version()), ("torch", torch.__version__),
                                   ("safetensors", safetensors.__version__)]))


def metadata(rung, train_check):
    n_i, n_t = TOKEN_LENGTHS.get(rung, (TOKEN_NI, TOKEN_NT))
    cfg = OrderedDict([("rung", rung), ("dim", DIM), ("heads", HEADS), ("dropout", DROPOUT), ("ff_dim", FF_DIM),
                       ("temp", TEMP), ("pair", {"B": PAIR_B}), ("token", {"B": TOKEN_B, "N_i": n_i, "N_t": n_t}),
                       ("semantics", SEMANTICS)])
    return {"config": json.dumps(cfg, sort_keys=True), "format": FORMAT_VERSION, "loss": LOSS,
            "mode": "eval (dropout off)", "seed": str(seed_of(rung)), "versions": versions(),
            "train_check": train_check}


def save_canonical(tensors, meta, path):
    """safetensors.torch.save with the JSON header re-serialised with sorted keys (the library writes
    __metadata__ in hash-map order, which changes from run to run)."""
    blob = safetensors.torch.save(tensors, metadata=meta)
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    h = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + blob[8 + n:])


def fail(path, msg):
    raise SystemExit("VERIFY FAILED %s: %s" % (path, msg))


def verify(rung, path):
    """The stored file equals a fresh seeded computation bit for bit; the weights load strictly into a
    fresh rung; everything is finite; the config is the script's."""
    stored = safetensors.torch.load_file(path)
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
    if json.loads(meta["config"])["rung"] != rung:
        fail(path, "config names another rung")
    fresh = compute(rung)
    if sorted(fresh) != sorted(stored):
        fail(path, "key sets differ: %s" % sorted(set(fresh) ^ set(stored)))
    for k, v in fresh.items():
        if v.dtype != stored[k].dtype or not torch.equal(v, stored[k]):
            fail(path, "%s differs from a fresh computation" % k)
    weights = OrderedDict((k[len("weights/"):], v) for k, v in stored.items() if k.startswith("weights/"))
    CLASSES[rung](DIM, HEADS, DROPOUT, FF_DIM).load_state_dict(weights, strict=True)
    if not all(torch.isfinite(v).all() for v in stored.values() if v.is_floating_point()):
        fail(path, "non-finite values")


def main():
    ap = argparse.ArgumentParser(description="Golden files for the cross-attention ladder")
    ap.add_argument("--out", default=os.path.join("tests", "golden", "ladder"))
    ap.add_argument("--check-only", action="store_true", help="re-verify the existing files only")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for rung in RUNGS:
        path = os.path.join(args.out, rung + ".safetensors")
        if not args.check_only:
            check = train_mode_check(rung) if rung == "v9" else "none (eval only)"
            save_canonical(compute(rung), metadata(rung, check), path)
        verify(rung, path)
        total += os.path.getsize(path)
        print("%-40s %7d bytes  ok" % (path, os.path.getsize(path)))
    print("total %d bytes" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
