#!/usr/bin/env python3
# Golden files for the fusion modules of models/fusion.h (tests/models/test_fusion.cpp).
#
# The five modules are written here in plain PyTorch with the parameter names of the C++ modules
# (SPEC §5.4; seeds 000 and 002; where they differ, docs/FUSION.md says which we follow). Each case
# writes tests/golden/fusion/<case>.safetensors with
#   weights/<name>        the module's state_dict
#   inputs/image, inputs/text   [B, d] features or [B, N, d] tokens; inputs/text_mask (BOOL, true =
#                         real token) in token cases
#   outputs/fused         the module's output [B, out_dim]
#   loss_weights/fused    R: the loss is L = sum(fused * R)
#   grads/inputs/<name>   dL/d(image), dL/d(text)
#   grads/params/<name>   dL/d(parameter), for every parameter
# and the metadata "config" (JSON: module, sizes, mode) and "versions".
#
# Run from the repository root with Debian's python3-torch (no other package):
#   /usr/bin/python3 tools/golden/fusion.py          # write every file, then re-verify it
#   /usr/bin/python3 tools/golden/fusion.py --check  # re-verify the committed files only
# Modules run in train() mode with dropout 0 (torch 1.13's eval() fast path of nn.MultiheadAttention
# is a different code path; see nn_modules.py).
import argparse
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nn_modules import decode, encode, versions  # noqa: E402  (the shared safetensors writer)

OUT_DIR = os.path.join("tests", "golden", "fusion")


def masked_mean(x, real):
    r = real.unsqueeze(2).to(x.dtype)
    return (x * r).sum(1) / r.sum(1)


def as_tokens(x):
    return x.unsqueeze(1) if x.dim() == 2 else x


def real_mask(x, mask):
    return torch.ones(x.shape[0], x.shape[1], dtype=torch.bool) if mask is None else mask


class ConcatFusion(nn.Module):
    def forward(self, image, text, mask):
        i, t = as_tokens(image), as_tokens(text)
        return torch.cat([masked_mean(i, real_mask(i, None)), masked_mean(t, real_mask(t, mask))], -1)


