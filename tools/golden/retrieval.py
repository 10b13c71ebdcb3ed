#!/usr/bin/env python3
# Golden files for the retrieval and zero-shot metrics of train/eval/ (tests/train/test_retrieval.cpp,
# tests/cli/test_eval_cli.sh). numpy only.
#
# The reference is written from SPEC §7 and the definitions in train/eval/retrieval.h, deliberately in
# a different form from the C++: the full similarity matrix, explicit Python loops, the image→text rank
# as the minimum over the image's captions of each caption's own rank, and the label-based ranking as
# a full sort of the gallery by (-score, index).
#
#   rank(t) = 1 + #{j : s_j > s_t} + #{j < t : s_j == s_t}   (ties broken by index: lower index first)
#
# Embeddings are quantised so that every dot product is exact in f32 and f64, whatever the summation
# order, and so that exact ties are common: rows are either 16 entries of ±1/4 or 4 entries of ±1/2
# and 12 zeros — both exactly unit L2 norm — and every product of two rows is a multiple of 1/16.
# Duplicate image rows and duplicate caption rows add ties on top.
#
# Writes tests/golden/retrieval/<case>.safetensors:
#   image_embeds [Ni,16] F32, text_embeds [Nt,16] F32, text_to_image [Nt] I64 (captions shuffled: not sorted)
#   labels [Ni] I64               identity of each image (the `mmalign eval` convention: a caption's
#                                 identity is its image's)
#   expected/i2t_ranks [Ni] I64   best rank among the image's captions, 0 for an image with none
#   expected/t2i_ranks [Nt] I64
#   pedes/query_labels [Nt] I64, pedes/gallery_labels [Ni] I64   a second label set in which some
#                                 query labels occur in no gallery item
#   metadata: "metrics" (multi-caption), "label_metrics" (labels as above: text queries, image
#   gallery), "pedes_metrics" (the pedes/ label set), "case", "format" — JSON, recalls as fractions.
# and zeroshot.safetensors:
#   prompt_embeds [6,4,16] F64 (random, one all-zero prompt), expected/class_embeds [6,16] F64;
#   image_embeds [30,16] F32, class_embeds [7,16] F32 (quantised, two identical classes), labels [30] I64,
#   expected/ranks [30] I64; metadata "accuracy" (top1, top5).
#
# Run from the repository root:
#   /usr/bin/python3 tools/golden/retrieval.py          # write the files, then re-verify them
#   /usr/bin/python3 tools/golden/retrieval.py --check  # regenerate in memory and compare byte for byte
import argparse
import json
import os
import struct
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "retrieval")
D = 16


# ---- safetensors files: tools/golden/st_format.py ------------------------------------------------
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_format import encode  # noqa: E402


# ---- quantised unit vectors -----------------------------------------------------------------------
def dense(rng):
    return rng.choice([-1.0, 1.0], D) / 4


def sparse(rng):
    v = np.zeros(D)
    v[rng.choice(D, 4, replace=False)] = rng.choice([-1.0, 1.0], 4) / 2
    return v


def flipped(v, rng, k):
    """v with the signs of k random coordinates flipped: still unit norm, still quantised."""
    w = v.copy()
    w[rng.choice(D, k, replace=False)] *= -1
    return w


# ---- the reference metrics ----------------------------------------------------------------------
def rank_of(scores, t):
    """1 + the candidates ahead of t: higher score, or equal score and lower index."""
    ahead = 0
    for j in range(len(scores)):
        if scores[j] > scores[t] or (scores[j] == scores[t] and j < t):
            ahead += 1
    return 1 + ahead


def rank_summary(ranks):
    n = len(ranks)
    return {"r1": sum(1 for r in ranks if r <= 1) / n, "r5": sum(1 for r in ranks if r <= 5) / n,
            "r10": sum(1 for r in ranks if r <= 10) / n, "mean": sum(ranks) / n, "median": float(np.median(ranks))}


