#!/usr/bin/env bash
# Configures and builds mmalign into a build directory (default: build/).
#   scripts/build.sh [BUILD_DIR] [extra cmake args...]
# MMALIGN_BUILD_TARGETS="a b" builds only those targets (default: everything).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir="${1:-build}"
shift || true
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
if [ -n "${MMALIGN_BUILD_TARGETS:-}" ]; then
  # shellcheck disable=SC2086
  cmake --build "$build_dir" -j"$(nproc)" --target ${MMALIGN_BUILD_TARGETS}
else
  cmake --build "$build_dir" -j"$(nproc)"
fi
