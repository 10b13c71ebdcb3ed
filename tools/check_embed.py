#!/usr/bin/env python3
"""Checks `mmalign embed` against PyTorch on full-size towers saved by PyTorch as safetensors
(docs/WEIGHTS.md walks through the same steps by hand).

For torchvision ResNet-50 and Hugging Face BERT-base (random weights: nothing is downloaded):
  1. build the model in PyTorch, eval mode, and save its state_dict with safetensors.torch.save_file;
  2. save inputs (pixel_values; input_ids + attention_mask with padding) the same way;
  3. run `mmalign embed --config C --weights W --weights-format torchvision|hf --inputs I --out O --raw`;
  4. compare mmalign's image_embeds / text_embeds with the PyTorch features (ResNet: the pooled
     2048-d features, i.e. the model with fc = Identity; BERT: pooler_output) and print
     max |diff| / max |ref| per tower. Exit status 1 when one exceeds 1e-4 (SPEC §9).

Needs torch, torchvision, transformers and safetensors (tools/golden/README.md, "Setup"):
  /tmp/golden-venv/bin/python tools/check_embed.py --mmalign build/mmalign [--workdir DIR]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import torch
import torchvision
import transformers
from safetensors.torch import load_file, save_file

TOL = 1e-4


def rel_err(a, b):
    return float((a - b).abs().max() / b.abs().max())


def run_embed(mmalign, workdir, name, config, weights_format, inputs, state):
    cfg, w, i, o = (os.path.join(workdir, f"{name}.{ext}") for ext in ("pbtxt", "weights.safetensors",
                                                                       "inputs.safetensors", "out.safetensors"))
    with open(cfg, "w") as f:
        f.write(config)
    save_file({k: v.contiguous() for k, v in state.items()}, w)
    save_file(inputs, i)
    cmd = [mmalign, "embed", "--config", cfg, "--weights", w, "--weights-format", weights_format, "--inputs", i,
           "--out", o, "--raw"]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return load_file(o)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mmalign", default="build/mmalign")
    ap.add_argument("--workdir", default=None, help="where the files go (default: a temporary directory)")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="mmalign-embed-check-")
    os.makedirs(workdir, exist_ok=True)
    torch.manual_seed(0)
    results = {}

    resnet = torchvision.models.resnet50().eval()  # random init; pass weights=... for pretrained ones
    pixels = torch.randn(4, 3, 224, 224)
    with torch.no_grad():
        ref = torch.flatten(torch.nn.Sequential(*list(resnet.children())[:-1])(pixels), 1)
    out = run_embed(args.mmalign, workdir, "resnet50",
                    'model { image { resnet { preset: "resnet50" } image_size: 224 } }\n', "torchvision",
                    {"pixel_values": pixels}, resnet.state_dict())
    results["torchvision resnet50 image_embeds [4, 2048]"] = rel_err(out["image_embeds"], ref)

    bert = transformers.BertModel(transformers.BertConfig()).eval()  # bert-base-uncased's shape
    ids = torch.randint(1, 30522, (4, 16))
    mask = torch.ones(4, 16, dtype=torch.long)
    mask[1, 10:] = 0
    mask[3, 5:] = 0
    ids[mask == 0] = 0
    with torch.no_grad():
        ref = bert(input_ids=ids, attention_mask=mask).pooler_output
    out = run_embed(args.mmalign, workdir, "bert_base", 'model { text { bert { preset: "base" } max_length: 16 } }\n',
                    "hf", {"input_ids": ids, "attention_mask": mask}, bert.state_dict())
    results["hf bert-base text_embeds (pooler) [4, 768]"] = rel_err(out["text_embeds"], ref)

    ok = True
    for k, v in results.items():
        print(f"{k}: max|diff|/max|ref| = {v:.2e} ({'ok' if v <= TOL else 'FAIL'}, tolerance {TOL:g})")
        ok = ok and v <= TOL
    print(f"versions: torch {torch.__version__}, torchvision {torchvision.__version__}, "
          f"transformers {transformers.__version__}; files in {workdir}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
