#!/usr/bin/env bash
# Data-parallel training on this machine: `scripts/dist_train.sh N [mmalign train arguments...]` runs
# `mpirun -np N build/mmalign train ...` (docs/DISTRIBUTED.md), adding what Open MPI needs here:
# --allow-run-as-root when run as root (containers), and --oversubscribe when N exceeds the cores.
# Each rank gets threads = cores / N unless the arguments set train.threads.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] && [[ "$1" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 N [mmalign train arguments...]" >&2; exit 2; }
n="$1"
shift
command -v mpirun >/dev/null || { echo "$0: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 1; }
[ -x build/mmalign ] || bash scripts/build.sh build
flags=()
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
cores=$(nproc)
[ "$n" -gt "$cores" ] && flags+=(--oversubscribe)
threads=$((cores / n))
[ "$threads" -ge 1 ] || threads=1
set_threads=(--set "train.threads=$threads")
for a in "$@"; do [[ "$a" == train.threads=* ]] && set_threads=(); done
exec mpirun "${flags[@]}" -np "$n" build/mmalign train "${set_threads[@]}" "$@"
