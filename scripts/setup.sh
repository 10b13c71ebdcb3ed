#!/usr/bin/env bash
# Installs the Debian packages mmalign builds and tests with. Idempotent: packages already present
# are not reinstalled, and apt's index is refreshed only when something is missing.
# (The CUDA toolkit — nvcc, cuBLAS, cuDNN, NCCL — comes with the machine; CMake finds it if present.)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libopenblas-openmp-dev   # BLAS sharing our OpenMP thread pool (see docs/DEPENDENCIES.md)
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev
  libopenmpi-dev openmpi-bin  # MPI: process launch, the CPU communicator, NCCL emulated over MPI
  libprotobuf-dev protobuf-compiler  # configs (text format) and run state
  libstb-dev               # stb_image (decode), stb_image_write (PNG output)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all build dependencies present"
