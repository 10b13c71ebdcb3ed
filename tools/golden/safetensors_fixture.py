#!/usr/bin/env python3
"""Writes the safetensors interoperability fixtures read by tests/runtime/test_safetensors.cpp.

The files in tests/golden/safetensors/ are written by the official `safetensors` package (through its
torch and numpy front ends), and expected.json records what each holds — dtype, shape, the raw
little-endian bytes as hex and the values — computed here from the source arrays, not by reading the
files back. The C++ test loads every file and compares exactly, and checks that mmalign's writer
reproduces all_dtypes.safetensors byte for byte. The output is deterministic: rerunning rewrites the
same bytes.

How to run (from the repository root; torch comes from the system Python — Debian's python3-torch,
1.13.1 — because numpy lacks bfloat16):
    /usr/bin/python3 -m venv --system-site-packages /tmp/st-venv
    /tmp/st-venv/bin/pip install 'safetensors==0.8.0' numpy
    /tmp/st-venv/bin/python tools/golden/safetensors_fixture.py
The committed files were made with safetensors 0.8.0 (recorded in expected.json), torch 1.13.1 and
numpy 1.24.2.
"""
import json
import math
import os

import numpy as np
import safetensors
import safetensors.numpy
import safetensors.torch
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "safetensors")

DTYPE_NAMES = {
    torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL",
    np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("float16"): "F16",
    np.dtype("int64"): "I64", np.dtype("int32"): "I32", np.dtype("uint8"): "U8", np.dtype("bool"): "BOOL",
}


def json_number(v):
    """A value as JSON: non-finite floats as strings (JSON has no NaN/Inf); -0.0 stays -0.0."""
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def describe_torch(t):
    # Raw bytes through an integer view, so bfloat16 (which numpy cannot hold) works too.
    raw = t.contiguous().view(torch.uint8) if t.dim() > 0 else t.reshape(1).view(torch.uint8)
    values = t.reshape(-1).tolist() if t.dtype in (torch.int64, torch.int32, torch.uint8, torch.bool) \
        else t.reshape(-1).double().tolist()
    return {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
            "hex": bytes(raw.numpy().tobytes()).hex(),
            "values": [json_number(int(v) if isinstance(v, bool) else v) for v in values]}


def describe_numpy(a):
    values = a.reshape(-1).tolist()
    if a.dtype.kind == "f":
        values = [float(v) for v in values]
    little_endian = a.astype(a.dtype.newbyteorder("<"))
    return {"dtype": DTYPE_NAMES[a.dtype], "shape": list(a.shape), "hex": little_endian.tobytes().hex(),
            "values": [json_number(int(v) if isinstance(v, bool) else v) for v in values]}


def all_dtypes():
    """Every dtype mmalign supports, with edge values; no metadata (compared byte for byte)."""
    inf, nan = float("inf"), float("nan")
    return {
        "f32": torch.tensor([[1.5, -0.0, inf], [-inf, nan, 1e-45]], dtype=torch.float32),
        "f64": torch.tensor([math.pi, -0.0, 5e-324, 1.7976931348623157e308], dtype=torch.float64),
        "f16": torch.tensor([[1.0, -2.5], [65504.0, 5.960464477539063e-08]], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -3.140625, 3.3895313892515355e38], dtype=torch.bfloat16),
        "i64": torch.tensor([-(2 ** 63), 2 ** 63 - 1, 0], dtype=torch.int64),
        "i32": torch.tensor([[-(2 ** 31), 2 ** 31 - 1], [-1, 7]], dtype=torch.int32),
        "u8": torch.tensor([0, 1, 128, 255], dtype=torch.uint8),
        "bool": torch.tensor([[True, False], [False, True]], dtype=torch.bool),
        "a_scalar_i32": torch.tensor(42, dtype=torch.int32),
    }


def scalar_empty_meta():
    """A 0-d tensor, empty tensors and metadata, through the numpy front end."""
    return {
        "scalar": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "empty_i64": np.zeros((4, 0), dtype=np.int64),
        "row": np.array([0.5, -1.0, 2.0], dtype=np.float16),
    }


def save_with_sorted_metadata(arrays, metadata):
    """The numpy front end's bytes, with the metadata keys in sorted order.

    The package keeps metadata in a Rust HashMap, seeded afresh for each map, so the keys come out
    in a random order; serializing until they come out sorted keeps reruns byte-identical."""
    keys = sorted(metadata)
    for _ in range(1000):
        data = safetensors.numpy.save(arrays, metadata=metadata)
        header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
        if list(header["__metadata__"]) == keys:
            return data
    raise RuntimeError("the metadata never came out in sorted order")


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {"safetensors_version": safetensors.__version__}

    tensors = all_dtypes()
    safetensors.torch.save_file(tensors, os.path.join(OUT, "all_dtypes.safetensors"))
    expected["all_dtypes.safetensors"] = {
        "metadata": {}, "tensors": {name: describe_torch(t) for name, t in tensors.items()}}

    arrays = scalar_empty_meta()
    metadata = {"format": "np", "note": "ünïcode ✓ \"quoted\"\nline two"}
    with open(os.path.join(OUT, "scalar_empty_meta.safetensors"), "wb") as f:
        f.write(save_with_sorted_metadata(arrays, metadata))
    expected["scalar_empty_meta.safetensors"] = {
        "metadata": metadata, "tensors": {name: describe_numpy(a) for name, a in arrays.items()}}

    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")
    for name in os.listdir(OUT):  # the package writes 0600 files; fixtures are ordinary files
        os.chmod(os.path.join(OUT, name), 0o644)


if __name__ == "__main__":
    main()
