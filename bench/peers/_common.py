"""Shared harness for the PyTorch peers of the mmalign benchmark cases (bench/bench_<case>.cpp).

Each peer builds its inputs once (not timed), runs warm-up iterations, then times `--reps`
repetitions of one iteration of the workload and prints one JSON line:
    {"case": ..., "seconds_per_iter": median, "peak_rss_mb": ..., ...}
Threads: MMALIGN_THREADS (default 2), the same variable mmalign_bench reads.
Runs under /usr/bin/python3 (Debian python3-torch).
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch


def threads():
    try:
        n = int(os.environ.get("MMALIGN_THREADS", "2"))
    except ValueError:
        n = 2
    return max(n, 1)


def uniform(shape, seed, lo=-1.0, hi=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g, dtype=torch.float32) * (hi - lo) + lo


def run(case, setup, iteration, default_reps=5, default_warmup=2, min_time=0.0, extra=None):
    """setup() -> state (not timed); iteration(state) runs the workload once."""
    ap = argparse.ArgumentParser(description=f"PyTorch peer of mmalign_bench case {case}")
    ap.add_argument("--reps", type=int, default=default_reps, help="timed repetitions (median reported)")
    ap.add_argument("--warmup", type=int, default=default_warmup, help="untimed warm-up iterations")
    ap.add_argument("--min-time", type=float, default=min_time,
                    help="each repetition loops the workload until at least this many seconds passed")
    args = ap.parse_args()

    torch.set_num_threads(threads())
    state = setup()
    for _ in range(args.warmup):
        iteration(state)
    samples = []
    for _ in range(max(args.reps, 1)):
        n = 0
        t0 = time.perf_counter()
        while True:
            iteration(state)
            n += 1
            dt = time.perf_counter() - t0
            if dt >= args.min_time:
                break
        samples.append(dt / n)
    out = {
        "case": case,
        "seconds_per_iter": statistics.median(samples),
        "samples": samples,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    if extra:
        out.update(extra(out))
    print(json.dumps(out), flush=True)
