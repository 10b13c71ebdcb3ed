#!/usr/bin/env python3
"""Compares two `mmalign train` run directories (tests/dist/test_trainer_dist.sh).

  compare_runs.py params RUN_A RUN_B TOL   every tensor of RUN_A/model.safetensors equals RUN_B's:
                                           max |a - b| / max(max |b|, 1e-12) <= TOL per tensor
  compare_runs.py whole RUN_A RUN_B TOL    ||a - b|| / ||b|| over all tensors together <= TOL
  compare_runs.py losses RUN_A RUN_B TOL   the loss of every step in metrics.jsonl agrees (relative)
  compare_runs.py bytes RUN KIND D W       step 1's all_gather + reduce_scatter + send bytes in
                                           metrics.jsonl equal nn/losses/global.h's formula for loss
                                           KIND (clip|siglip|triplet), D features, W ranks, f32

Standard library only (CI has no numpy). Prints one line per check; exit status 1 on a mismatch.
"""
import json
import struct
import sys

SIZES = {"F32": ("f", 4), "F64": ("d", 8), "I64": ("q", 8), "I32": ("i", 4), "U8": ("B", 1), "BOOL": ("?", 1)}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        fmt, size = SIZES[info["dtype"]]
        lo, hi = info["data_offsets"]
        out[name] = struct.unpack("<%d%s" % ((hi - lo) // size, fmt), body[lo:hi])
    return out


def metrics(run):
    with open(run + "/metrics.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def params(a, b, tol):
    ta, tb = load_safetensors(a + "/model.safetensors"), load_safetensors(b + "/model.safetensors")
    if sorted(ta) != sorted(tb):
        print("FAIL: the tensor names differ: %s" % sorted(set(ta) ^ set(tb)))
        return False
    worst, worst_name = 0.0, ""
    for name in ta:
        scale = max(max((abs(v) for v in tb[name]), default=0.0), 1e-12)
        err = max((abs(x - y) for x, y in zip(ta[name], tb[name])), default=0.0) / scale
        if err > worst:
            worst, worst_name = err, name
    ok = worst <= tol
    print("%s: %d tensors, largest relative difference %.3g (%s), tolerance %g"
          % ("ok" if ok else "FAIL", len(ta), worst, worst_name or "-", tol))
    return ok


def whole(a, b, tol):
    """One number for the whole model: ||a - b|| / ||b|| over every parameter and buffer together."""
    ta, tb = load_safetensors(a + "/model.safetensors"), load_safetensors(b + "/model.safetensors")
    diff = sum((x - y) ** 2 for n in tb for x, y in zip(ta[n], tb[n])) ** 0.5
    norm = sum(y * y for n in tb for y in tb[n]) ** 0.5
    err = diff / max(norm, 1e-300)
    ok = err <= tol
    print("%s: whole model, relative difference %.3g (tolerance %g)" % ("ok" if ok else "FAIL", err, tol))
    return ok


def losses(a, b, tol):
    la = {m["step"]: m["loss"] for m in metrics(a) if "loss" in m}
    lb = {m["step"]: m["loss"] for m in metrics(b) if "loss" in m}
    steps = sorted(set(la) & set(lb))
    if not steps:
        print("FAIL: no common logged steps")
        return False
    worst = max(abs(la[s] - lb[s]) / max(abs(lb[s]), 1e-12) for s in steps)
    ok = worst <= tol
    print("%s: losses of %d steps agree to %.3g relative (tolerance %g): %s"
          % ("ok" if ok else "FAIL", len(steps), worst, tol, ", ".join("%.6f" % la[s] for s in steps)))
    return ok


def loss_bytes(run, kind, d, w, batch):
    first = next(m for m in metrics(run) if "comm_bytes" in m)
    got = sum(first["comm_bytes"].get(k, 0) for k in ("all_gather", "reduce_scatter", "send"))
    b, e = batch // w, 4
    want = 2 * (w - 1) * b * d * e if kind == "siglip" else 2 * b * d * e * (1 + w)
    ok = got == want
    print("%s: %s at %d ranks, b=%d, D=%d: loss collectives %d bytes per step, formula %d (all: %s)"
          % ("ok" if ok else "FAIL", kind, w, b, d, got, want, first["comm_bytes"]))
    return ok


def main(argv):
    what = argv[1]
    if what == "params":
        return params(argv[2], argv[3], float(argv[4]))
    if what == "whole":
        return whole(argv[2], argv[3], float(argv[4]))
    if what == "losses":
        return losses(argv[2], argv[3], float(argv[4]))
    if what == "bytes":
        return loss_bytes(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]))
    raise SystemExit("unknown check " + what)


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv) else 1)
