#!/usr/bin/python3
"""Side-by-side CPU performance comparison of mmalign and PyTorch (SPEC §9 "Performance").

For each case, runs the mmalign side (`mmalign_bench --benchmark_filter=^case$`, Google Benchmark
JSON, real time) and its PyTorch peer (bench/peers/<case>.py, one JSON line) alternately, --rounds
times each (which side goes first alternates from round to round, so slow drifts of the machine hit
both sides alike), takes the median of each side and prints a Markdown table:

    case | mmalign (ms) | PyTorch (ms) | ratio (mmalign/PyTorch) | target | met?

Both sides get the same thread count (MMALIGN_THREADS and OMP_NUM_THREADS = --threads).
Standard library only; run it with the Python that has torch (Debian: /usr/bin/python3):

    /usr/bin/python3 bench/run_compare.py --build build-bench --rounds 5 --threads 2 \
        --markdown-out /tmp/perf.md
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(REPO, "bench", "peers")

# case -> (target ratio, target text). Targets: SPEC §9 "target now".
CASES = {
    "matmul_1024": 1.05,
    "conv_resnet18_3x3": 1.0,
    "layer_norm_8192x768": 1.1,
    "softmax_8192x768": 1.1,
    "add_16M": 1.1,
    "tiny_ops_10k": 0.5,
    "train_resnet18_112_b32": 1.0,
    "train_resnet50_224_b16": 1.0,
    "train_vit_s16_224_b16": 1.0,
    "train_bert4x256_b64x32": 1.0,
    "train_clip_rn18_bert_b64": 1.0,
    # Image input path (SPEC §9: ≥ 1.0× the PIL/torchvision throughput, i.e. time ratio ≤ 1.0).
    "image_pipeline_1t": 1.0,
    "image_pipeline_2t": 1.0,
    # No SPEC target; the peer is the Hugging Face fast tokenizer (needs --python /tmp/golden-venv/bin/python).
    "tokenize_wordpiece_10k": 1.0,
}

# Per-case knobs: mmalign's --benchmark_min_time (seconds) and the peer's --reps / --min-time.
# Short cases loop for ~0.3 s per measurement; the conv case (~0.3 s .. 3 s an iteration) runs once
# or twice per measurement.
KNOBS = {
    "matmul_1024": {"min_time": 0.5, "peer": ["--reps", "5", "--min-time", "0.1"]},
    "conv_resnet18_3x3": {"min_time": 0.5, "peer": ["--reps", "3", "--warmup", "1"]},
    "layer_norm_8192x768": {"min_time": 0.5, "peer": ["--reps", "5", "--min-time", "0.1"]},
    "softmax_8192x768": {"min_time": 0.5, "peer": ["--reps", "5", "--min-time", "0.1"]},
    "add_16M": {"min_time": 0.5, "peer": ["--reps", "5", "--min-time", "0.1"]},
    "tiny_ops_10k": {"min_time": 0.5, "peer": ["--reps", "5", "--min-time", "0.1"]},
    # Training steps (0.3 s .. 5 s an iteration): one warm-up step, then three timed steps a side.
    "train_resnet18_112_b32": {"min_time": 1.0, "peer": ["--reps", "3", "--warmup", "1"]},
    "train_resnet50_224_b16": {"min_time": 1.0, "peer": ["--reps", "3", "--warmup", "1"]},
    "train_vit_s16_224_b16": {"min_time": 1.0, "peer": ["--reps", "3", "--warmup", "1"]},
    "train_bert4x256_b64x32": {"min_time": 1.0, "peer": ["--reps", "3", "--warmup", "1"]},
    "train_clip_rn18_bert_b64": {"min_time": 1.0, "peer": ["--reps", "3", "--warmup", "1"]},
    # One (1t) or two (2t) images an iteration, ~1-5 ms: loop ~0.5 s per measurement; crops vary per
    # image on both sides, so each measurement averages a few hundred crops.
    "image_pipeline_1t": {"min_time": 0.5, "peer": ["--reps", "5", "--min-time", "0.5"]},
    "image_pipeline_2t": {"min_time": 0.5, "peer": ["--reps", "5", "--min-time", "0.5"]},
    # ~10-50 ms an iteration: loop ~0.5 s per measurement.
    "tokenize_wordpiece_10k": {"min_time": 0.5, "peer": ["--reps", "5", "--min-time", "0.2"]},
}

UNIT_TO_S = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def run_child(cmd, env, timeout):
    """Runs cmd; returns (returncode, stdout, stderr, peak RSS of the child in MB, wall seconds)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)
        deadline = t0 + timeout
        rusage = None
        status = None
        while True:
            pid, st, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                status, rusage = st, ru
                break
            if time.monotonic() > deadline:
                p.kill()
                _, status, rusage = os.wait4(p.pid, 0)
                break
            time.sleep(0.02)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        rss_mb = rusage.ru_maxrss / 1024.0 if rusage else float("nan")
        timed_out = wall > timeout
        rc = 124 if timed_out else p.returncode
        return rc, out.read().decode(errors="replace"), err.read().decode(errors="replace"), rss_mb, wall


