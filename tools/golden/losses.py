#!/usr/bin/env python3
# Golden files for the contrastive losses of nn/losses/ (tests/nn/test_losses*.cpp).
#
# Oracles:
#   * open_clip's own loss classes, where it has one: ClipLoss (CLIP InfoNCE, mean of the two
#     directions; x2 for reduction "sum"), SigLipLoss and DistillClipLoss, from open_clip_torch 2.24.0
#     (src/open_clip/loss.py, single process). Only that file is loaded (by path): it needs nothing
#     but torch, while the package's __init__ pulls in timm/ftfy, which want a newer torch.
#   * plain PyTorch for everything else, written here from the papers / seeds, deliberately in a
#     different form from the C++ (explicit loops over anchors and negatives for the triplet loss,
#     seed 004's code for CMPM / CMPC / the intra-class constraint, F.margin_ranking_loss, ...):
#     CLIP with label smoothing, triplet, contrastive pair, margin ranking, CMPM, CMPC, NT-Xent,
#     intra-class, and distillation with options open_clip does not have.
# Each file's metadata names its oracle.
#
# Writes tests/golden/losses/<case>.safetensors, float32 (int64 for labels):
#   inputs/<name>         the loss's arguments (features before normalisation when config
#                         "normalize" is true: the loss then sees F.normalize(x, dim=1)); logit
#                         scales are the learnable log-scale parameter, 0-d
#   outputs/<name>        what the loss returned ("loss", or "contrastive" and "distill")
#   loss_weights/<name>   R_k: the backward is of L = sum_k sum(outputs/k * R_k) (R = 1 for one 0-d output)
#   grads/<name>          dL/d(input) for every floating input
# and in the metadata "config" (JSON: loss, options), "oracle", "versions", "loss", "format".
#
# Run (from the repository root) with the venv of tools/golden/README.md plus open_clip:
#   /tmp/golden-venv/bin/pip install --no-deps 'open_clip_torch==2.24.0'
#   /tmp/golden-venv/bin/python tools/golden/losses.py               # writes every file, then re-verifies
#   /tmp/golden-venv/bin/python tools/golden/losses.py --check-only  # re-verifies the committed files
# Rerunning on the same versions reproduces the files byte for byte (one thread, fixed seeds, the
# safetensors header written by hand with sorted keys).

import argparse
import importlib.util
import importlib.metadata
import json
import math
import os
import platform
import struct
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

FORMAT_VERSION = "1"
LOSS = "L = sum_k sum(outputs/<k> * loss_weights/<k>) over every output k"
OPEN_CLIP_VERSION = "2.24.0"