def multi_caption(img, txt, t2i):
    S = img.astype(np.float64) @ txt.astype(np.float64).T  # [Ni, Nt], exact for these inputs
    ni, nt = S.shape
    t2i_ranks = [rank_of(S[:, t], t2i[t]) for t in range(nt)]
    i2t_ranks = []
    for i in range(ni):
        caps = [t for t in range(nt) if t2i[t] == i]
        i2t_ranks.append(min(rank_of(S[i, :], c) for c in caps) if caps else 0)
    a = rank_summary([r for r in i2t_ranks if r > 0])
    b = rank_summary(t2i_ranks)
    m = {"num_images": ni, "num_texts": nt, "images_without_captions": sum(1 for r in i2t_ranks if r == 0),
         "i2t_r1": a["r1"], "i2t_r5": a["r5"], "i2t_r10": a["r10"],
         "t2i_r1": b["r1"], "t2i_r5": b["r5"], "t2i_r10": b["r10"]}
    m["rsum"] = m["i2t_r1"] + m["i2t_r5"] + m["i2t_r10"] + m["t2i_r1"] + m["t2i_r5"] + m["t2i_r10"]
    m.update({"i2t_mean_rank": a["mean"], "i2t_median_rank": a["median"],
              "t2i_mean_rank": b["mean"], "t2i_median_rank": b["median"]})
    return m, np.array(i2t_ranks, np.int64), np.array(t2i_ranks, np.int64)


def label_based(query, gallery, qlabels, glabels):
    S = query.astype(np.float64) @ gallery.astype(np.float64).T
    nq, ng = S.shape
    firsts, aps = [], []
    for q in range(nq):
        order = sorted(range(ng), key=lambda j: (-S[q, j], j))
        positions = [p + 1 for p, j in enumerate(order) if glabels[j] == qlabels[q]]
        if not positions:
            continue  # no relevant gallery item: left out
        firsts.append(positions[0])
        total = 0.0
        for k, pos in enumerate(positions, start=1):
            total += k / pos
        aps.append(total / len(positions))
    n = len(firsts)
    map_sum = 0.0
    for ap in aps:
        map_sum += ap
    return {"num_queries": nq, "num_gallery": ng, "queries_without_relevant": nq - n,
            "r1": sum(1 for f in firsts if f <= 1) / n, "r5": sum(1 for f in firsts if f <= 5) / n,
            "r10": sum(1 for f in firsts if f <= 10) / n, "map": map_sum / n}


# ---- the cases ----------------------------------------------------------------------------------
def retrieval_case(name, img, txt, t2i, labels, qlabels, glabels):
    img, txt = img.astype(np.float32), txt.astype(np.float32)
    t2i = np.asarray(t2i, np.int64)
    labels, qlabels, glabels = (np.asarray(x, np.int64) for x in (labels, qlabels, glabels))
    metrics, i2t_ranks, t2i_ranks = multi_caption(img, txt, t2i)
    tensors = {"image_embeds": img, "text_embeds": txt, "text_to_image": t2i, "labels": labels,
               "expected/i2t_ranks": i2t_ranks, "expected/t2i_ranks": t2i_ranks,
               "pedes/query_labels": qlabels, "pedes/gallery_labels": glabels}
    meta = {"case": name, "format": "tools/golden/retrieval.py",
            "metrics": json.dumps(metrics, sort_keys=True),
            "label_metrics": json.dumps(label_based(txt, img, labels[t2i], labels), sort_keys=True),
            "pedes_metrics": json.dumps(label_based(txt, img, qlabels, glabels), sort_keys=True)}
    return name, encode(tensors, meta)


def captions_for(img, counts, rng):
    txt, t2i = [], []
    for i, c in enumerate(counts):
        for _ in range(c):
            txt.append(flipped(img[i], rng, int(rng.integers(0, 8))))
            t2i.append(i)
    return np.array(txt), np.array(t2i)


def shuffled(txt, t2i, rng):
    p = rng.permutation(len(t2i))
    return txt[p], t2i[p]