def list_mmalign_cases(binary, env):
    rc, out, err, _, _ = run_child([binary, "--benchmark_list_tests=true"], env, 60)
    if rc != 0:
        raise RuntimeError(f"{binary} --benchmark_list_tests failed (rc {rc}): {err.strip()[-500:]}")
    return {line.strip().split("/")[0] for line in out.splitlines() if line.strip()}


def run_mmalign(binary, case, env, min_time, timeout):
    cmd = [binary, f"--benchmark_filter=^{case}(/real_time)?$", "--benchmark_format=json",
           f"--benchmark_min_time={min_time}", "--benchmark_min_warmup_time=0.1"]
    rc, out, err, rss, _ = run_child(cmd, env, timeout)
    if rc != 0:
        raise RuntimeError(f"mmalign_bench {case} failed (rc {rc}): {err.strip()[-800:]}")
    data = json.loads(out)
    rows = [b for b in data.get("benchmarks", []) if b.get("run_type", "iteration") == "iteration"]
    if not rows:
        raise RuntimeError(f"mmalign_bench {case}: no result in its JSON output")
    b = rows[0]
    if b.get("error_occurred"):
        raise RuntimeError(f"mmalign_bench {case}: {b.get('error_message')}")
    seconds = b["real_time"] * UNIT_TO_S[b.get("time_unit", "ns")]
    extra = {k: v for k, v in b.items() if k in ("bytes_per_second", "us_per_op", "GFLOPS")}
    return seconds, rss, extra, b.get("iterations")


def run_peer(python, case, env, args, timeout):
    cmd = [python, os.path.join(PEERS, f"{case}.py")] + args
    rc, out, err, rss, _ = run_child(cmd, env, timeout)
    if rc != 0:
        raise RuntimeError(f"peer {case} failed (rc {rc}): {err.strip()[-800:]}")
    lines = [l for l in out.splitlines() if l.strip().startswith("{")]
    if not lines:
        raise RuntimeError(f"peer {case}: no JSON line in its output")
    res = json.loads(lines[-1])
    return res["seconds_per_iter"], rss, res


