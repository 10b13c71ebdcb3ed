#!/usr/bin/env python3
# Golden files for nn::MultiheadAttention, nn::TransformerEncoderLayer and nn::LSTM
# (tests/nn/test_nn_golden.cpp).
#
# Writes tests/golden/nn/<case>.safetensors: a small torch.nn module built with a fixed seed, run by
# PyTorch on CPU in float32, with
#   weights/<name>        its state_dict (PyTorch's names; the C++ test loads them strictly)
#   inputs/<name>         the forward's inputs (masks as BOOL, lengths as I64)
#   outputs/<name>        what forward returned
#   loss_weights/<name>   R_k for every output k: the loss is L = sum_k sum(outputs/k * R_k)
#   grads/inputs/<name>   dL/d(input), for every floating input
#   grads/params/<name>   dL/d(parameter), for every parameter
# and in the metadata "config" (JSON: constructor and forward arguments) and "versions".
#
# Run (from the repository root; no extra packages: the file format is written here by hand and,
# when the `safetensors` package is importable, cross-checked with it):
#   /usr/bin/python3 tools/golden/nn_modules.py            # writes every file, then re-verifies it
#   /usr/bin/python3 tools/golden/nn_modules.py --check    # re-verifies the existing files only
# The files were made with Debian's python3-torch 1.13.1 (torch.__version__ "1.13.0a0"). Rerunning on
# the same versions reproduces them byte for byte (one thread, fixed seeds, sorted JSON header).
#
# Every module is run in train() mode with dropout = 0: in eval() torch 1.13 may take the fused
# "fast path" of MultiheadAttention / TransformerEncoderLayer (torch._native_multi_head_attention,
# nested tensors that drop padded positions), which is a different code path; train() keeps the
# composed math the C++ modules implement, and dropout = 0 makes train() deterministic.
#
# No query row is fully masked in these cases: torch 1.13 returns NaN for such a row, mmalign 0
# (the choice of PyTorch >= 2.5's _safe_softmax); tests/nn/test_attention.cpp covers that case.

import argparse
import json
import os
import platform
import struct
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_format  # noqa: E402
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

FORMAT_VERSION = "1"
LOSS = "L = sum_k sum(outputs/<k> * loss_weights/<k>) over every output k"

# ----------------------------------------------------------------------------------------------
# the cases: constructor arguments ("module") and forward arguments ("forward")

CASES = [
    {
        "name": "mha_cross_seq_first",
        "kind": "MultiheadAttention",
        "module": {"embed_dim": 8, "num_heads": 2, "dropout": 0.0, "bias": True, "batch_first": False},
        "forward": {"self_attention": False, "need_weights": True, "average_attn_weights": True,
                    "L": 3, "S": 4, "B": 2, "attn_mask": "bool"},
        "seed": 101,
    },
    {
        "name": "mha_self_batch_first",
        "kind": "MultiheadAttention",
        "module": {"embed_dim": 8, "num_heads": 2, "dropout": 0.0, "bias": True, "batch_first": True},
        "forward": {"self_attention": True, "need_weights": True, "average_attn_weights": False,
                    "L": 4, "S": 4, "B": 2, "attn_mask": "float_per_head"},
        "seed": 102,
    },
    {
        "name": "encoder_post_ln_relu",
        "kind": "TransformerEncoderLayer",
        "module": {"d_model": 8, "nhead": 2, "dim_feedforward": 16, "dropout": 0.0, "activation": "relu",
                   "layer_norm_eps": 1e-5, "batch_first": False, "norm_first": False},
        "forward": {"S": 5, "B": 2, "src_mask": "none"},
        "seed": 201,
    },
    {
        "name": "encoder_pre_ln_gelu",
        "kind": "TransformerEncoderLayer",
        "module": {"d_model": 8, "nhead": 2, "dim_feedforward": 16, "dropout": 0.0, "activation": "gelu",
                   "layer_norm_eps": 1e-6, "batch_first": True, "norm_first": True},
        "forward": {"S": 5, "B": 2, "src_mask": "bool_causal"},
        "seed": 202,
    },
    {
        "name": "lstm_2layer_bidir_batch_first",
        "kind": "LSTM",
        "module": {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bias": True, "batch_first": True,
                   "dropout": 0.0, "bidirectional": True},
        "forward": {"T": 5, "B": 3, "lengths": [3, 5, 2]},
        "seed": 301,
    },
]