def load_open_clip_loss():
    spec = importlib.util.find_spec("open_clip")
    if spec is None:
        raise SystemExit("open_clip is not installed: pip install --no-deps 'open_clip_torch==%s'" % OPEN_CLIP_VERSION)
    version = importlib.metadata.version("open_clip_torch")
    if version != OPEN_CLIP_VERSION:
        raise SystemExit("open_clip_torch %s found, the files were made with %s" % (version, OPEN_CLIP_VERSION))
    path = os.path.join(spec.submodule_search_locations[0], "loss.py")
    mod_spec = importlib.util.spec_from_file_location("open_clip_loss", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod


OC = load_open_clip_loss()


# ----------------------------------------------------------------------------------------------
# the oracles; each takes the case's inputs (tensors requiring grad) and options, returns outputs

def maybe_norm(c, x):
    return F.normalize(x, dim=1) if c.get("normalize") else x


def oracle_clip(c, t):
    i, tx = maybe_norm(c, t["image"]), maybe_norm(c, t["text"])
    if c["label_smoothing"] == 0:
        loss = OC.ClipLoss()(i, tx, t["logit_scale"].exp())  # open_clip takes the scale, not its log
        if c["reduction"] == "sum":
            loss = 2 * loss
        return OrderedDict(loss=loss)
    logits = t["logit_scale"].exp() * i @ tx.T
    labels = torch.arange(logits.shape[0])
    total = F.cross_entropy(logits, labels, label_smoothing=c["label_smoothing"]) + \
        F.cross_entropy(logits.T, labels, label_smoothing=c["label_smoothing"])
    return OrderedDict(loss=total / 2 if c["reduction"] == "mean_of_directions" else total)


def oracle_clip_logits(c, t):
    return OrderedDict(logits=t["logit_scale"].exp() * t["image"] @ t["text"].T + t["bias"])


def oracle_siglip(c, t):
    i, tx = maybe_norm(c, t["image"]), maybe_norm(c, t["text"])
    return OrderedDict(loss=OC.SigLipLoss()(i, tx, t["logit_scale"].exp(), t.get("logit_bias")))


def oracle_distill(c, t):
    n = lambda k: maybe_norm(c, t[k])
    if c["reduction"] == "mean_of_directions" and c["label_smoothing"] == 0:
        r = OC.DistillClipLoss()(n("image"), n("text"), t["logit_scale"].exp(), n("teacher_image"),
                                 n("teacher_text"), t["teacher_logit_scale"].exp(), output_dict=True)
        return OrderedDict(contrastive=r["contrastive_loss"], distill=r["distill_loss"])
    s = t["logit_scale"].exp() * n("image") @ n("text").T
    q = t["teacher_logit_scale"].exp() * n("teacher_image") @ n("teacher_text").T
    labels = torch.arange(s.shape[0])
    ce = F.cross_entropy(s, labels, label_smoothing=c["label_smoothing"]) + \
        F.cross_entropy(s.T, labels, label_smoothing=c["label_smoothing"])
    h = lambda qq, ss: -(qq.softmax(1) * ss.log_softmax(1)).sum(1).mean()
    return OrderedDict(contrastive=ce / 2 if c["reduction"] == "mean_of_directions" else ce,
                       distill=(h(q, s) + h(q.T, s.T)) / 2)


def triplet_sim(c, a, b):
    if c["similarity"] == "cosine":
        return F.cosine_similarity(a.unsqueeze(0), b.unsqueeze(0))[0]
    return -torch.norm(a - b)


def oracle_triplet(c, t):
    """Loops over anchors and negatives: an independent form of the vectorised C++."""
    img, txt, m = t["image"], t["text"], c["margin"]
    B = img.shape[0]
    per_anchor = [img.new_zeros(()) for _ in range(B)]
    dirs = {"both": [(img, txt), (txt, img)], "image_to_text": [(img, txt)], "text_to_image": [(txt, img)]}
    for anchors, cands in dirs[c["directions"]]:
        for i in range(B):
            pos = triplet_sim(c, anchors[i], cands[i])
            negs = [(j, triplet_sim(c, anchors[i], cands[j])) for j in range(B) if j != i]
            if not negs:
                continue
            hinge = lambda s_n: torch.clamp(m - pos + s_n, min=0)
            if c["negatives"] == "all":
                per_anchor[i] = per_anchor[i] + sum(hinge(s) for _, s in negs)
            elif c["negatives"] == "hardest":
                per_anchor[i] = per_anchor[i] + hinge(max(negs, key=lambda js: js[1].item())[1])
            else:  # semi-hard, TF Addons' rule: hardest negative less similar than the positive, else the easiest
                semi = [(j, s) for j, s in negs if s.item() < pos.item()]
                pick = max(semi, key=lambda js: js[1].item()) if semi else min(negs, key=lambda js: js[1].item())
                per_anchor[i] = per_anchor[i] + hinge(pick[1])
    total = torch.stack(per_anchor)
    return OrderedDict(loss=total.sum() if c["sum_over_anchors"] else total.mean())


def oracle_contrastive_pair(c, t):
    """Seed 000's ContrastiveLoss with Hadsell's 1/2 factors (SPEC 5.2), plain distances."""
    d = torch.norm(t["x1"] - t["x2"], dim=1)
    y = t["y"].to(d.dtype)
    per = (1 - y) * 0.5 * d.pow(2) + y * 0.5 * torch.clamp(c["margin"] - d, min=0).pow(2)
    return OrderedDict(loss={"mean": per.mean(), "sum": per.sum(), "none": per}[c["reduction"]])


def oracle_margin_ranking(c, t):
    return OrderedDict(loss=F.margin_ranking_loss(t["x1"], t["x2"], t["y"], margin=c["margin"], reduction=c["reduction"]))


def oracle_cmpm(c, t):
    """Seed 004's compute_cmpm_loss, with q = mask / rowsum(mask) (the paper and SPEC 5.2; the seed
    divides by the L2 row norm)."""
    img, txt, labels, eps = t["image"], t["text"], t["labels"], 1e-8
    mask = (labels.reshape(-1, 1) - labels.reshape(1, -1) == 0).float()
    q = mask / mask.sum(dim=1, keepdim=True)
    image_norm = img / img.norm(dim=1, keepdim=True)
    text_norm = txt / txt.norm(dim=1, keepdim=True)
    i2t = img @ text_norm.t()
    t2i = txt @ image_norm.t()
    i2t_loss = F.softmax(i2t, dim=1) * (F.log_softmax(i2t, dim=1) - torch.log(q + eps))
    t2i_loss = F.softmax(t2i, dim=1) * (F.log_softmax(t2i, dim=1) - torch.log(q + eps))
    return OrderedDict(loss=torch.mean(torch.sum(i2t_loss, dim=1)) + torch.mean(torch.sum(t2i_loss, dim=1)))


def oracle_cmpc(c, t):
    """Seed 004's compute_cmpc_loss."""
    img, txt, labels, W = t["image"], t["text"], t["labels"], t["W"]
    W_norm = W / W.norm(dim=0)
    image_norm = img / img.norm(dim=1, keepdim=True)
    text_norm = txt / txt.norm(dim=1, keepdim=True)
    image_proj_text = torch.sum(img * text_norm, dim=1, keepdim=True) * text_norm
    text_proj_image = torch.sum(txt * image_norm, dim=1, keepdim=True) * image_norm
    return OrderedDict(loss=F.cross_entropy(image_proj_text @ W_norm, labels) +
                       F.cross_entropy(text_proj_image @ W_norm, labels))


def oracle_ntxent(c, t):
    """SimCLR eq. 1, one row at a time: l(i, j) = -log(exp(s_ij) / sum_{k != i} exp(s_ik))."""
    z = F.normalize(torch.cat([t["z1"], t["z2"]]), dim=1)
    n, B = z.shape[0], t["z1"].shape[0]
    s = z @ z.T / c["temperature"]
    terms = []
    for i in range(n):
        others = torch.cat([s[i, :i], s[i, i + 1:]])
        terms.append(torch.logsumexp(others, 0) - s[i, (i + B) % n])
    return OrderedDict(loss=torch.stack(terms).mean())


def oracle_intra_class(c, t):
    """Seed 004's constraints_old (squared distances through its pairwise_distance)."""
    x, labels = t["x"], t["labels"]
    A2 = torch.sum(x * x, dim=1, keepdim=True)
    distance = A2 + A2.t() - 2 * x @ x.t()
    mask = (labels.reshape(-1, 1) - labels.reshape(1, -1) == 0).float()
    num = torch.sum(mask) - x.shape[0]
    return OrderedDict(loss=x.new_zeros(()) * x.sum() if num == 0 else torch.sum(distance * mask) / num)


ORACLES = {"clip": oracle_clip, "clip_logits": oracle_clip_logits, "siglip": oracle_siglip,
           "distillation": oracle_distill, "triplet": oracle_triplet, "contrastive_pair": oracle_contrastive_pair,
           "margin_ranking": oracle_margin_ranking, "cmpm": oracle_cmpm, "cmpc": oracle_cmpc,
           "ntxent": oracle_ntxent, "intra_class": oracle_intra_class}


def oracle_name(c):
    if c["loss"] == "clip" and c["label_smoothing"] == 0:
        return "open_clip %s ClipLoss" % OPEN_CLIP_VERSION + (" x 2" if c["reduction"] == "sum" else "")
    if c["loss"] == "siglip":
        return "open_clip %s SigLipLoss" % OPEN_CLIP_VERSION
    if c["loss"] == "distillation" and c["reduction"] == "mean_of_directions" and c["label_smoothing"] == 0:
        return "open_clip %s DistillClipLoss" % OPEN_CLIP_VERSION
    return "plain PyTorch (tools/golden/losses.py oracle_%s)" % c["loss"]


# ----------------------------------------------------------------------------------------------
# the cases

def case(name, loss, seed, **cfg):
    return OrderedDict(name=name, loss=loss, seed=seed, **cfg)


LN = math.log
CLIP = dict(reduction="mean_of_directions", label_smoothing=0.0, normalize=True)
CASES = [
    case("clip_default", "clip", 11, B=5, D=4, logit_scale=LN(1 / 0.07), **CLIP),
    case("clip_sum", "clip", 12, B=4, D=4, logit_scale=LN(1 / 0.07), **dict(CLIP, reduction="sum")),
    case("clip_smoothing", "clip", 13, B=5, D=4, logit_scale=1.5, **dict(CLIP, label_smoothing=0.1)),
    case("clip_sum_smoothing_unnormalized", "clip", 14, B=4, D=3, logit_scale=0.5,
         **dict(CLIP, reduction="sum", label_smoothing=0.2, normalize=False)),
    case("clip_batch1", "clip", 15, B=1, D=4, logit_scale=LN(1 / 0.07), **CLIP),
    case("clip_duplicate_captions", "clip", 16, B=5, D=4, logit_scale=LN(1 / 0.07), duplicate_text=[1, 3], **CLIP),
    case("clip_scale_100", "clip", 17, B=5, D=4, logit_scale=LN(100.0), **CLIP),
    case("clip_scale_1e4_unclamped", "clip", 18, B=5, D=4, logit_scale=LN(1e4), **CLIP),
    case("clip_scale_tiny", "clip", 19, B=5, D=4, logit_scale=-30.0, **CLIP),
    case("clip_logits_bias", "clip_logits", 20, Bi=3, Bt=4, D=4, logit_scale=0.7, bias=-1.5),
    case("siglip_init", "siglip", 21, B=5, D=4, logit_scale=LN(10.0), logit_bias=-10.0, normalize=True),
    case("siglip_moderate", "siglip", 22, B=4, D=4, logit_scale=1.0, logit_bias=-0.5, normalize=True),
    case("siglip_no_bias_unnormalized", "siglip", 23, B=4, D=3, logit_scale=0.3, logit_bias=None, normalize=False),
    case("siglip_scale_1e4_unclamped", "siglip", 24, B=4, D=4, logit_scale=LN(1e4), logit_bias=-10.0, normalize=True),
    case("siglip_batch1", "siglip", 25, B=1, D=4, logit_scale=LN(10.0), logit_bias=-10.0, normalize=True),
    case("siglip_duplicate_captions", "siglip", 26, B=4, D=4, logit_scale=LN(10.0), logit_bias=-10.0,
         duplicate_text=[0, 2], normalize=True),
    case("triplet_cosine_all_both", "triplet", 131, B=5, D=4, margin=0.2, similarity="cosine", negatives="all",
         directions="both", sum_over_anchors=False),
    case("triplet_cosine_hardest_both_sum", "triplet", 32, B=5, D=4, margin=0.2, similarity="cosine",
         negatives="hardest", directions="both", sum_over_anchors=True),
    case("triplet_cosine_semihard_both", "triplet", 33, B=6, D=4, margin=0.2, similarity="cosine",
         negatives="semi_hard", directions="both", sum_over_anchors=False),
    case("triplet_euclidean_all_i2t", "triplet", 34, B=5, D=4, margin=0.5, similarity="euclidean",
         negatives="all", directions="image_to_text", sum_over_anchors=False),
    case("triplet_euclidean_hardest_t2i", "triplet", 35, B=5, D=4, margin=0.5, similarity="euclidean",
         negatives="hardest", directions="text_to_image", sum_over_anchors=False),
    case("triplet_euclidean_semihard_both_sum", "triplet", 36, B=6, D=4, margin=0.5, similarity="euclidean",
         negatives="semi_hard", directions="both", sum_over_anchors=True),
    case("contrastive_pair_mean", "contrastive_pair", 41, N=6, D=4, margin=2.0, reduction="mean", y_float=False),
    case("contrastive_pair_sum", "contrastive_pair", 42, N=6, D=4, margin=1.0, reduction="sum", y_float=False),
    case("contrastive_pair_none_float_labels", "contrastive_pair", 43, N=5, D=3, margin=1.5, reduction="none",
         y_float=True),
    case("margin_ranking_mean", "margin_ranking", 51, shape1=[6], shape2=[6], shape_y=[6], margin=0.0,
         reduction="mean"),
    case("margin_ranking_sum", "margin_ranking", 52, shape1=[6], shape2=[6], shape_y=[6], margin=0.3,
         reduction="sum"),
    case("margin_ranking_broadcast_none", "margin_ranking", 53, shape1=[3, 1], shape2=[3, 2], shape_y=[1, 2],
         margin=0.2, reduction="none"),
    case("cmpm_repeats", "cmpm", 61, B=5, D=4, labels=[0, 1, 0, 2, 1]),
    case("cmpm_all_equal", "cmpm", 62, B=4, D=4, labels=[7, 7, 7, 7]),
    case("cmpm_batch1", "cmpm", 63, B=1, D=4, labels=[3]),
    case("cmpm_duplicate_captions", "cmpm", 64, B=4, D=4, labels=[0, 1, 2, 1], duplicate_text=[1, 3]),
    case("cmpc_repeats", "cmpc", 71, B=5, D=4, C=4, labels=[0, 3, 1, 0, 2]),
    case("cmpc_all_equal", "cmpc", 72, B=4, D=4, C=3, labels=[1, 1, 1, 1]),
    case("ntxent_t05", "ntxent", 81, B=4, D=4, temperature=0.5),
    case("ntxent_t005", "ntxent", 82, B=4, D=4, temperature=0.05),
    case("ntxent_batch1", "ntxent", 83, B=1, D=4, temperature=0.5),
    case("intra_class_repeats", "intra_class", 91, N=6, D=4, labels=[0, 1, 0, 2, 1, 0]),
    case("intra_class_all_equal", "intra_class", 92, N=4, D=4, labels=[5, 5, 5, 5]),
    case("intra_class_no_pairs", "intra_class", 93, N=3, D=4, labels=[0, 1, 2]),
    case("distillation_open_clip", "distillation", 101, B=5, D=4, Dt=6, logit_scale=LN(1 / 0.07),
         teacher_logit_scale=LN(50.0), **CLIP),
    case("distillation_sum_smoothing", "distillation", 102, B=4, D=4, Dt=3, logit_scale=1.5, teacher_logit_scale=2.0,
         **dict(CLIP, reduction="sum", label_smoothing=0.1)),
]

KINK_CLEARANCE = 2e-2


def clear_margin(kinks, start):
    """The smallest margin >= start (5e-3 grid) at least KINK_CLEARANCE from every kink, so float32
    rounding cannot switch a hinge on or off between PyTorch and the C++ side."""
    for step in range(2000):
        m = round(start + 5e-3 * step, 6)
        if all(abs(m - k) >= KINK_CLEARANCE for k in kinks):
            return m
    raise SystemExit("no clear margin")


def triplet_margin(c, img, txt):
    with torch.no_grad():
        B = img.shape[0]
        sim = [[triplet_sim(c, img[i], txt[j]).item() for j in range(B)] for i in range(B)]
    kinks = []
    for t2i in (False, True):
        at = (lambda i, j: sim[j][i]) if t2i else (lambda i, j: sim[i][j])
        for i in range(B):
            row = [at(i, j) for j in range(B)]
            kinks += [row[i] - row[j] for j in range(B) if j != i]
            gaps = [abs(a - b) for x, a in enumerate(row) for b in row[:x]]
            if gaps and min(gaps) < 1e-3:
                raise SystemExit("%s: near-tied similarities; pick another seed" % c["name"])
    return clear_margin(kinks, c["margin"])


def make_inputs(c):
    """Inputs (in a fixed order from the seeded generator) and the case's effective options."""
    torch.manual_seed(c["seed"])
    t, cfg, L = OrderedDict(), OrderedDict(c), c["loss"]
    scalar = lambda v: torch.tensor(float(v), dtype=torch.float32)
    if L in ("clip", "siglip", "distillation", "triplet", "cmpm", "cmpc"):
        t["image"], t["text"] = torch.randn(c["B"], c["D"]), torch.randn(c["B"], c["D"])
        if "duplicate_text" in c:  # identical captions in one batch
            a, b = c["duplicate_text"]
            t["text"][b] = t["text"][a]
    if L == "clip_logits":
        t["image"], t["text"] = torch.randn(c["Bi"], c["D"]), torch.randn(c["Bt"], c["D"])
        t["logit_scale"], t["bias"] = scalar(c["logit_scale"]), scalar(c["bias"])
    if L in ("clip", "siglip", "distillation"):
        t["logit_scale"] = scalar(c["logit_scale"])
    if L == "siglip" and c["logit_bias"] is not None:
        t["logit_bias"] = scalar(c["logit_bias"])
    if L == "distillation":
        t["teacher_image"], t["teacher_text"] = torch.randn(c["B"], c["Dt"]), torch.randn(c["B"], c["Dt"])
        t["teacher_logit_scale"] = scalar(c["teacher_logit_scale"])
    if L == "triplet":
        cfg["margin"] = triplet_margin(c, t["image"], t["text"])
    if L == "contrastive_pair":
        t["x1"], t["x2"] = torch.randn(c["N"], c["D"]), torch.randn(c["N"], c["D"])
        y = (torch.arange(c["N"]) % 2 == 1).to(torch.int64)
        t["y"] = y.float() if c["y_float"] else y
        cfg["margin"] = clear_margin(torch.norm(t["x1"] - t["x2"], dim=1).tolist(), c["margin"])
    if L == "margin_ranking":
        t["x1"], t["x2"] = torch.randn(c["shape1"]), torch.randn(c["shape2"])
        t["y"] = torch.where(torch.rand(c["shape_y"]) < 0.5, -1.0, 1.0)
        cfg["margin"] = clear_margin((t["y"] * (t["x1"] - t["x2"])).reshape(-1).tolist(), c["margin"])
    if L in ("cmpm", "cmpc", "intra_class"):
        t["labels"] = torch.tensor(c["labels"], dtype=torch.int64)
    if L == "cmpc":
        t["W"] = torch.randn(c["D"], c["C"])
    if L == "ntxent":
        t["z1"], t["z2"] = torch.randn(c["B"], c["D"]), torch.randn(c["B"], c["D"])
    if L == "intra_class":
        t["x"] = torch.randn(c["N"], c["D"])
    return t, cfg


NO_GRAD = {"y"}  # labels / pair flags / ranking signs: data, not parameters


def compute(c):
    """Seeded inputs, the oracle's forward and the backward of L; returns (tensors, effective config)."""
    inputs, cfg = make_inputs(c)
    for k, v in inputs.items():
        if v.is_floating_point() and k not in NO_GRAD:
            v.requires_grad_(True)
    outs = ORACLES[c["loss"]](cfg, inputs)
    torch.manual_seed(c["seed"] + 1000)
    single = len(outs) == 1 and next(iter(outs.values())).dim() == 0
    weights = OrderedDict((k, torch.ones(()) if single else torch.randn(v.shape)) for k, v in outs.items())
    sum((v * weights[k]).sum() for k, v in outs.items()).backward()
    t = OrderedDict()
    for k, v in inputs.items():
        t["inputs/" + k] = v
        if v.requires_grad:
            t["grads/" + k] = v.grad
    for k, v in outs.items():
        t["outputs/" + k] = v
        t["loss_weights/" + k] = weights[k]
    return OrderedDict((k, v.detach().contiguous().clone()) for k, v in t.items()), cfg


# ----------------------------------------------------------------------------------------------
# the safetensors format: tools/golden/st_format.py, through nn_modules' torch wrappers
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nn_modules import decode, encode  # noqa: E402


def versions():
    return json.dumps(OrderedDict([("python", platform.python_version()), ("torch", torch.__version__),
                                   ("open_clip_torch", OPEN_CLIP_VERSION)]))


def metadata(c, cfg):
    return {"config": json.dumps(cfg, sort_keys=True), "format": FORMAT_VERSION, "loss": LOSS,
            "oracle": oracle_name(c), "seed": str(c["seed"]), "versions": versions()}


def fail(path, msg):
    raise SystemExit("VERIFY FAILED %s: %s" % (path, msg))


def verify(c, path):
    """The file decodes (by hand and with the safetensors package), its config is the case's, and it
    holds exactly what a fresh seeded computation gives, bit for bit, all finite."""
    with open(path, "rb") as f:
        blob = f.read()
    stored, meta = decode(blob)
    import safetensors.torch
    ref = safetensors.torch.load(blob)
    if set(ref) != set(stored) or any(not torch.equal(ref[k], stored[k]) for k in ref):
        fail(path, "the safetensors package reads it differently")
    fresh, cfg = compute(c)
    if json.loads(meta["config"]) != json.loads(json.dumps(cfg)) or meta["oracle"] != oracle_name(c):
        fail(path, "config or oracle differs")
    if sorted(fresh) != sorted(stored):
        fail(path, "key sets differ: %s" % sorted(set(fresh) ^ set(stored)))
    for k, v in fresh.items():
        if v.dtype != stored[k].dtype or not torch.equal(v, stored[k]):
            fail(path, "%s differs from a fresh computation" % k)
    if not all(torch.isfinite(v).all() for v in stored.values() if v.is_floating_point()):
        fail(path, "non-finite values")


def main():
    ap = argparse.ArgumentParser(description="Golden files for the contrastive losses (nn/losses)")
    ap.add_argument("--out", default=os.path.join("tests", "golden", "losses"))
    ap.add_argument("--check-only", action="store_true", help="re-verify the existing files only")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    names = [c["name"] for c in CASES]
    if len(set(names)) != len(names):
        raise SystemExit("duplicate case names")
    total = 0
    for c in CASES:
        path = os.path.join(args.out, c["name"] + ".safetensors")
        if not args.check_only:
            tensors, cfg = compute(c)
            with open(path, "wb") as f:
                f.write(encode(tensors, metadata(c, cfg)))
        verify(c, path)
        total += os.path.getsize(path)
        print("%-60s %6d bytes  ok  (%s)" % (path, os.path.getsize(path), oracle_name(c)))
    print("total %d bytes in %d files" % (total, len(CASES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
