#!/usr/bin/env python3
# Golden files for the image/text towers (ResNet, ViT, BERT, RoBERTa, LSTM text encoder).
#
# Writes tests/golden/towers/*.safetensors: small, seeded, random-weight models run by PyTorch, with
# their weights (exact torchvision / Hugging Face state_dict names), inputs, outputs, the gradients of
# a fixed scalar loss and a JSON architecture description. The C++ tests load these files and must
# reproduce the outputs (rel. err 1e-4, f32) and gradients (1e-3). See tools/golden/README.md.
#
# Setup (Debian bookworm, as root; torch 1.13.1 comes from Debian's python3-torch):
#   apt-get update
#   apt-get install -y python3-torch python3-torchvision
#   /usr/bin/python3 -m venv --system-site-packages /tmp/golden-venv
#   /tmp/golden-venv/bin/pip install 'transformers==4.39.3' 'safetensors==0.8.0' numpy
#     (the versions the committed files were made with; numpy comes from Debian, 1.24.2)
#
# Run (from the repository root; a few seconds, one thread):
#   /tmp/golden-venv/bin/python tools/golden/towers.py              # write + re-verify every file
#   /tmp/golden-venv/bin/python tools/golden/towers.py --check-only # re-verify the existing files only
#   options: --out DIR (default tests/golden/towers), --only NAME[,NAME...] (file stems)
#
# Every file is written with safetensors.torch.save (JSON header re-serialised with sorted keys),
# then reloaded: the weights are loaded (strict) into a fresh model built only from the file's
# metadata "config", the stored inputs and loss weights are run through it, and every stored
# output / running stat / gradient must reproduce bit-for-bit (torch.equal). Any key-set, shape,
# dtype or config mismatch fails the run (exit 1). Rerunning the script reproduces byte-identical
# files on the same library versions.

import argparse
import json
import os
import platform
import struct
import subprocess
import sys
from collections import OrderedDict

import numpy
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import safetensors
import safetensors.torch
from safetensors import safe_open

import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
from torchvision.models.vision_transformer import VisionTransformer

import transformers
from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel

FORMAT_VERSION = "1"
BATCH = 2
RESNET_IMAGE = 64  # see README: at 32x32 ResNet's layer4 is 1x1 and train-mode BN degenerates
LOSS_TEXT = ("L = sum_k sum(outputs/<k> * loss_weights/<k>) over every output k that has a "
             "loss_weights/<k> entry (outputs/running/* are not in the loss)")


# ----------------------------------------------------------------------------------------------
# helpers

def versions():
    v = OrderedDict()
    v["python"] = platform.python_version()
    v["torch"] = torch.__version__
    try:
        deb = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"],
                             capture_output=True, text=True, check=False).stdout.strip()
        if deb:
            v["torch_debian_package"] = deb
    except OSError:
        pass
    v["torchvision"] = torchvision.__version__
    v["transformers"] = transformers.__version__
    v["safetensors"] = safetensors.__version__
    v["numpy"] = numpy.__version__
    return v


def perturb_norms_and_biases_(model):
    """Default inits leave norm weights at 1, biases/running stats at 0/1; re-draw them so the
    golden data distinguishes weight from bias, eval from train statistics, etc. Uses the global
    (seeded) RNG."""
    norm_params = set()
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.LayerNorm, nn.BatchNorm2d)):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0.0, 0.1)
                norm_params.add(id(mod.weight))
                norm_params.add(id(mod.bias))
                if isinstance(mod, nn.BatchNorm2d):
                    mod.running_mean.normal_(0.0, 0.1)
                    mod.running_var.uniform_(0.5, 1.5)
        for name, p in model.named_parameters():
            if id(p) not in norm_params and name.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.1)


# ----------------------------------------------------------------------------------------------
# ResNet: torchvision's ResNet with the stage widths overridden

