#!/usr/bin/env python3
# Golden files for train/optim.h and train/schedule.h (tests/train/test_optim.cpp,
# tests/train/test_schedule.cpp).
#
# Optimizers: torch.optim.AdamW / Adam / SGD run for a few steps on three parameters in two groups
# (weight decay on the matrix, none on the vector and the scalar), with fixed per-step gradients; one
# parameter gets no gradient at step 2 (PyTorch skips it: its state and step count do not advance).
#
# tests/golden/optim/adamw.safetensors (one run, flat names):
#   init/<p>            parameters before the first step
#   grads/<step>/<p>    the gradient set before step <step> (absent: no gradient that step)
#   final/<p>           parameters after the last step
#   exp_avg/<p>, exp_avg_sq/<p>   optimizer state after the last step
#   metadata "config": lr, betas, eps, weight decays, steps, and per-parameter step counts; "versions".
# tests/golden/optim/sgd.safetensors, adam.safetensors: several runs, each under "<run>/" with the
#   same names (SGD's state is momentum_buffer/<p>, absent without momentum); the second group's lr
#   is lr × lr_multiplier (torch's per-group lr). metadata "config": {run: settings}.
#
# Schedules: the lr torch.optim.lr_scheduler gives at every step (a dummy SGD optimizer; the lr read
# before each opt.step()), f64 tensors in tests/golden/optim/schedules.safetensors:
#   multistep       MultiStepLR(milestones, gamma)
#   cosine          CosineAnnealingLR(T_max, eta_min), T_max + 1 values (its end included)
#   warmup_cosine   SequentialLR(LinearLR(1/warmup → 1 over warmup − 1 steps), CosineAnnealingLR(
#                   T_max = total − warmup)) switched at `warmup`: mmalign's warmup + cosine
#   metadata "config": each schedule's settings.
#
# Run from the repository root (Debian python3-torch; no other package):
#   /usr/bin/python3 tools/golden/optim.py          # write, then re-verify
#   /usr/bin/python3 tools/golden/optim.py --check  # re-verify the committed files only
import argparse
import json
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nn_modules import encode, decode, versions  # noqa: E402  (the shared safetensors writer)

DIR = os.path.join("tests", "golden", "optim")
CONFIG = {"lr": 1e-2, "betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": {"w": 0.1, "b": 0.0, "s": 0.0},
          "steps": 5, "skip": {"b": [2]}}
