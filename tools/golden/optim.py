#!/usr/bin/env python3
# Golden file for train::AdamW (tests/train/test_optim.cpp): torch.optim.AdamW run for a few steps on
# three parameters in two groups (weight decay 0.1 on the matrix, 0 on the vector and the scalar),
# with fixed per-step gradients; one parameter gets no gradient at step 2 (PyTorch skips it: its
# state and step count do not advance).
#
# Writes tests/golden/optim/adamw.safetensors:
#   init/<p>            parameters before the first step
#   grads/<step>/<p>    the gradient set before step <step> (absent: no gradient that step)
#   final/<p>           parameters after the last step
#   exp_avg/<p>, exp_avg_sq/<p>   optimizer state after the last step
# metadata "config": lr, betas, eps, weight decays, steps, and per-parameter step counts; "versions".
#
# Run from the repository root (Debian python3-torch; no other package):
#   /usr/bin/python3 tools/golden/optim.py          # write, then re-verify
#   /usr/bin/python3 tools/golden/optim.py --check  # re-verify the committed file only
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nn_modules import encode, decode, versions  # noqa: E402  (the shared safetensors writer)

OUT = os.path.join("tests", "golden", "optim", "adamw.safetensors")
CONFIG = {"lr": 1e-2, "betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": {"w": 0.1, "b": 0.0, "s": 0.0},
          "steps": 5, "skip": {"b": [2]}}


def compute():
    torch.manual_seed(7)
    torch.set_num_threads(1)
    params = {"w": torch.randn(3, 4), "b": torch.randn(4), "s": torch.randn(())}
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    groups = [{"params": [leaves["w"]], "weight_decay": CONFIG["weight_decay"]["w"]},
              {"params": [leaves["b"], leaves["s"]], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=CONFIG["lr"], betas=tuple(CONFIG["betas"]), eps=CONFIG["eps"])
    out = {f"init/{k}": v.clone() for k, v in params.items()}
    for step in range(1, CONFIG["steps"] + 1):
        opt.zero_grad(set_to_none=True)
        for k, p in leaves.items():
            if step in CONFIG["skip"].get(k, []):
                continue
            g = torch.randn(p.shape) * (10.0 if k == "s" else 0.5)
            p.grad = g
            out[f"grads/{step}/{k}"] = g.clone()
        opt.step()
    steps = {}
    for k, p in leaves.items():
        st = opt.state[p]
        out[f"final/{k}"] = p.detach().clone()
        out[f"exp_avg/{k}"] = st["exp_avg"].clone()
        out[f"exp_avg_sq/{k}"] = st["exp_avg_sq"].clone()
        steps[k] = int(st["step"])
    config = dict(CONFIG, param_steps=steps)
    return out, {"config": json.dumps(config, sort_keys=True), "versions": versions()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="re-verify the committed file without rewriting it")
    args = ap.parse_args()
    tensors, meta = compute()
    blob = encode(tensors, meta)
    if not args.check:
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        with open(OUT, "wb") as f:
            f.write(blob)
    with open(OUT, "rb") as f:
        on_disk = f.read()
    if on_disk != blob:
        back, _ = decode(on_disk)
        diff = [k for k in tensors if k not in back or not torch.equal(back[k], tensors[k])]
        sys.exit(f"{OUT}: differs from a fresh computation (tensors: {diff or 'metadata only'})")
    print(f"{OUT}: {len(tensors)} tensors, {len(on_disk)} bytes, verified")


if __name__ == "__main__":
    main()
