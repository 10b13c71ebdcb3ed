"""The safetensors files the golden scripts write, by hand and byte-for-byte reproducible (numpy only).

Layout: 8-byte little-endian header length, a compact JSON header with sorted keys padded with spaces
to a multiple of 8, then the raw little-endian bytes of every tensor — tensors ordered by element size
(largest first, so every data offset of an 8-byte dtype is 8-aligned), then by name.

encode() takes numpy arrays or anything with .numpy() (torch tensors); decode() returns numpy arrays.
"""
import json
import struct

import numpy as np

DTYPES = {np.dtype(np.float64): "F64", np.dtype(np.float32): "F32", np.dtype(np.int64): "I64",
          np.dtype(np.uint8): "U8", np.dtype(np.bool_): "BOOL"}
NUMPY = {name: dt for dt, name in DTYPES.items()}


def as_numpy(v):
    return v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)


def encode(tensors, metadata):
    arrays = {}
    for k, v in tensors.items():
        a = as_numpy(v)
        arrays[k] = np.ascontiguousarray(a).reshape(a.shape)  # ascontiguousarray makes 0-d arrays 1-d
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for k in order:
        a = arrays[k]
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[k] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def decode(blob):
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__")
    data, out = blob[8 + n:], {}
    for k, e in header.items():
        b, end = e["data_offsets"]
        out[k] = np.frombuffer(data[b:end], dtype=NUMPY[e["dtype"]]).reshape(e["shape"]).copy()
    return out, meta
