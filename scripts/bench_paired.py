#!/usr/bin/env python3
"""Alternated rounds of `einsum!` against every competitor on a few workloads, for a noisy machine.

A full run (`cargo bench --bench workloads`, then `compare_numpy.py`) times each contender once, the
Python side minutes after the Rust side, so a row within a few percent of 1.0 can land on either
side of it by the machine's drift alone. This script times the chosen workloads in rounds: each
round runs the criterion bench binary (short criterion settings) and `compare_numpy.py` on the same
workloads, one right after the other, the first side alternating from round to round, and takes
the ratio `einsum! / contender` within the round. It prints, per workload, dtype and thread count,
the median of the per-round ratios (and their range) against the best einsum-capable competitor
(numpy.einsum with and without optimize, opt_einsum, jax.jit einsum, ndarray-einsum) and against
each reference route of the Rust bench (gemm by hand, hand loops, ndarray ...). Below 1: `einsum!`
is faster.

Usage (the bench binary as `scripts/bench_ab.py` takes it):
    cargo bench --bench workloads --no-run   # prints the binary: target/release/deps/workloads-<hash>
    scripts/.venv/bin/python scripts/bench_paired.py target/release/deps/workloads-<hash> \\
        --workloads outer-2048,matmul-1024 --threads 1 --rounds 6
    (`--no-python` for the Rust side alone, e.g. `einsum!` against the `gemm` crate by hand.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_ab import medians  # noqa: E402

# Contenders of the Rust bench that are einsum implementations besides `einsum!`.
RUST_EINSUMS = {"ndarray-einsum"}


def rust_side(binary: str, workloads: list[str], threads: int) -> dict[tuple[str, str], dict[str, float]]:
    """Criterion medians (µs) of one run, by (workload, dtype) and contender."""
    pattern = f"^({'|'.join(workloads)}) f(32|64) {threads}t/"
    out: dict[tuple[str, str], dict[str, float]] = {}
    for name, us in medians(binary, pattern, ["--warm-up-time", "0.5", "--measurement-time", "2"]).items():
        group, contender = name.split("/", 1)
        workload, dtype, _ = group.split(" ")
        out.setdefault((workload, dtype), {})[contender] = us
    return out


def python_side(workloads: list[str], threads: int) -> dict[tuple[str, str], dict[str, float]]:
    """`compare_numpy.py` medians (µs) of one run, by (workload, dtype) and competitor."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for w in workloads:
            path = Path(tmp) / f"{w}.json"
            subprocess.run(
                [sys.executable, str(HERE / "compare_numpy.py"), "--threads", str(threads), "--filter", w,
                 "--out", str(path)],
                check=True,
                capture_output=True,
            )
            for r in json.loads(path.read_text())["results"]:
                if r["workload"] == w:
                    out.setdefault((w, r["dtype"]), {})[r["competitor"]] = r["median_ns"] / 1e3
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary", help="the criterion binary of benches/workloads.rs")
    ap.add_argument("--workloads", required=True, help="comma-separated workload ids, e.g. outer-2048")
    ap.add_argument("--threads", type=int, choices=(1, 2), default=1)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--no-python", action="store_true",
                    help="only the Rust bench (its reference routes and ndarray-einsum)")
    args = ap.parse_args()
    workloads = args.workloads.split(",")

    # (workload, dtype) -> contender -> per-round ratios einsum! / contender; "best einsum" too.
    ratios: dict[tuple[str, str], dict[str, list[float]]] = {}
    times: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        sides = [lambda: rust_side(args.binary, workloads, args.threads),
                 lambda: {} if args.no_python else python_side(workloads, args.threads)]
        if r % 2:
            sides.reverse()
        first, second = sides[0](), sides[1]()
        rust, py = (first, second) if r % 2 == 0 else (second, first)
        for key, contenders in rust.items():
            ours = contenders.pop("einsum", None)
            if ours is None:
                continue
            times.setdefault(key, []).append(ours)
            einsums = {k: v for k, v in contenders.items() if k in RUST_EINSUMS}
            einsums.update(py.get(key, {}))
            row = ratios.setdefault(key, {})
            if einsums and not args.no_python:
                row.setdefault("best einsum competitor", []).append(ours / min(einsums.values()))
            for k, v in {**contenders, **py.get(key, {})}.items():
                row.setdefault(k, []).append(ours / v)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    print(f"{args.rounds} alternated rounds, {args.threads} thread(s); ratio = einsum! / contender, "
          "median of the rounds [range]")
    for key in sorted(ratios):
        workload, dtype = key
        print(f"{workload} {dtype}: einsum! median {statistics.median(times[key]):.1f} µs")
        for k, rs in sorted(ratios[key].items(), key=lambda kv: statistics.median(kv[1])):
            print(f"    {k:26s} {statistics.median(rs):6.3f} [{min(rs):.2f}..{max(rs):.2f}]")


if __name__ == "__main__":
    main()
