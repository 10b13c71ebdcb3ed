#!/usr/bin/python3
# Golden files for the image decoder and transforms (data/image/, tests/data/test_image_*.cpp).
#
# Writes into tests/golden/images/:
#   small test images in every form the decoder must read (PNG grey / grey+alpha / RGB / RGBA /
#   palette / 16-bit RGB / 16-bit grey; JPEG baseline 4:2:0, 4:4:4, progressive, grey; BMP 24-bit and
#   8-bit grey), damaged ones (a truncated JPEG and PNG), a text file, and bench_500x375.jpg (the
#   benchmark's input, bench/bench_image.cpp);
#   decoded.safetensors    decoded/<file>: what PIL's Image.open(f).convert("RGB") gives, U8 [H, W, 3];
#                          expected/<file>: where mmalign deliberately differs (16-bit grey: high byte)
#   transforms.safetensors torchvision 0.14 on PIL images, applied to `src` (U8 [47, 61, 3]) or, for
#                          the colour ops, to `colors` (U8 [40, 40, 3], uniform random colours):
#       resize/<interp>/<h>x<w>                     TF.resize(img, [h, w], interp)
#       resized_crop/<interp>/<top>_<left>_<h>_<w>/<H>x<W>   TF.resized_crop(img, top, left, h, w, [H, W])
#       shorter/<interp>/<size>                     TF.resize(img, size)  (shorter side)
#       shorter_t/<interp>/<size>                   the same on the transposed (portrait) src: key `src_t`
#       center_crop/<h>x<w>                         TF.center_crop(img, [h, w])  (padded when larger)
#       hflip                                       TF.hflip(img)
#       normalize                                   Normalize(ImageNet)(ToTensor(img)), F32 [3, H, W]
#       eval/<resize>/<size>                        Normalize(ToTensor(CenterCrop(size)(Resize(resize)(img))))
#       brightness|contrast|saturation|hue/<factor> TF.adjust_*(colors, factor)
#   uint8 results are U8 [H, W, 3] (HWC, as PIL's np.array), tensors F32 [3, H, W].
#
# Run from the repository root with Debian's Python (python3-pil 9.4, python3-torchvision 0.14.1):
#   /usr/bin/python3 tools/golden/images.py            # writes every file, then re-verifies them
#   /usr/bin/python3 tools/golden/images.py --check    # re-verifies the committed files only
# Deterministic (fixed numpy seeds; Pillow's encoders are deterministic), so a rerun on the same
# versions reproduces the files byte for byte.

import argparse
import io
import json
import os
import platform
import struct
import sys
import zlib

import numpy as np
import PIL
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(REPO, "tests", "golden", "images")
BILINEAR, BICUBIC = T.InterpolationMode.BILINEAR, T.InterpolationMode.BICUBIC
INTERP = {"bilinear": BILINEAR, "bicubic": BICUBIC}
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


# ---- safetensors files: tools/golden/st_format.py ------------------------------------------------
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_format import decode, encode  # noqa: E402


# ---- inputs --------------------------------------------------------------------------------------