class NarrowResNet(ResNet):
    """torchvision.models.resnet.ResNet with stage widths `widths` instead of (64, 128, 256, 512).

    torchvision hard-codes the widths inside ResNet.__init__: the stem (conv1/bn1) has 64 channels
    and the four stages call self._make_layer(block, 64|128|256|512, ...), fc is Linear(512*expansion).
    The override is minimal and keeps every module/parameter name torchvision's:
      * _make_layer maps its `planes` argument 64/128/256/512 -> widths[0..3], and before the first
        stage sets self.inplanes (the stem width) to widths[0] (torchvision: stem width == stage-1
        width == 64);
      * after ResNet.__init__, conv1 / bn1 / fc are replaced by modules of the same class and
        hyper-parameters with the narrow channel counts (same attribute names, same state_dict
        order), and torchvision's init (kaiming_normal_ fan_out for conv, BN 1/0) is re-applied.
    Everything else (BasicBlock / Bottleneck v1.5 with the stride on the 3x3, downsample =
    conv1x1(stride)+BN, maxpool, avgpool) is torchvision's own code.
    """

    TORCHVISION_WIDTHS = (64, 128, 256, 512)

    def __init__(self, block, layers, widths, num_classes):
        self._width_map = dict(zip(self.TORCHVISION_WIDTHS, widths))
        self._stem_width = widths[0]
        self._stem_pending = True
        super().__init__(block, layers, num_classes=num_classes)
        self.conv1 = nn.Conv2d(3, self._stem_width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(self._stem_width)
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)
        nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
        nn.init.constant_(self.bn1.weight, 1)
        nn.init.constant_(self.bn1.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        if self._stem_pending:
            self.inplanes = self._stem_width
            self._stem_pending = False
        return super()._make_layer(block, self._width_map[planes], blocks, stride=stride, dilate=dilate)


def resnet_config(block_name, layers):
    block = {"BasicBlock": BasicBlock, "Bottleneck": Bottleneck}[block_name]
    widths = [8, 16, 32, 64]
    exp = block.expansion
    # spatial sizes: stem /2, maxpool /2, stages 1,2,2,2
    s = RESNET_IMAGE // 4
    stage_hw = []
    for st in (1, 2, 2, 2):
        s = (s + st - 1) // st
        stage_hw.append(s)
    return OrderedDict([
        ("family", "resnet"),
        ("builder", "torchvision.models.resnet.ResNet with widths overridden (NarrowResNet in "
                    "tools/golden/towers.py)"),
        ("block", block_name),
        ("expansion", exp),
        ("layers", list(layers)),
        ("widths", widths),
        ("stage_out_channels", [w * exp for w in widths]),
        ("stage_strides", [1, 2, 2, 2]),
        ("stage_hw", stage_hw),
        ("in_channels", 3),
        ("image_size", RESNET_IMAGE),
        ("stem", {"conv1": {"out_channels": widths[0], "kernel": 7, "stride": 2, "padding": 3,
                            "bias": False},
                  "bn1": True, "relu": True,
                  "maxpool": {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": False}}),
        ("basic_block", "conv3x3(stride,pad 1)-bn1-relu-conv3x3(pad 1)-bn2 (+identity/downsample) relu"),
        ("bottleneck_block", "conv1x1-bn1-relu-conv3x3(stride,pad 1)-bn2-relu-conv1x1(x4)-bn3 "
                             "(+identity/downsample) relu; stride on the 3x3 (ResNet v1.5); "
                             "bottleneck width = planes (groups 1, width_per_group 64)"),
        ("downsample", "block 0 of a stage when stride != 1 or in_channels != planes*expansion: "
                       "downsample.0 = conv1x1(stride, no bias), downsample.1 = BatchNorm2d"),
        ("conv_bias", False),
        ("groups", 1),
        ("width_per_group", 64),
        ("batchnorm", {"eps": 1e-5, "momentum": 0.1, "affine": True, "track_running_stats": True,
                       "running_var_update": "unbiased batch variance (N*H*W/(N*H*W-1))",
                       "normalize_with": "biased batch variance (train) / running stats (eval)"}),
        ("activation", "relu"),
        ("pooling", "AdaptiveAvgPool2d((1,1)) + flatten -> outputs/pooled (the fc input)"),
        ("num_classes", 10),
        ("fc", "present in weights (fc.weight/fc.bias) but not part of any output or loss"),
    ])


def build_resnet(cfg):
    block = {"BasicBlock": BasicBlock, "Bottleneck": Bottleneck}[cfg["block"]]
    return NarrowResNet(block, cfg["layers"], cfg["widths"], cfg["num_classes"])


def resnet_forward(model, inputs):
    cap = {}
    h1 = model.layer4.register_forward_hook(lambda m, i, o: cap.__setitem__("feature_map", o))
    h2 = model.fc.register_forward_pre_hook(lambda m, i: cap.__setitem__("pooled", i[0]))
    pv = inputs["pixel_values"].clone().requires_grad_(True)
    try:
        model(pv)
    finally:
        h1.remove()
        h2.remove()
    outs = OrderedDict([("pooled", cap["pooled"]), ("feature_map", cap["feature_map"])])
    return outs, OrderedDict([("pixel_values", pv)])


def resnet_inputs():
    return OrderedDict([("pixel_values", torch.randn(BATCH, 3, RESNET_IMAGE, RESNET_IMAGE))])


# ----------------------------------------------------------------------------------------------
# ViT

def vit_config():
    image, patch, hidden = 32, 8, 32
    n = (image // patch) ** 2
    return OrderedDict([
        ("family", "vit"),
        ("builder", "torchvision.models.VisionTransformer(image_size, patch_size, num_layers, "
                    "num_heads, hidden_dim, mlp_dim, num_classes=10)"),
        ("image_size", image),
        ("patch_size", patch),
        ("in_channels", 3),
        ("num_layers", 2),
        ("num_heads", 4),
        ("head_dim", hidden // 4),
        ("hidden_dim", hidden),
        ("mlp_dim", 64),
        ("num_patches", n),
        ("seq_length", n + 1),
        ("conv_proj", {"kernel": patch, "stride": patch, "bias": True}),
        ("patch_order", "conv_proj output [B,D,h,w] -> reshape [B,D,h*w] -> permute [B,h*w,D] "
                        "(row-major over h then w)"),
        ("class_token", "prepended at index 0: x = cat(class_token.expand(B,1,D), patches)"),
        ("pos_embedding", "encoder.pos_embedding [1, seq_length, D] added after the class token is "
                          "prepended"),
        ("block", "pre-norm: x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))"),
        ("attention", "nn.MultiheadAttention(batch_first=True): packed in_proj_weight [3D,D] rows "
                      "q,k,v; scale 1/sqrt(head_dim); out_proj"),
        ("mlp", "mlp.0 Linear(D,mlp_dim) -> GELU -> mlp.3 Linear(mlp_dim,D) (mlp.1/mlp.2/mlp.4 are "
                "GELU/Dropout/Dropout, no params)"),
        ("activation", "gelu (exact, erf)"),
        ("layernorm_eps", 1e-6),
        ("final_norm", "encoder.ln after the last block -> outputs/tokens"),
        ("dropout", 0.0),
        ("attention_dropout", 0.0),
        ("pooling", "class token: tokens[:, 0] -> outputs/pooled (the input of heads)"),
        ("representation_size", None),
        ("num_classes", 10),
        ("heads", "heads.head Linear(D, num_classes) present in weights, not in any output/loss"),
    ])


def build_vit(cfg):
    return VisionTransformer(image_size=cfg["image_size"], patch_size=cfg["patch_size"],
                             num_layers=cfg["num_layers"], num_heads=cfg["num_heads"],
                             hidden_dim=cfg["hidden_dim"], mlp_dim=cfg["mlp_dim"],
                             dropout=cfg["dropout"], attention_dropout=cfg["attention_dropout"],
                             num_classes=cfg["num_classes"],
                             representation_size=cfg["representation_size"])


def vit_forward(model, inputs):
    cap = {}
    h1 = model.encoder.register_forward_hook(lambda m, i, o: cap.__setitem__("tokens", o))
    h2 = model.heads.register_forward_pre_hook(lambda m, i: cap.__setitem__("pooled", i[0]))
    pv = inputs["pixel_values"].clone().requires_grad_(True)
    try:
        model(pv)
    finally:
        h1.remove()
        h2.remove()
    outs = OrderedDict([("pooled", cap["pooled"]), ("tokens", cap["tokens"])])
    return outs, OrderedDict([("pixel_values", pv)])


def vit_extra_init_(model):
    # class_token is zero-initialised, pos_embedding has std 0.02: make both clearly non-trivial.
    with torch.no_grad():
        model.class_token.normal_(0.0, 0.5)
        model.encoder.pos_embedding.normal_(0.0, 0.5)


def vit_inputs():
    return OrderedDict([("pixel_values", torch.randn(BATCH, 3, 32, 32))])


# ----------------------------------------------------------------------------------------------
# BERT / RoBERTa (Hugging Face)

HF_KEYS = ["model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
           "intermediate_size", "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob",
           "max_position_embeddings", "type_vocab_size", "initializer_range", "layer_norm_eps",
           "position_embedding_type", "pad_token_id", "bos_token_id", "eos_token_id"]
SEQ = 12
VALID_LENGTHS = [12, 8]


def hf_config(kind):
    common = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=64, type_vocab_size=2,
                  # init only (not architecture): larger than HF's 0.02 so attention is non-uniform
                  initializer_range=0.2)
    if kind == "bert":
        c = BertConfig(max_position_embeddings=64, **common)
    else:
        c = RobertaConfig(max_position_embeddings=66, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                          **common)
    d = c.to_dict()
    return OrderedDict((k, d[k]) for k in HF_KEYS)


def text_config(kind):
    hf = hf_config(kind)
    cfg = OrderedDict([
        ("family", kind),
        ("builder", "transformers.%sModel(%sConfig(**hf_config), add_pooling_layer=True)"
         % (("Bert", "Bert") if kind == "bert" else ("Roberta", "Roberta"))),
        ("hf_config", hf),
        ("add_pooling_layer", True),
        ("attn_implementation", "eager"),
        ("vocab_size", hf["vocab_size"]),
        ("hidden_size", hf["hidden_size"]),
        ("num_hidden_layers", hf["num_hidden_layers"]),
        ("num_attention_heads", hf["num_attention_heads"]),
        ("head_dim", hf["hidden_size"] // hf["num_attention_heads"]),
        ("intermediate_size", hf["intermediate_size"]),
        ("max_position_embeddings", hf["max_position_embeddings"]),
        ("type_vocab_size", hf["type_vocab_size"]),
        ("layer_norm_eps", hf["layer_norm_eps"]),
        ("activation", "gelu (exact, erf) in the intermediate layer; tanh in the pooler"),
        ("pad_token_id", hf["pad_token_id"]),
        ("embeddings", "LayerNorm(word[input_ids] + token_type[token_type_ids] + "
                       "position[position_ids]) (dropout off)"),
        ("layer", "post-norm: a = LN(x + attention.output.dense(selfattn(x))); "
                  "y = LN(a + output.dense(gelu(intermediate.dense(a))))"),
        ("attention", "separate query/key/value Linear(H,H); heads split as [B,T,heads,head_dim]; "
                      "scores/sqrt(head_dim) + (1-attention_mask)*finfo(float32).min on masked "
                      "keys; softmax over keys"),
        ("pooling", "pooler_output = tanh(pooler.dense(last_hidden_state[:, 0]))"),
        ("padded_query_positions", "computed normally (attend to the unmasked keys) and included "
                                   "in last_hidden_state and in the loss"),
        ("seq_length", SEQ),
        ("valid_lengths", VALID_LENGTHS),
    ])
    if kind == "bert":
        cfg["position_ids"] = "0..T-1 for every sequence, padding ignored"
        cfg["padding_idx"] = {"embeddings.word_embeddings": hf["pad_token_id"]}
    else:
        cfg["position_ids"] = ("create_position_ids_from_input_ids: mask = (input_ids != pad); "
                               "position = cumsum(mask)*mask + pad_token_id, i.e. padding_idx+1, "
                               "padding_idx+2, ... for real tokens and padding_idx (1) for pads")
        cfg["padding_idx"] = {"embeddings.word_embeddings": hf["pad_token_id"],
                              "embeddings.position_embeddings": hf["pad_token_id"]}
    return cfg


def build_text(cfg):
    hf = dict(cfg["hf_config"])
    kind = hf.pop("model_type")
    if kind == "bert":
        return BertModel(BertConfig(**hf), add_pooling_layer=cfg["add_pooling_layer"])
    return RobertaModel(RobertaConfig(**hf), add_pooling_layer=cfg["add_pooling_layer"])


def text_extra_init_(model):
    # HF zeroes the padding_idx rows at init; trained checkpoints generally have non-zero rows and
    # padded positions are part of last_hidden_state, so make them non-zero here.
    std = model.config.initializer_range
    with torch.no_grad():
        for emb in (model.embeddings.word_embeddings, model.embeddings.position_embeddings):
            if emb.padding_idx is not None:
                emb.weight[emb.padding_idx].normal_(0.0, std)


def text_inputs(kind):
    ids = torch.zeros(BATCH, SEQ, dtype=torch.int64)
    mask = torch.zeros(BATCH, SEQ, dtype=torch.int64)
    types = torch.zeros(BATCH, SEQ, dtype=torch.int64)
    for b, n in enumerate(VALID_LENGTHS):
        mask[b, :n] = 1
        if kind == "bert":
            ids[b, :n] = torch.randint(1, 100, (n,))        # 0 = pad
            ids[b, n:] = 0
            types[b, n // 2:n] = 1                          # second segment
        else:
            ids[b, :n] = torch.randint(3, 100, (n,))        # 0 bos, 1 pad, 2 eos
            ids[b, 0] = 0
            ids[b, n - 1] = 2
            ids[b, n:] = 1
    return OrderedDict([("input_ids", ids), ("attention_mask", mask), ("token_type_ids", types)])


def embeds_hook(module):
    cap = {}

    def hook(m, i, o):
        o.retain_grad()
        cap["inputs_embeds"] = o
    return cap, module.register_forward_hook(hook)


def text_forward(model, inputs):
    cap, h = embeds_hook(model.embeddings.word_embeddings)
    try:
        out = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                    token_type_ids=inputs["token_type_ids"])
    finally:
        h.remove()
    outs = OrderedDict([("last_hidden_state", out.last_hidden_state),
                        ("pooler_output", out.pooler_output)])
    return outs, OrderedDict([("inputs_embeds", cap["inputs_embeds"])])


# ----------------------------------------------------------------------------------------------
# LSTM text encoder

class LSTMTextEncoder(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_size, num_layers, bidirectional, padding_idx):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embed_dim, hidden_size, num_layers=num_layers,
                            bidirectional=bidirectional, batch_first=True)

    def forward(self, input_ids, lengths):
        emb = self.embedding(input_ids)
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=input_ids.shape[1])
        valid = torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]
        pooled = out.masked_fill(~valid[:, :, None], float("-inf")).max(dim=1).values
        return emb, out, pooled


LSTM_LENGTHS = [7, 4]


def lstm_config(bidirectional, num_layers):
    dirs = 2 if bidirectional else 1
    return OrderedDict([
        ("family", "lstm_text"),
        ("builder", "LSTMTextEncoder in tools/golden/towers.py: embedding = nn.Embedding(vocab, "
                    "embed_dim, padding_idx), lstm = nn.LSTM(embed_dim, hidden, num_layers, "
                    "bidirectional, batch_first=True)"),
        ("vocab_size", 50),
        ("embed_dim", 16),
        ("padding_idx", 0),
        ("hidden_size", 12),
        ("num_layers", num_layers),
        ("bidirectional", bidirectional),
        ("num_directions", dirs),
        ("output_size", 12 * dirs),
        ("bias", True),
        ("dropout", 0.0),
        ("batch_first", True),
        ("gates", "PyTorch order i, f, g, o in the 4*hidden rows of weight_ih/weight_hh/bias_ih/"
                  "bias_hh; c' = f*c + i*g; h' = o*tanh(c'); i,f,o sigmoid, g tanh; both biases "
                  "added; h0 = c0 = 0"),
        ("layer_input", "layer l>0 takes the concatenation [forward, reverse] of layer l-1's "
                        "outputs (size hidden*num_directions)"),
        ("packing", "pack_padded_sequence(enforce_sorted=False): each sequence runs over its first "
                    "length steps only; the reverse direction starts at step length-1"),
        ("per_step", "pad_packed_sequence(total_length=T): [B,T,hidden*dirs], columns "
                     "[forward | reverse], exact zeros at t >= length"),
        ("pooling", "max over t < length of per_step (masked to -inf elsewhere) -> [B, hidden*dirs]; "
                    "its gradient goes to the argmax step"),
        ("seq_length", max(LSTM_LENGTHS)),
        ("lengths", LSTM_LENGTHS),
    ])


def build_lstm(cfg):
    return LSTMTextEncoder(cfg["vocab_size"], cfg["embed_dim"], cfg["hidden_size"], cfg["num_layers"],
                           cfg["bidirectional"], cfg["padding_idx"])


def lstm_inputs():
    T = max(LSTM_LENGTHS)
    ids = torch.zeros(BATCH, T, dtype=torch.int64)
    for b, n in enumerate(LSTM_LENGTHS):
        ids[b, :n] = torch.randint(1, 50, (n,))
    return OrderedDict([("input_ids", ids), ("lengths", torch.tensor(LSTM_LENGTHS, dtype=torch.int64))])


def lstm_forward(model, inputs):
    emb, per_step, pooled = model(inputs["input_ids"], inputs["lengths"])
    emb.retain_grad()
    return (OrderedDict([("per_step", per_step), ("pooled", pooled)]),
            OrderedDict([("inputs_embeds", emb)]))


# ----------------------------------------------------------------------------------------------
# the cases

def case(name, seed, mode, config, build, forward, make_inputs, grad_params, input_grad_doc,
         extra_init=None, perturb=True):
    return dict(name=name, seed=seed, mode=mode, config=config, build=build, forward=forward,
                make_inputs=make_inputs, grad_params=grad_params, input_grad_doc=input_grad_doc,
                extra_init=extra_init, perturb=perturb)


PIXEL_GRAD = "grads/inputs/pixel_values = dL/d pixel_values [B,3,H,W]"
TEXT_GRAD = ("grads/inputs/inputs_embeds = dL/d(embeddings.word_embeddings(input_ids)) [B,T,H]: the "
             "word-embedding lookup output, before token-type/position embeddings and the embedding "
             "LayerNorm (taken with a forward hook + retain_grad; the model is run on input_ids, "
             "not inputs_embeds, so RoBERTa's padding-aware position ids apply). Includes padded "
             "positions (their hidden states are in the loss).")
LSTM_GRAD = ("grads/inputs/inputs_embeds = dL/d(embedding(input_ids)) [B,T,embed_dim]: the "
             "embedding lookup output before packing; exact zeros at t >= length.")

CASES = [
    case("resnet_basic", 101, "eval", resnet_config("BasicBlock", [2, 2, 2, 2]), build_resnet,
         resnet_forward, resnet_inputs,
         ["conv1.weight", "bn1.weight", "layer2.0.conv1.weight", "layer3.0.downsample.1.weight",
          "layer4.1.bn2.bias", "layer4.1.conv2.weight"], PIXEL_GRAD),
    case("resnet_bottleneck", 102, "eval", resnet_config("Bottleneck", [1, 1, 1, 1]), build_resnet,
         resnet_forward, resnet_inputs,
         ["conv1.weight", "bn1.weight", "layer2.0.conv2.weight", "layer3.0.downsample.0.weight",
          "layer4.0.bn3.bias", "layer4.0.conv3.weight"], PIXEL_GRAD),
    case("resnet_basic_train", 101, "train", resnet_config("BasicBlock", [2, 2, 2, 2]), build_resnet,
         resnet_forward, resnet_inputs,
         ["conv1.weight", "bn1.weight", "layer2.0.conv1.weight", "layer3.0.downsample.1.weight",
          "layer4.1.bn2.bias", "layer4.1.conv2.weight"], PIXEL_GRAD),
    case("vit", 104, "eval", vit_config(), build_vit, vit_forward, vit_inputs,
         ["conv_proj.weight", "class_token", "encoder.pos_embedding",
          "encoder.layers.encoder_layer_0.self_attention.in_proj_weight",
          "encoder.layers.encoder_layer_1.mlp.3.weight", "encoder.ln.weight"], PIXEL_GRAD,
         extra_init=vit_extra_init_),
    case("bert", 105, "eval", text_config("bert"), build_text, text_forward,
         lambda: text_inputs("bert"),
         ["embeddings.word_embeddings.weight", "embeddings.LayerNorm.weight",
          "encoder.layer.0.attention.self.query.weight", "encoder.layer.1.intermediate.dense.weight",
          "encoder.layer.1.output.LayerNorm.weight", "pooler.dense.weight"], TEXT_GRAD,
         extra_init=text_extra_init_),
    case("roberta", 106, "eval", text_config("roberta"), build_text, text_forward,
         lambda: text_inputs("roberta"),
         ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
          "encoder.layer.0.attention.self.key.weight", "encoder.layer.1.intermediate.dense.weight",
          "encoder.layer.1.output.LayerNorm.weight", "pooler.dense.weight"], TEXT_GRAD,
         extra_init=text_extra_init_),
    case("lstm_text", 107, "eval", lstm_config(True, 2), build_lstm, lstm_forward, lstm_inputs,
         ["embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0_reverse", "lstm.bias_ih_l1",
          "lstm.weight_hh_l1_reverse"], LSTM_GRAD, perturb=False),
    case("lstm_text_uni", 108, "eval", lstm_config(False, 1), build_lstm, lstm_forward, lstm_inputs,
         ["embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_hh_l0"],
         LSTM_GRAD, perturb=False),
]


# ----------------------------------------------------------------------------------------------
# compute / write / verify

def run(model, c, inputs, loss_weights, grad_params):
    """One forward + backward. Returns (outputs, loss_weights, input grads, param grads)."""
    model.train(c["mode"] == "train")
    model.zero_grad(set_to_none=True)
    outs, grad_inputs = c["forward"](model, inputs)
    if loss_weights is None:  # drawn from the seeded stream, after the forward
        loss_weights = OrderedDict((k, torch.randn(v.shape)) for k, v in outs.items())
    loss = sum((outs[k] * loss_weights[k]).sum() for k in outs)
    loss.backward()
    params = dict(model.named_parameters())
    gin = OrderedDict((k, v.grad.detach().clone()) for k, v in grad_inputs.items())
    gpar = OrderedDict((k, params[k].grad.detach().clone()) for k in grad_params)
    outs = OrderedDict((k, v.detach().clone()) for k, v in outs.items())
    return outs, loss_weights, gin, gpar


def running_stats(model):
    sd = model.state_dict()
    return OrderedDict((k, sd[k].clone()) for k in sd
                       if k.endswith(("running_mean", "running_var", "num_batches_tracked")))


def check_dtype(k, t):
    if t.dtype not in (torch.float32, torch.int64):
        raise SystemExit("%s: dtype %s (only float32/int64 allowed)" % (k, t.dtype))


def generate(c, out_dir):
    torch.manual_seed(c["seed"])
    model = c["build"](c["config"])
    if c["perturb"]:
        perturb_norms_and_biases_(model)
    if c["extra_init"] is not None:
        c["extra_init"](model)
    weights = OrderedDict((k, v.detach().clone().contiguous()) for k, v in model.state_dict().items())
    inputs = c["make_inputs"]()
    outs, lw, gin, gpar = run(model, c, inputs, None, c["grad_params"])

    for k, g in list(gin.items()) + list(gpar.items()):
        if not torch.isfinite(g).all() or g.abs().max() == 0:
            raise SystemExit("%s: gradient %s is zero or non-finite" % (c["name"], k))

    tensors = OrderedDict()
    for k, v in weights.items():
        tensors["weights/" + k] = v
    for k, v in inputs.items():
        tensors["inputs/" + k] = v
    for k, v in outs.items():
        tensors["outputs/" + k] = v
    if c["mode"] == "train":
        for k, v in running_stats(model).items():
            tensors["outputs/running/" + k] = v
    for k, v in lw.items():
        tensors["loss_weights/" + k] = v
    for k, v in gin.items():
        tensors["grads/inputs/" + k] = v
    for k, v in gpar.items():
        tensors["grads/params/" + k] = v
    for k, v in tensors.items():
        check_dtype(k, v)
        tensors[k] = v.contiguous()

    shapes = OrderedDict((k, list(v.shape)) for k, v in outs.items())
    meta = OrderedDict([
        ("format_version", FORMAT_VERSION),
        ("generator", "tools/golden/towers.py"),
        ("model", c["name"]),
        ("config", json.dumps(c["config"])),
        ("mode", c["mode"]),
        ("seed", str(c["seed"])),
        ("versions", json.dumps(versions())),
        ("loss", LOSS_TEXT),
        ("input_grads", c["input_grad_doc"]),
        ("output_shapes", json.dumps(shapes)),
        ("grad_params", json.dumps(c["grad_params"])),
        ("deterministic", "torch.use_deterministic_algorithms(True), torch.set_num_threads(1), CPU, "
                          "float32"),
    ])
    path = os.path.join(out_dir, c["name"] + ".safetensors")
    save_canonical(dict(tensors), dict(meta), path)
    return path, outs


def save_canonical(tensors, meta, path):
    """safetensors.torch.save, with the JSON header re-serialised with sorted keys: the library
    writes __metadata__ from a hash map whose order changes from run to run, which would make every
    regeneration a binary change in git. The data section and the tensor offsets are untouched."""
    blob = safetensors.torch.save(tensors, metadata=meta)
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    h = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + blob[8 + n:])


def fail(path, msg):
    raise SystemExit("VERIFY FAILED %s: %s" % (path, msg))


def verify(c, path):
    tensors = safetensors.torch.load_file(path)
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
    for k in ("config", "mode", "seed", "versions", "loss", "input_grads"):
        if k not in meta:
            fail(path, "metadata key %s missing" % k)
    cfg = json.loads(meta["config"])
    if meta["mode"] != c["mode"]:
        fail(path, "mode %s != %s" % (meta["mode"], c["mode"]))

    groups = {}
    for k, v in tensors.items():
        check_dtype(k, v)
        for prefix in ("weights/", "inputs/", "outputs/running/", "outputs/", "loss_weights/",
                       "grads/inputs/", "grads/params/"):
            if k.startswith(prefix):
                groups.setdefault(prefix, OrderedDict())[k[len(prefix):]] = v
                break
        else:
            fail(path, "unexpected key " + k)

    # fresh model from the metadata config only; its random init is overwritten by the weights
    torch.manual_seed(12345)
    model = c["build"](cfg)
    ref = model.state_dict()
    weights = groups["weights/"]
    if set(weights) != set(ref):
        fail(path, "weight keys differ: missing %s extra %s"
             % (sorted(set(ref) - set(weights)), sorted(set(weights) - set(ref))))
    for k, v in ref.items():
        if weights[k].shape != v.shape or weights[k].dtype != v.dtype:
            fail(path, "%s: %s %s vs model %s %s" % (k, weights[k].dtype, tuple(weights[k].shape),
                                                     v.dtype, tuple(v.shape)))
    model.load_state_dict(weights, strict=True)

    lw = groups["loss_weights/"]
    outs, _, gin, gpar = run(model, c, groups["inputs/"], lw, list(groups["grads/params/"]))
    if set(outs) != set(groups["outputs/"]) or set(lw) != set(outs):
        fail(path, "output keys %s / loss_weights %s vs forward %s"
             % (list(groups["outputs/"]), list(lw), list(outs)))
    checks = [("outputs/", outs), ("grads/inputs/", gin), ("grads/params/", gpar)]
    if c["mode"] == "train":
        checks.append(("outputs/running/", running_stats(model)))
    elif "outputs/running/" in groups:
        fail(path, "running stats stored for an eval-mode model")
    for prefix, got in checks:
        stored = groups.get(prefix, {})
        if set(stored) != set(got):
            fail(path, "%s keys %s vs recomputed %s" % (prefix, sorted(stored), sorted(got)))
        for k in got:
            if stored[k].shape != got[k].shape or not torch.equal(stored[k], got[k]):
                fail(path, "%s%s does not reproduce bit-for-bit" % (prefix, k))
    if c["mode"] == "train":
        # the stored weights are the state BEFORE the forward: stats must have moved
        for k, v in groups["outputs/running/"].items():
            if torch.equal(v, weights[k]):
                fail(path, "running stat %s unchanged by the train forward" % k)
    return tensors, cfg, meta


def summarize(path, tensors, cfg, meta):
    size = os.path.getsize(path)
    print("%s  %d bytes" % (os.path.relpath(path), size))
    n_w = sum(1 for k in tensors if k.startswith("weights/"))
    n_el = sum(v.numel() for k, v in tensors.items() if k.startswith("weights/"))
    print("  weights/: %d tensors, %d elements; mode=%s seed=%s" % (n_w, n_el, meta["mode"],
                                                                   meta["seed"]))
    for k, v in tensors.items():
        if k.startswith("weights/") or k.startswith("outputs/running/"):
            continue
        extra = ""
        if v.dtype == torch.float32:
            extra = "  absmax %.4g std %.4g" % (v.abs().max().item(), v.std().item())
        print("  %-70s %-7s %s%s" % (k, str(v.dtype).replace("torch.", ""), list(v.shape), extra))
    n_run = sum(1 for k in tensors if k.startswith("outputs/running/"))
    if n_run:
        print("  outputs/running/: %d tensors" % n_run)


def main():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(repo, "tests", "golden", "towers"))
    ap.add_argument("--check-only", action="store_true")
    ap.add_argument("--only", default="")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    os.makedirs(args.out, exist_ok=True)
    only = set(filter(None, args.only.split(",")))
    print("versions:", json.dumps(versions()))
    for c in CASES:
        if only and c["name"] not in only:
            continue
        path = os.path.join(args.out, c["name"] + ".safetensors")
        if not args.check_only:
            generate(c, args.out)
        tensors, cfg, meta = verify(c, path)
        summarize(path, tensors, cfg, meta)
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print("total size of %s: %d bytes" % (os.path.relpath(args.out), total))
    if total > 5 * 1024 * 1024:
        raise SystemExit("golden directory exceeds 5 MB")
    print("all golden files verified")


if __name__ == "__main__":
    main()
