#!/usr/bin/env bash
# The main job (README quick start): installs dependencies, builds, and trains the embedded default —
# configs/demo.pbtxt: the synthetic image-caption set, a small ResNet + bi-LSTM dual encoder — then
# evaluates retrieval on the held-out test split. Extra arguments go to `mmalign train`
# (e.g. --set train.steps=100). The run directory is runs/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh build >/dev/null
# --resume auto: a second run continues (or, when finished, re-evaluates) the first instead of mixing
# two runs' files; delete runs/demo to start afresh.
exec ./build/mmalign train --config configs/demo.pbtxt --out runs/demo --resume auto "$@"
