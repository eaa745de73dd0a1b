#!/usr/bin/env python3
"""A/B of two criterion bench binaries, alternated, for a noisy machine.

Runs binary A and binary B (e.g. `target/release/deps/workloads-*` built on two commits, copied
aside) in turn, `--rounds` times, with the same criterion filter, the first side alternating from
round to round. Each run is a short criterion run (`--warm-up-time 0.3 --measurement-time 1`
unless `--criterion` says otherwise); the script reads each benchmark's median from criterion's
output and prints, per benchmark, the median of A's medians, the median of B's, and the median and
range of the per-round ratios B / A. A ratio taken within a round compares two runs made seconds
apart, so the machine's slow drifts cancel out of it.

Usage:
    cp target/release/deps/workloads-<hash> /tmp/wl-a      # on the base commit
    cp target/release/deps/workloads-<hash> /tmp/wl-b      # on the change
    python3 scripts/bench_ab.py /tmp/wl-a /tmp/wl-b '^(sum|inner)-2048 f(32|64) 1t/einsum$' --rounds 8

Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess

UNITS = {"ps": 1e-6, "ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}
SKIP = ("Benchmarking", "Found", "Warning", "change", "Gnuplot")


def medians(binary: str, bench_filter: str, criterion: list[str]) -> dict[str, float]:
    """Criterion's median per benchmark id of one run of `binary`, in microseconds."""
    out = subprocess.run(
        [binary, "--bench", bench_filter, "--noplot", *criterion],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = {}
    name = None
    for line in out.splitlines():
        if line and not line[0].isspace() and not line.startswith(SKIP):
            # Either `id` alone on its line (long ids) or `id   time: [...]`.
            head = line.split("time:")[0].strip()
            if head:
                name = head
        t = re.search(r"time:\s*\[(\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\]", line)
        if t and name:
            result[name] = float(t.group(3)) * UNITS[t.group(4)]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="bench binary A (the base)")
    ap.add_argument("b", help="bench binary B (the change)")
    ap.add_argument("filter", help="criterion filter (a regular expression on benchmark ids)")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument(
        "--criterion",
        default="--warm-up-time 0.3 --measurement-time 1",
        help="options passed to each criterion run",
    )
    args = ap.parse_args()
    criterion = args.criterion.split()
    runs: dict[str, tuple[list[float], list[float]]] = {}
    for r in range(args.rounds):
        sides = [(0, args.a), (1, args.b)]
        for side, binary in sides if r % 2 == 0 else sides[::-1]:
            for name, t in medians(binary, args.filter, criterion).items():
                runs.setdefault(name, ([], []))[side].append(t)
    for name, (a, b) in runs.items():
        ratios = [y / x for x, y in zip(a, b)]
        if not ratios:
            continue
        print(
            f"{name:50s} A {statistics.median(a):10.3f} µs  B {statistics.median(b):10.3f} µs  "
            f"B/A {statistics.median(ratios):.3f} [{min(ratios):.2f}..{max(ratios):.2f}]"
        )


if __name__ == "__main__":
    main()