def photo(h, w, seed, noise=6.0, texture=0.0):
    """A photo-like RGB image: smooth gradients, a few soft blobs and edges, noise; `texture` adds
    fine detail (foliage-like high frequencies) so a JPEG of it costs what a photo costs to decode."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        img[..., c] = 90 + 60 * np.sin(x / w * (2 + c) * np.pi + c) * np.cos(y / h * (1.5 + c) * np.pi)
    for _ in range(6):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.05, 0.25) * min(h, w)
        colour = rng.uniform(-80, 120, size=3)
        img += colour * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))[..., None]
    img[(x + 0.6 * y) % (w / 3) < 2] *= 0.5  # a few sharp diagonal edges
    if texture:
        fine = rng.normal(0, 1, size=(h // 4 + 2, w // 4 + 2, 3)).repeat(4, 0).repeat(4, 1)[:h, :w]
        img += texture * fine * (0.5 + 0.5 * np.sin(x / 17.0 + y / 23.0))[..., None]
    img += rng.normal(0, noise, size=img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def png_raw(arr, colour_type, bit_depth):
    """PNG writer for what PIL cannot write (16-bit RGB): filter 0 on every row, one IDAT."""
    h, w = arr.shape[:2]
    data = arr.astype(">u2").tobytes() if bit_depth == 16 else arr.astype(np.uint8).tobytes()
    row = len(data) // h
    raw = b"".join(b"\x00" + data[i * row:(i + 1) * row] for i in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, colour_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def save(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def make_files():
    """name -> bytes of every test image."""
    rgb = photo(29, 37, 1)
    alpha = np.random.RandomState(2).randint(0, 256, size=rgb.shape[:2]).astype(np.uint8)
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    rng = np.random.RandomState(3)
    rgb16 = rgb.astype(np.uint16) * 257 + rng.randint(0, 257, size=rgb.shape).astype(np.uint16)
    grey16 = grey.astype(np.uint16) * 257 + rng.randint(0, 257, size=grey.shape).astype(np.uint16)
    pal = Image.fromarray(rgb).quantize(colors=40, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    files = {
        "rgb.png": save(Image.fromarray(rgb), "PNG"),
        "grey.png": save(Image.fromarray(grey, "L"), "PNG"),
        "grey_alpha.png": save(Image.fromarray(np.dstack([grey, alpha]), "LA"), "PNG"),
        "rgba.png": save(Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), "PNG"),
        "palette.png": save(pal, "PNG"),
        "palette_trns.png": save(pal, "PNG", transparency=3),
        "rgb16.png": png_raw(rgb16, 2, 16),
        "grey16.png": png_raw(grey16, 0, 16),
        "baseline.jpg": save(Image.fromarray(rgb), "JPEG", quality=90),
        "baseline444.jpg": save(Image.fromarray(rgb), "JPEG", quality=90, subsampling=0),
        "progressive.jpg": save(Image.fromarray(rgb), "JPEG", quality=90, progressive=True),
        "grey.jpg": save(Image.fromarray(grey, "L"), "JPEG", quality=90),
        "rgb.bmp": save(Image.fromarray(rgb), "BMP"),
        "grey.bmp": save(Image.fromarray(grey, "L"), "BMP"),
        "not_an_image.txt": b"filename,caption\nimg1.jpg,a cat on a mat\n",
        "bench_500x375.jpg": save(Image.fromarray(photo(375, 500, 7, noise=5.0, texture=25.0)), "JPEG", quality=85),
    }
    files["truncated.jpg"] = files["baseline.jpg"][: len(files["baseline.jpg"]) // 2]
    files["truncated.png"] = files["rgb.png"][: len(files["rgb.png"]) // 2]
    return files, grey16


def decoded_arrays(files, grey16):
    arrays = {}
    for name, blob in sorted(files.items()):
        if name.startswith(("truncated", "not_an", "bench")):
            continue
        arrays["decoded/" + name] = np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))
    # PIL opens 16-bit grey as mode "I" and convert("RGB") clamps to 255; mmalign keeps the high byte.
    hb = (grey16 >> 8).astype(np.uint8)
    arrays["expected/grey16.png"] = np.dstack([hb, hb, hb])
    return arrays


def tensor_chw(t):
    return t.numpy().astype(np.float32)


def transform_arrays():
    src = photo(47, 61, 11)
    img = Image.fromarray(src)
    img_t = Image.fromarray(np.ascontiguousarray(src.transpose(1, 0, 2)))
    colors = np.random.RandomState(12).randint(0, 256, size=(40, 40, 3)).astype(np.uint8)
    cimg = Image.fromarray(colors)
    a = {"src": src, "src_t": np.asarray(img_t), "colors": colors}
    for name, mode in INTERP.items():
        for h, w in [(17, 23), (29, 13), (80, 71), (47, 61), (5, 3), (1, 1), (61, 47)]:
            a[f"resize/{name}/{h}x{w}"] = np.asarray(TF.resize(img, [h, w], mode))
        for top, left, h, w, H, W in [(5, 7, 30, 21, 24, 24), (0, 0, 47, 61, 16, 16), (10, 20, 9, 13, 32, 40),
                                      (3, 1, 40, 55, 40, 55)]:
            a[f"resized_crop/{name}/{top}_{left}_{h}_{w}/{H}x{W}"] = np.asarray(
                TF.resized_crop(img, top, left, h, w, [H, W], mode))
        for s in (20, 33, 60):
            a[f"shorter/{name}/{s}"] = np.asarray(TF.resize(img, s, mode))
            a[f"shorter_t/{name}/{s}"] = np.asarray(TF.resize(img_t, s, mode))
    for h, w in [(20, 31), (46, 60), (47, 61), (50, 70), (52, 40), (1, 2)]:
        a[f"center_crop/{h}x{w}"] = np.asarray(TF.center_crop(img, [h, w]))
    a["hflip"] = np.asarray(TF.hflip(img))
    norm = T.Normalize(MEAN, STD)
    a["normalize"] = tensor_chw(norm(TF.to_tensor(img)))
    for r, s in [(40, 32), (47, 47), (30, 32), (53, 24)]:
        a[f"eval/{r}/{s}"] = tensor_chw(norm(TF.to_tensor(TF.center_crop(TF.resize(img, r), s))))
    for f in (0.0, 0.6, 1.0, 1.4, 2.5):
        a[f"brightness/{f}"] = np.asarray(TF.adjust_brightness(cimg, f))
        a[f"contrast/{f}"] = np.asarray(TF.adjust_contrast(cimg, f))
        a[f"saturation/{f}"] = np.asarray(TF.adjust_saturation(cimg, f))
    for f in (-0.5, -0.3, -0.01, 0.0, 0.12, 0.25, 0.5):
        a[f"hue/{f}"] = np.asarray(TF.adjust_hue(cimg, f))
    return a


def versions():
    return json.dumps({"python": platform.python_version(), "pillow": PIL.__version__,
                       "torchvision": torchvision.__version__, "torch": torch.__version__,
                       "numpy": np.__version__})


def build():
    files, grey16 = make_files()
    meta = {"versions": versions(), "format": "1"}
    files["decoded.safetensors"] = encode(decoded_arrays(files, grey16), dict(meta, pil_call="Image.open(f).convert('RGB')"))
    files["transforms.safetensors"] = encode(transform_arrays(), dict(meta, mean=json.dumps(MEAN), std=json.dumps(STD)))
    return files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="re-verify the committed files, write nothing")
    args = ap.parse_args()
    files = build()
    if not args.check:
        os.makedirs(OUT, exist_ok=True)
        for name, blob in files.items():
            with open(os.path.join(OUT, name), "wb") as f:
                f.write(blob)
    total = 0
    for name, blob in sorted(files.items()):
        with open(os.path.join(OUT, name), "rb") as f:
            disk = f.read()
        if disk != blob:
            raise SystemExit(f"VERIFY FAILED {name}: the file on disk differs from a fresh build")
        total += len(disk)
    arrays, _ = decode(files["transforms.safetensors"])
    print(f"{len(files)} files, {total / 1024:.0f} KiB, {len(arrays)} transform references: verified")


if __name__ == "__main__":
    sys.exit(main())