def perturb_(module):
    """Default init leaves MHA's biases and LayerNorm's affine parameters at 0 / 1; re-draw them so
    the golden data tells weight from bias (uses the seeded global RNG)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.1)
            elif name.startswith("norm") and name.endswith("weight"):
                p.uniform_(0.5, 1.5)


# ----------------------------------------------------------------------------------------------
# building and running each kind; each returns (module, inputs, outputs)

def key_padding_mask(B, S):
    """Batch 0 pads its last key, batch 1 its last two (never every key)."""
    m = torch.zeros(B, S, dtype=torch.bool)
    for b in range(B):
        m[b, S - 1 - b:] = True
    return m


def run_mha(c):
    m, f = c["module"], c["forward"]
    mod = nn.MultiheadAttention(m["embed_dim"], m["num_heads"], dropout=m["dropout"], bias=m["bias"],
                                batch_first=m["batch_first"])
    perturb_(mod)
    L, S, B, E, H = f["L"], f["S"], f["B"], m["embed_dim"], m["num_heads"]
    shape = (lambda n: (B, n, E)) if m["batch_first"] else (lambda n: (n, B, E))
    inputs = OrderedDict()
    if f["self_attention"]:
        inputs["query"] = torch.randn(shape(L))
    else:
        inputs["query"] = torch.randn(shape(L))
        inputs["key"] = torch.randn(shape(S))
        inputs["value"] = torch.randn(shape(S))
    inputs["key_padding_mask"] = key_padding_mask(B, S)
    if f["attn_mask"] == "bool":
        am = torch.zeros(L, S, dtype=torch.bool)
        am[0, 0] = am[1, 2] = am[2, 1] = True  # a few blocked pairs; every row keeps allowed keys
        inputs["attn_mask"] = am
    else:  # "float_per_head": [B*H, L, S] additive
        inputs["attn_mask"] = torch.randn(B * H, L, S) * 0.5
    for v in inputs.values():  # the float attn_mask too: an additive mask is differentiable
        if v.is_floating_point():
            v.requires_grad_(True)
    q = inputs["query"]
    k = q if f["self_attention"] else inputs["key"]
    v = q if f["self_attention"] else inputs["value"]
    mod.train()
    out, w = mod(q, k, v, key_padding_mask=inputs["key_padding_mask"], need_weights=f["need_weights"],
                 attn_mask=inputs["attn_mask"], average_attn_weights=f["average_attn_weights"])
    return mod, inputs, OrderedDict([("output", out), ("weights", w)])


def run_encoder(c):
    m, f = c["module"], c["forward"]
    mod = nn.TransformerEncoderLayer(m["d_model"], m["nhead"], dim_feedforward=m["dim_feedforward"],
                                     dropout=m["dropout"], activation=m["activation"],
                                     layer_norm_eps=m["layer_norm_eps"], batch_first=m["batch_first"],
                                     norm_first=m["norm_first"])
    perturb_(mod)
    S, B, E = f["S"], f["B"], m["d_model"]
    inputs = OrderedDict()
    inputs["src"] = torch.randn((B, S, E) if m["batch_first"] else (S, B, E)).requires_grad_(True)
    inputs["src_key_padding_mask"] = key_padding_mask(B, S)
    if f["src_mask"] == "bool_causal":
        inputs["src_mask"] = torch.ones(S, S, dtype=torch.bool).triu(1)  # true above the diagonal = blocked
    mod.train()  # dropout is 0: train() only keeps torch 1.13 off its fused fast path
    out = mod(inputs["src"], src_mask=inputs.get("src_mask"), src_key_padding_mask=inputs["src_key_padding_mask"])
    return mod, inputs, OrderedDict([("output", out)])


def run_lstm(c):
    m, f = c["module"], c["forward"]
    mod = nn.LSTM(m["input_size"], m["hidden_size"], num_layers=m["num_layers"], bias=m["bias"],
                  batch_first=m["batch_first"], dropout=m["dropout"], bidirectional=m["bidirectional"])
    T, B, D = f["T"], f["B"], 2 if m["bidirectional"] else 1
    inputs = OrderedDict()
    x_shape = (B, T, m["input_size"]) if m["batch_first"] else (T, B, m["input_size"])
    inputs["x"] = torch.randn(x_shape).requires_grad_(True)
    inputs["lengths"] = torch.tensor(f["lengths"], dtype=torch.int64)
    state = (m["num_layers"] * D, B, m["hidden_size"])
    inputs["h0"] = (torch.randn(state) * 0.5).requires_grad_(True)
    inputs["c0"] = (torch.randn(state) * 0.5).requires_grad_(True)
    mod.train()
    packed = pack_padded_sequence(inputs["x"], inputs["lengths"], batch_first=m["batch_first"], enforce_sorted=False)
    out_packed, (h_n, c_n) = mod(packed, (inputs["h0"], inputs["c0"]))
    out, _ = pad_packed_sequence(out_packed, batch_first=m["batch_first"], total_length=T)
    return mod, inputs, OrderedDict([("output", out), ("h_n", h_n), ("c_n", c_n)])


RUNNERS = {"MultiheadAttention": run_mha, "TransformerEncoderLayer": run_encoder, "LSTM": run_lstm}


def compute(c):
    """Seeded build + forward + backward of L; returns the ordered tensors to store."""
    torch.manual_seed(c["seed"])
    mod, inputs, outs = RUNNERS[c["kind"]](c)
    loss_weights = OrderedDict((k, torch.randn(v.shape)) for k, v in outs.items())
    loss = sum((v * loss_weights[k]).sum() for k, v in outs.items())
    loss.backward()
    t = OrderedDict()
    for k, v in mod.state_dict().items():
        t["weights/" + k] = v
    for k, v in inputs.items():
        t["inputs/" + k] = v
        if v.is_floating_point() and v.grad is not None:
            t["grads/inputs/" + k] = v.grad
    for k, v in outs.items():
        t["outputs/" + k] = v
        t["loss_weights/" + k] = loss_weights[k]
    for k, p in mod.named_parameters():
        t["grads/params/" + k] = p.grad
    return OrderedDict((k, v.detach().contiguous().clone()) for k, v in t.items())


# ----------------------------------------------------------------------------------------------
# the safetensors format: tools/golden/st_format.py (shared by the golden scripts)


def encode(tensors, metadata):
    return st_format.encode(tensors, metadata)


def decode(blob):
    arrays, meta = st_format.decode(blob)
    return {k: torch.from_numpy(v) for k, v in arrays.items()}, meta


def versions():
    v = OrderedDict([("python", platform.python_version()), ("torch", torch.__version__)])
    return json.dumps(v)


def metadata(c):
    cfg = OrderedDict([("kind", c["kind"]), ("module", c["module"]), ("forward", c["forward"])])
    return {"config": json.dumps(cfg, sort_keys=True), "format": FORMAT_VERSION, "loss": LOSS,
            "mode": "train (dropout 0: torch 1.13's fast path is not taken)", "seed": str(c["seed"]),
            "versions": versions()}


# ----------------------------------------------------------------------------------------------

def fail(path, msg):
    raise SystemExit("VERIFY FAILED %s: %s" % (path, msg))


def verify(c, path):
    """The file decodes (by hand and, when installed, with the safetensors package), its config is
    the case's, and it holds exactly what a fresh seeded computation gives, bit for bit, all finite."""
    with open(path, "rb") as f:
        blob = f.read()
    stored, meta = decode(blob)
    try:
        import safetensors.torch
        ref = safetensors.torch.load(blob)
        if set(ref) != set(stored) or any(not torch.equal(ref[k], stored[k]) for k in ref):
            fail(path, "the safetensors package reads it differently")
    except ImportError:
        pass
    if json.loads(meta["config"])["module"] != c["module"]:
        fail(path, "config differs")
    fresh = compute(c)
    if list(sorted(fresh)) != list(sorted(stored)):
        fail(path, "key sets differ: %s" % sorted(set(fresh) ^ set(stored)))
    for k, v in fresh.items():
        if v.dtype != stored[k].dtype or not torch.equal(v, stored[k]):
            fail(path, "%s differs from a fresh computation" % k)
    if not all(torch.isfinite(v).all() for k, v in stored.items() if v.is_floating_point()):
        fail(path, "non-finite values")


def main():
    ap = argparse.ArgumentParser(description="Golden files for nn::MultiheadAttention, TransformerEncoderLayer, LSTM")
    ap.add_argument("--out", default=os.path.join("tests", "golden", "nn"))
    ap.add_argument("--check", action="store_true", help="re-verify the existing files only")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for c in CASES:
        path = os.path.join(args.out, c["name"] + ".safetensors")
        if not args.check:
            with open(path, "wb") as f:
                f.write(encode(compute(c), metadata(c)))
        verify(c, path)
        total += os.path.getsize(path)
        print("%-40s %6d bytes  ok" % (path, os.path.getsize(path)))
    print("total %d bytes" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