def main_case(rng):
    ni = 40
    img = np.array([sparse(rng) if i % 10 == 7 else dense(rng) for i in range(ni)])
    img[9] = img[2]  # duplicate image rows: tied image candidates
    img[30] = img[2]
    img[17] = img[5]
    counts = [5] * ni
    counts[11] = 3
    counts[23] = 1  # a caption whose image has no other caption
    txt, t2i = captions_for(img, counts, rng)
    for dst, src in ((4, 3), (20, 57), (21, 57), (100, 150), (190, 0)):  # duplicate caption rows
        txt[dst] = txt[src]
    txt, t2i = shuffled(txt, t2i, rng)
    assert not np.all(np.diff(t2i) >= 0)
    labels = rng.integers(0, 15, ni)
    qlabels = labels[t2i].copy()
    qlabels[rng.choice(len(t2i), 12, replace=False)] = 99  # no gallery item has identity 99
    qlabels[rng.choice(len(t2i), 20, replace=False)] = rng.integers(0, 15, 20)
    return retrieval_case("main", img, txt, t2i, labels, qlabels, labels)


def distractors_case(rng):
    ni = 12
    img = np.array([dense(rng) for _ in range(ni)])
    counts = [0 if i in (3, 8) else 2 for i in range(ni)]  # images 3 and 8: text→image candidates only
    txt, t2i = captions_for(img, counts, rng)
    txt, t2i = shuffled(txt, t2i, rng)
    labels = np.arange(ni) % 5
    return retrieval_case("distractors", img, txt, t2i, labels, labels[t2i], labels)


def all_tied_case(rng):
    v = dense(rng)
    img, txt = np.tile(v, (6, 1)), np.tile(v, (10, 1))  # every score equal: ranks are index order only
    t2i = np.array([5, 0, 3, 3, 1, 2, 4, 0, 5, 2])
    labels = np.array([0, 1, 0, 2, 1, 0])
    return retrieval_case("all_tied", img, txt, t2i, labels, labels[t2i], labels)


def one_image_case(rng):
    img = dense(rng)[None, :]
    txt = np.array([flipped(img[0], rng, k) for k in (3, 0, 5)])
    t2i = np.zeros(3, np.int64)
    labels = np.zeros(1, np.int64)
    return retrieval_case("one_image", img, txt, t2i, labels, labels[t2i], labels)


def zeroshot_case(rng):
    prompts = rng.standard_normal((6, 4, D))
    prompts[2, 1] = 0.0  # normalised as x / max(‖x‖, 1e-12): contributes zeros
    unit = prompts / np.maximum(np.linalg.norm(prompts, axis=2, keepdims=True), 1e-12)
    mean = unit.mean(axis=1)
    class_ref = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
    classes = np.array([dense(rng) for _ in range(7)])
    classes[5] = classes[1]  # two identical classes: exact ties
    labels = rng.integers(0, 7, 30)
    img = np.array([flipped(classes[y], rng, int(rng.integers(2, 8))) for y in labels])
    S = img @ classes.T
    ranks = np.array([rank_of(S[n], labels[n]) for n in range(len(labels))], np.int64)
    acc = {"num_images": len(labels), "num_classes": len(classes),
           "top1": sum(1 for r in ranks if r <= 1) / len(ranks), "top5": sum(1 for r in ranks if r <= 5) / len(ranks)}
    tensors = {"prompt_embeds": prompts, "expected/class_embeds": class_ref, "image_embeds": img.astype(np.float32),
               "class_embeds": classes.astype(np.float32), "labels": labels.astype(np.int64), "expected/ranks": ranks}
    meta = {"case": "zeroshot", "format": "tools/golden/retrieval.py", "accuracy": json.dumps(acc, sort_keys=True)}
    return "zeroshot", encode(tensors, meta)


def build():
    rng = np.random.default_rng(7)
    return dict(f(rng) for f in (main_case, distractors_case, all_tied_case, one_image_case, zeroshot_case))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="regenerate in memory and compare with the committed files")
    args = ap.parse_args()
    files = build()
    if not args.check:
        os.makedirs(OUT, exist_ok=True)
        for name, blob in files.items():
            with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
                f.write(blob)
    bad = 0
    for name, blob in files.items():
        path = os.path.join(OUT, name + ".safetensors")
        ok = os.path.exists(path) and open(path, "rb").read() == blob
        print(("ok  " if ok else "DIFF"), path, len(blob), "bytes")
        bad += not ok
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