def fmt_ms(s):
    if s is None:
        return "—"
    ms = s * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build-bench"),
                    help="CMake build directory holding bench/mmalign_bench (default: build-bench)")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated case names (default: all)")
    ap.add_argument("--rounds", type=int, default=5, help="alternating runs per side (≥ 5 for SPEC §9)")
    ap.add_argument("--threads", type=int, default=2, help="threads for both sides (default 2)")
    ap.add_argument("--min-time", type=float, default=None,
                    help="override mmalign's --benchmark_min_time (seconds) for every case")
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable,
                    help="Python with torch for the peers (default /usr/bin/python3)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds allowed per child process")
    ap.add_argument("--markdown-out", help="also write the table (and details) to this file")
    ap.add_argument("--json-out", help="write every sample as JSON to this file")
    args = ap.parse_args()

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; known: {list(CASES)}")
    if args.rounds < 1:
        ap.error("--rounds must be ≥ 1")

    env = dict(os.environ)
    env["MMALIGN_THREADS"] = str(args.threads)
    env["OMP_NUM_THREADS"] = str(args.threads)

    binary = os.path.join(os.path.abspath(args.build), "bench", "mmalign_bench")
    built = set()
    if os.access(binary, os.X_OK):
        try:
            built = list_mmalign_cases(binary, env)
        except RuntimeError as e:
            print(f"warning: {e}", file=sys.stderr)
    else:
        print(f"warning: {binary} not found: every case is reported as not built", file=sys.stderr)

    results = {}
    load_start = os.getloadavg()[0]
    t_start = time.monotonic()
    for case in cases:
        knobs = KNOBS[case]
        min_time = args.min_time if args.min_time is not None else knobs["min_time"]
        r = {"mm": [], "pt": [], "mm_rss": [], "pt_rss": [], "mm_extra": {}, "pt_extra": {}, "status": "ok",
             "notes": []}
        results[case] = r
        has_mm = case in built
        has_pt = os.path.exists(os.path.join(PEERS, f"{case}.py"))
        if not has_mm:
            r["status"] = "not built"
        print(f"[{time.monotonic() - t_start:6.0f}s] {case}: mmalign {'yes' if has_mm else 'not built'}, "
              f"peer {'yes' if has_pt else 'missing'}", file=sys.stderr, flush=True)
        for rnd in range(args.rounds):
            order = ["mm", "pt"] if rnd % 2 == 0 else ["pt", "mm"]
            for side in order:
                try:
                    if side == "mm" and has_mm:
                        s, rss, extra, iters = run_mmalign(binary, case, env, min_time, args.timeout)
                        r["mm"].append(s)
                        r["mm_rss"].append(rss)
                        r["mm_extra"] = extra
                        print(f"    round {rnd + 1} mmalign {s * 1e3:9.3f} ms ({iters} it)", file=sys.stderr, flush=True)
                    elif side == "pt" and has_pt:
                        s, rss, res = run_peer(args.python, case, env, knobs["peer"], args.timeout)
                        r["pt"].append(s)
                        r["pt_rss"].append(rss)
                        r["pt_extra"] = {k: v for k, v in res.items()
                                         if k in ("bytes_per_second", "us_per_op", "gflops")}
                        print(f"    round {rnd + 1} PyTorch {s * 1e3:9.3f} ms", file=sys.stderr, flush=True)
                except RuntimeError as e:
                    msg = str(e).splitlines()[-1] if str(e) else repr(e)
                    r["notes"].append(f"{side}: {msg}")
                    print(f"    error: {e}", file=sys.stderr, flush=True)
                    if side == "mm":
                        has_mm = False
                        r["status"] = "failed"
                    else:
                        has_pt = False
    total = time.monotonic() - t_start
    load_end = os.getloadavg()[0]

    lines = ["| case | mmalign (ms) | PyTorch (ms) | ratio (mmalign/PyTorch) | target | met? |",
             "|---|---:|---:|---:|---:|:---:|"]
    details = []
    for case in cases:
        r = results[case]
        mm = statistics.median(r["mm"]) if r["mm"] else None
        pt = statistics.median(r["pt"]) if r["pt"] else None
        target = CASES[case]
        if mm is not None and pt is not None:
            ratio = mm / pt
            ratio_s, met = f"{ratio:.2f}", ("yes" if ratio <= target else "no")
        else:
            ratio_s, met = "—", (r["status"] if mm is None else "no peer")
        lines.append(f"| {case} | {fmt_ms(mm) if mm is not None else r['status']} | {fmt_ms(pt)} | "
                     f"{ratio_s} | ≤ {target:g} | {met} |")
        d = [f"- `{case}`: mmalign samples (ms) {[round(x * 1e3, 2) for x in r['mm']]}, "
             f"PyTorch samples (ms) {[round(x * 1e3, 2) for x in r['pt']]}"]
        if r["mm"] and len(r["mm"]) == len(r["pt"]):
            # Ratio within each round (both sides measured minutes apart at most): a check on the
            # ratio of medians when the machine's load changes during the run.
            paired = statistics.median(m / p for m, p in zip(r["mm"], r["pt"]))
            d.append(f"median of per-round ratios {paired:.2f}")
        if r["mm"] and r["pt"]:
            # Fastest sample of each side: the least disturbed by other processes on a shared machine.
            d.append(f"ratio of the fastest samples {min(r['mm']) / min(r['pt']):.2f}")
        if r["mm_rss"] and r["pt_rss"]:
            d.append(f"peak RSS mmalign {max(r['mm_rss']):.0f} MB, PyTorch {max(r['pt_rss']):.0f} MB")
        if case == "add_16M":
            nbytes = 3 * 4 * (1 << 24)
            if mm:
                d.append(f"mmalign {nbytes / mm / 1e9:.2f} GB/s")
            if pt:
                d.append(f"PyTorch {nbytes / pt / 1e9:.2f} GB/s")
        if case == "tiny_ops_10k":
            if mm:
                d.append(f"mmalign {mm / 10000 * 1e6:.2f} µs/op")
            if pt:
                d.append(f"PyTorch {pt / 10000 * 1e6:.2f} µs/op")
        if case == "matmul_1024":
            fl = 2 * 1024 ** 3
            if mm:
                d.append(f"mmalign {fl / mm / 1e9:.0f} GFLOP/s")
            if pt:
                d.append(f"PyTorch {fl / pt / 1e9:.0f} GFLOP/s")
        if case.startswith("image_pipeline_"):
            per_iter = 2 if case.endswith("2t") else 1
            if mm:
                d.append(f"mmalign {per_iter / mm:.0f} images/s")
            if pt:
                d.append(f"PIL/torchvision {per_iter / pt:.0f} images/s")
        if case == "conv_resnet18_3x3":
            fl = sum(3 * 2 * 32 * c * hw * hw * c * 9 for c, hw in ((64, 56), (128, 28), (256, 14), (512, 7)))
            if mm:
                d.append(f"mmalign {fl / mm / 1e9:.0f} GFLOP/s")
            if pt:
                d.append(f"PyTorch {fl / pt / 1e9:.0f} GFLOP/s")
        for n in r["notes"]:
            d.append(f"note: {n}")
        details.append("; ".join(d))

    table = "\n".join(lines)
    print(table)
    summary = (f"{args.rounds} alternating rounds per side, {args.threads} threads, medians; total {total:.0f} s; "
               f"1-min load average {load_start:.1f} at the start, {load_end:.1f} at the end; "
               f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}.")
    print("\n" + summary, flush=True)
    if args.markdown_out:
        with open(args.markdown_out, "w") as f:
            f.write(table + "\n\n")
            f.write(summary + "\n\n")
            f.write("\n".join(details) + "\n")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"threads": args.threads, "rounds": args.rounds, "total_seconds": total,
                       "loadavg_start": load_start, "loadavg_end": load_end, "results": results},
                      f, indent=1)


if __name__ == "__main__":
    main()