SGD_RUNS = {
    "plain": {"lr": 0.05, "momentum": 0.0, "nesterov": False, "weight_decay": 0.1, "lr_multiplier": 1.0},
    "momentum": {"lr": 0.05, "momentum": 0.9, "nesterov": False, "weight_decay": 0.1, "lr_multiplier": 0.5},
    "nesterov": {"lr": 0.02, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01, "lr_multiplier": 2.0},
}
ADAM_RUNS = {
    "weight_decay": {"lr": 1e-2, "betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.1, "lr_multiplier": 1.0},
    "multiplier": {"lr": 3e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.5, "lr_multiplier": 0.25},
}
COMMON = {"steps": 5, "skip": {"b": [2]}}
SCHEDULES = {
    "multistep": {"lr": 0.1, "milestones": [3, 7, 8], "gamma": 0.5, "steps": 12},
    "cosine": {"lr": 0.1, "T_max": 20, "eta_min": 0.001},
    "warmup_cosine": {"lr": 2e-3, "warmup": 5, "total": 30},
}


def run_optimizer(make_opt, seed, skip, steps):
    """Runs an optimizer on w [3,4] (group 0) and b [4], s [] (group 1); returns tensors, step counts."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    params = {"w": torch.randn(3, 4), "b": torch.randn(4), "s": torch.randn(())}
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    opt = make_opt([leaves["w"]], [leaves["b"], leaves["s"]])
    out = {f"init/{k}": v.clone() for k, v in params.items()}
    for step in range(1, steps + 1):
        opt.zero_grad(set_to_none=True)
        for k, p in leaves.items():
            if step in skip.get(k, []):
                continue
            g = torch.randn(p.shape) * (10.0 if k == "s" else 0.5)
            p.grad = g
            out[f"grads/{step}/{k}"] = g.clone()
        opt.step()
    counts = {}  # steps each parameter took (SGD keeps no count: the steps that had a gradient)
    for k, p in leaves.items():
        out[f"final/{k}"] = p.detach().clone()
        counts[k] = steps - len(skip.get(k, []))
        for name, t in opt.state[p].items():
            if name == "step":
                assert int(t) == counts[k], (k, int(t), counts[k])
            elif t is not None:
                out[f"{name}/{k}"] = t.clone()
    return out, counts


def compute_adamw():
    c = CONFIG

    def make(g0, g1):
        groups = [{"params": g0, "weight_decay": c["weight_decay"]["w"]}, {"params": g1, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=c["lr"], betas=tuple(c["betas"]), eps=c["eps"])

    out, steps = run_optimizer(make, 7, c["skip"], c["steps"])
    config = dict(CONFIG, param_steps=steps)
    return out, {"config": json.dumps(config, sort_keys=True), "versions": versions()}


def compute_runs(runs, make_opt, seed):
    tensors, config = {}, {}
    for i, (name, r) in enumerate(sorted(runs.items())):
        out, steps = run_optimizer(lambda g0, g1: make_opt(r, g0, g1), seed + i, COMMON["skip"], COMMON["steps"])
        tensors.update({f"{name}/{k}": v for k, v in out.items()})
        config[name] = dict(r, **COMMON, seed=seed + i, param_steps=steps)
    return tensors, {"config": json.dumps(config, sort_keys=True), "versions": versions()}


def groups_of(r, g0, g1):
    return [{"params": g0, "weight_decay": r["weight_decay"]},
            {"params": g1, "weight_decay": 0.0, "lr": r["lr"] * r["lr_multiplier"]}]


def compute_sgd():
    return compute_runs(SGD_RUNS, lambda r, g0, g1: torch.optim.SGD(
        groups_of(r, g0, g1), lr=r["lr"], momentum=r["momentum"], nesterov=r["nesterov"]), 11)


def compute_adam():
    return compute_runs(ADAM_RUNS, lambda r, g0, g1: torch.optim.Adam(
        groups_of(r, g0, g1), lr=r["lr"], betas=tuple(r["betas"]), eps=r["eps"]), 21)


def lrs(make_sched, lr, n):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_sched(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(out, dtype=torch.float64)


def compute_schedules():
    S = torch.optim.lr_scheduler
    m, c, w = SCHEDULES["multistep"], SCHEDULES["cosine"], SCHEDULES["warmup_cosine"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's internal step(0) is deprecated in 1.13
        tensors = {
            "multistep": lrs(lambda o: S.MultiStepLR(o, m["milestones"], gamma=m["gamma"]), m["lr"], m["steps"]),
            "cosine": lrs(lambda o: S.CosineAnnealingLR(o, T_max=c["T_max"], eta_min=c["eta_min"]), c["lr"],
                          c["T_max"] + 1),
            "warmup_cosine": lrs(lambda o: S.SequentialLR(o, [
                S.LinearLR(o, start_factor=1.0 / w["warmup"], end_factor=1.0, total_iters=w["warmup"] - 1),
                S.CosineAnnealingLR(o, T_max=w["total"] - w["warmup"])], milestones=[w["warmup"]]), w["lr"],
                w["total"]),
        }
    return tensors, {"config": json.dumps(SCHEDULES, sort_keys=True), "versions": versions()}


FILES = {"adamw.safetensors": compute_adamw, "sgd.safetensors": compute_sgd, "adam.safetensors": compute_adam,
         "schedules.safetensors": compute_schedules}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="re-verify the committed files without rewriting them")
    args = ap.parse_args()
    for fname, compute in FILES.items():
        out = os.path.join(DIR, fname)
        tensors, meta = compute()
        blob = encode(tensors, meta)
        if not args.check:
            os.makedirs(DIR, exist_ok=True)
            with open(out, "wb") as f:
                f.write(blob)
        with open(out, "rb") as f:
            on_disk = f.read()
        if on_disk != blob:
            back, _ = decode(on_disk)
            diff = [k for k in tensors if k not in back or not torch.equal(back[k], tensors[k])]
            sys.exit(f"{out}: differs from a fresh computation (tensors: {diff or 'metadata only'})")
        print(f"{out}: {len(tensors)} tensors, {len(on_disk)} bytes, verified")


if __name__ == "__main__":
    main()