class WeightedSumFusion(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.image_weight = nn.Parameter(torch.randn(1))
        self.text_weight = nn.Parameter(torch.randn(1))

    def forward(self, image, text, mask):
        i, t = as_tokens(image), as_tokens(text)
        a, b = torch.sigmoid(self.image_weight), torch.sigmoid(self.text_weight)
        return masked_mean(i, real_mask(i, None)) * (a / (a + b)) + masked_mean(t, real_mask(t, mask)) * (b / (a + b))


class AttentionFusion(nn.Module):
    def __init__(self, dim, attention_dim):
        super().__init__()
        self.image_proj = nn.Linear(dim, attention_dim)
        self.text_proj = nn.Linear(dim, attention_dim)
        self.attention = nn.Linear(attention_dim, 1)

    def forward(self, image, text, mask):
        i, t = as_tokens(image), as_tokens(text)
        ip, tp = masked_mean(i, real_mask(i, None)), masked_mean(t, real_mask(t, mask))
        w = torch.sigmoid(self.attention(torch.tanh(self.image_proj(ip) + self.text_proj(tp))))
        return w * ip + (1 - w) * tp


def mha(dim, heads):
    return nn.MultiheadAttention(dim, heads, dropout=0.0, batch_first=True)


class HierarchicalCrossModalAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.local_image_attention = mha(dim, heads)
        self.local_text_attention = mha(dim, heads)
        self.text_to_image_attention = mha(dim, heads)
        self.image_to_text_attention = mha(dim, heads)
        self.output_layer = nn.Linear(2 * dim, dim)

    def forward(self, image, text, mask):
        i, t = as_tokens(image), as_tokens(text)
        t_real, i_real = real_mask(t, mask), real_mask(i, None)
        pad = ~t_real
        li = self.local_image_attention(i, i, i, need_weights=False)[0]
        lt = self.local_text_attention(t, t, t, key_padding_mask=pad, need_weights=False)[0]
        t2i = self.text_to_image_attention(lt, li, li, need_weights=False)[0]
        i2t = self.image_to_text_attention(li, lt, lt, key_padding_mask=pad, need_weights=False)[0]
        return self.output_layer(torch.cat([masked_mean(i2t, i_real), masked_mean(t2i, t_real)], -1))


class LatentSelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attention = mha(dim, heads)

    def forward(self, x):
        n = self.norm(x)
        return x + self.attention(n, n, n, need_weights=False)[0]


class PerceiverFusion(nn.Module):
    def __init__(self, dim, num_latents, heads, depth):
        super().__init__()
        self.latents = nn.Parameter(torch.randn(num_latents, dim))
        self.latent_norm = nn.LayerNorm(dim)
        self.input_norm = nn.LayerNorm(dim)
        self.cross_attention = mha(dim, heads)
        self.layers = nn.ModuleList(LatentSelfAttention(dim, heads) for _ in range(depth))

    def forward(self, image, text, mask):
        i, t = as_tokens(image), as_tokens(text)
        tokens = self.input_norm(torch.cat([i, t], 1))
        ignore = torch.cat([~real_mask(i, None), ~real_mask(t, mask)], 1)
        x = self.latents.unsqueeze(0).expand(i.shape[0], -1, -1)
        x = x + self.cross_attention(self.latent_norm(x), tokens, tokens, key_padding_mask=ignore,
                                     need_weights=False)[0]
        for layer in self.layers:
            x = layer(x)
        return x.mean(1)


D, HEADS, B, NI, NT = 8, 2, 3, 4, 5


def build(name):
    return {"concat": lambda: ConcatFusion(),
            "weighted_sum": lambda: WeightedSumFusion(D),
            "attention": lambda: AttentionFusion(D, 6),
            "hierarchical": lambda: HierarchicalCrossModalAttention(D, HEADS),
            "perceiver": lambda: PerceiverFusion(D, 3, HEADS, 2)}[name]()


CASES = [(m, mode) for m in ("concat", "weighted_sum", "attention", "hierarchical", "perceiver")
         for mode in ("features", "tokens")]


def compute(module_name, mode, seed):
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    m = build(module_name).train()
    with torch.no_grad():  # non-trivial norms and biases, so every parameter matters
        for name, p in m.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.add_(0.3 * torch.randn(p.shape))
    if mode == "features":
        image, text, mask = torch.randn(B, D), torch.randn(B, D), None
    else:
        image, text = torch.randn(B, NI, D), torch.randn(B, NT, D)
        mask = torch.ones(B, NT, dtype=torch.bool)
        mask[0, 3:] = False
        mask[2, 1:] = False
    image.requires_grad_(True)
    text.requires_grad_(True)
    fused = m(image, text, mask)
    r = torch.randn(fused.shape)
    (fused * r).sum().backward()
    out = {f"weights/{k}": v.detach().clone() for k, v in m.state_dict().items()}
    out.update({"inputs/image": image.detach(), "inputs/text": text.detach(), "outputs/fused": fused.detach(),
                "loss_weights/fused": r, "grads/inputs/image": image.grad, "grads/inputs/text": text.grad})
    if mask is not None:
        out["inputs/text_mask"] = mask
    for k, p in m.named_parameters():
        out[f"grads/params/{k}"] = p.grad.clone()
    config = {"module": module_name, "mode": mode, "dim": D, "heads": HEADS, "attention_dim": 6, "num_latents": 3,
              "depth": 2}
    return out, {"config": json.dumps(config, sort_keys=True), "versions": versions()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="re-verify the committed files without rewriting them")
    args = ap.parse_args()
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    for n, (module_name, mode) in enumerate(CASES):
        path = os.path.join(OUT_DIR, f"{module_name}_{mode}.safetensors")
        tensors, meta = compute(module_name, mode, 500 + n)
        blob = encode(tensors, meta)
        if not args.check:
            with open(path, "wb") as f:
                f.write(blob)
        with open(path, "rb") as f:
            on_disk = f.read()
        if on_disk != blob:
            back, _ = decode(on_disk)
            diff = [k for k in tensors if k not in back or not torch.equal(back[k], tensors[k])]
            sys.exit(f"{path}: differs from a fresh computation (tensors: {diff or 'metadata only'})")
        total += len(on_disk)
    print(f"{len(CASES)} files in {OUT_DIR}, {total} bytes, verified")


if __name__ == "__main__":
    main()
