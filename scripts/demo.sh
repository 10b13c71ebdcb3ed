#!/usr/bin/env bash
# The main job (README quick start): installs dependencies, builds, and runs `mmalign demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh build >/dev/null
exec ./build/mmalign demo "$@"
