#!/usr/bin/env python3
"""Checks a run directory's TensorBoard event files with TensorBoard's own reader (not run by CI).

mmalign writes events.out.tfevents.* without TensorFlow (train/tensorboard.cpp encodes the TFRecord
framing and the Event protobuf by hand). This loads the directory with TensorBoard's EventAccumulator
and with the plugin accumulator the server uses, and compares every scalar with metrics.jsonl, which
holds the same numbers: a training line {"step", "loss", "lr", ...} is logged as "train/<field>", an
evaluation line {"split": "val", "step", "i2t_r1", ...} as "<split>/<field>" (EventWriter::add_metrics;
bookkeeping fields such as "elapsed_s" are not logged). Values are float32 in the event file, so they
are compared after rounding the JSON values to float32.

    python3 -m venv /tmp/tb-venv && /tmp/tb-venv/bin/pip install tensorboard
    /tmp/tb-venv/bin/python tools/check_tensorboard.py RUN_DIR

Exit status 0 when the tags and every (step, value) agree, 1 otherwise (each difference printed).
"""
import json
import os
import struct
import sys


# metrics.jsonl fields EventWriter::add_metrics does not log (is_bookkeeping in train/tensorboard.cpp).
BOOKKEEPING = {"step", "elapsed_s", "steps_this_session", "num_images", "num_texts", "images_without_captions"}


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def expected_scalars(run_dir):
    want = {}
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            j = json.loads(line)
            prefix = j["split"] if isinstance(j.get("split"), str) else "train"
            for key, v in j.items():
                if key in BOOKKEEPING or isinstance(v, bool) or not isinstance(v, (int, float)):
                    continue
                want.setdefault(f"{prefix}/{key}", []).append((j["step"], f32(float(v))))
    return want


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    run_dir = sys.argv[1]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(run_dir, size_guidance={"scalars": 0})  # 0: keep every event
    acc.Reload()
    got_tags = sorted(acc.Tags()["scalars"])
    want = expected_scalars(run_dir)
    errors = []
    if got_tags != sorted(want):
        errors.append(f"tags differ: event files {got_tags}, metrics.jsonl {sorted(want)}")
    for tag in sorted(set(got_tags) & set(want)):
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        if got != want[tag]:
            errors.append(f"{tag}: event files {got[:5]}..., metrics.jsonl {want[tag][:5]}...")
    # The TensorBoard server reads through the plugin accumulator, which migrates simple_value summaries
    # to tensors of the "scalars" plugin (data_compat): check that path too.
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util

    pacc = pea.EventAccumulator(run_dir, size_guidance={"tensors": 0})
    pacc.Reload()
    plugin_tags = sorted(pacc.PluginTagToContent("scalars"))
    if plugin_tags != sorted(want):
        errors.append(f"scalars-plugin tags differ: {plugin_tags} vs {sorted(want)}")
    for tag in sorted(set(plugin_tags) & set(want)):
        got = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto).item())) for e in pacc.Tensors(tag)]
        if got != want[tag]:
            errors.append(f"{tag} (scalars plugin): {got[:5]}..., metrics.jsonl {want[tag][:5]}...")
    n = sum(len(v) for v in want.values())
    if errors:
        print("\n".join(errors))
        return 1
    print(f"ok: {len(got_tags)} tags, {n} scalars in {run_dir} load in TensorBoard and match metrics.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
