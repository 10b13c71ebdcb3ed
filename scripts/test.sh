#!/usr/bin/env bash
# The test command (README quick start, and what CI runs): installs dependencies, builds everything
# (the CUDA backend too when nvcc is present: every .cu file is compiled), runs the whole suite.
# CUDA tests skip themselves when no GPU is present; on a GPU machine `ctest -L cuda` is the GPU suite.
#   scripts/test.sh              release build in build/, all tests
#   scripts/test.sh --sanitize   AddressSanitizer + UBSan build in build-asan/ (CPU only), all tests
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sanitize" ]; then
  bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMALIGN_SANITIZE=ON -DMMALIGN_CUDA=OFF -DMMALIGN_BUILD_BENCH=OFF
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --test-dir build-asan --output-on-failure -j"$(nproc)"
else
  bash scripts/build.sh build
  ctest --test-dir build --output-on-failure -j"$(nproc)"
fi
