#!/usr/bin/env bash
# The test command (README quick start, and what CI runs): installs dependencies, then
#   1. builds everything in build/ (the CUDA backend too when nvcc is present: every .cu file is
#      compiled for real GPUs) and runs the whole suite — CUDA tests skip there without a GPU;
#   2. builds the CUDA emulation in build-emu/ (the same .cu files as host C++, AddressSanitizer +
#      UBSan on) and runs every CUDA test on the CPU, failing if a single one skips (docs/CUDA.md).
#   scripts/test.sh              both of the above
#   scripts/test.sh --sanitize   AddressSanitizer + UBSan build in build-asan/ (CPU only), all tests
#   scripts/test.sh --emulation  step 2 only
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sanitize" ]; then
  bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMALIGN_SANITIZE=ON -DMMALIGN_CUDA=OFF -DMMALIGN_BUILD_BENCH=OFF
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --test-dir build-asan --output-on-failure -j"$(nproc)"
else
  if [ "${1:-}" != "--emulation" ]; then
    bash scripts/build.sh build
    ctest --test-dir build --output-on-failure -j"$(nproc)"
  fi
  # Only the CUDA test programs (and the distributed one, whose NCCL backend runs on the emulated
  # NCCL there): the CPU suite already ran in build/.
  MMALIGN_BUILD_TARGETS="test_cuda test_cuda_emulation test_cuda_emulation_mpi test_dist" \
    bash scripts/build.sh build-emu -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMALIGN_CUDA_EMULATION=ON \
    -DMMALIGN_SANITIZE=ON -DMMALIGN_BUILD_BENCH=OFF
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  log=build-emu/cuda-tests.log
  ctest --test-dir build-emu --output-on-failure -j"$(nproc)" -L 'cuda|mpi' 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
  if grep -q "(Skipped)" "$log"; then
    echo "test.sh: CUDA tests were skipped in the emulation build (every one must run):" >&2
    grep "(Skipped)" "$log" >&2
    exit 1
  fi
fi
