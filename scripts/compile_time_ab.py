#!/usr/bin/env python3
"""Compares the compile time of the macros between two checkouts, interleaved. Standard library only.

Both checkouts must already have their probe crates (run `python3 scripts/compile_time.py --runs 1`
in each once; a `git worktree add ../base REV` gives a second checkout). Each round rebuilds, for
every cell (profile, probe), the probe of one checkout and then the same probe of the other after
`touch src/lib.rs`, with `CARGO_INCREMENTAL=0`, alternating which checkout goes first, so that a
change in the machine's load falls on both sides alike. It prints, per cell, the median wall time of
each side, the median of the per-round differences (B - A), and the time added over
`probe0_baseline` (median of the per-round differences); then the same for the CPU time (user +
system of cargo and rustc), which other processes on a busy machine disturb less.

Usage: python3 scripts/compile_time_ab.py A B [--runs 6] [--dir target/compile-probe]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import time
from pathlib import Path

CELLS = [
    ("dev", "probe0_baseline"),
    ("dev", "probe1_einsum"),
    ("dev", "probe2_vjp"),
    ("dev", "probe3_hand"),
    ("release", "probe0_baseline"),
    ("release", "probe1_einsum"),
    ("release", "probe2_vjp"),
    ("release", "probe3_hand"),
]


def rebuild(workspace: Path, profile: str, probe: str) -> tuple[float, float]:
    """Wall time and CPU time (user + system of cargo and rustc) of one rebuild after a touch."""
    (workspace / probe / "src" / "lib.rs").touch()
    cmd = ["cargo", "build", "-q", "-p", probe] + (["--release"] if profile == "release" else [])
    env = dict(os.environ, CARGO_INCREMENTAL="0")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=workspace, env=env, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def table(times: dict[tuple[int, str, str], list[float]]) -> None:
    print("| profile | probe | A median | B median | B - A (median of rounds) | A added | B added |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for profile, probe in CELLS:
        a, b = times[(0, profile, probe)], times[(1, profile, probe)]
        base_a, base_b = times[(0, profile, "probe0_baseline")], times[(1, profile, "probe0_baseline")]
        diff = statistics.median(y - x for x, y in zip(a, b))
        added_a = statistics.median(x - z for x, z in zip(a, base_a))
        added_b = statistics.median(y - z for y, z in zip(b, base_b))
        print(
            f"| {profile} | {probe} | {statistics.median(a):.2f} | {statistics.median(b):.2f} | "
            f"{diff:+.2f} | {added_a:+.2f} | {added_b:+.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="checkout A (for example a worktree of the base revision)")
    parser.add_argument("b", type=Path, help="checkout B")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--dir", default="target/compile-probe", help="probe workspace, relative to each checkout")
    args = parser.parse_args()
    sides = [args.a.resolve() / args.dir, args.b.resolve() / args.dir]
    for side in sides:
        if not (side / "Cargo.toml").exists():
            raise SystemExit(f"{side} has no probes: run scripts/compile_time.py there first")
    # One untimed build of every cell, so that the dependencies are built on both sides.
    for profile, probe in CELLS:
        for side in sides:
            rebuild(side, profile, probe)
    times: dict[tuple[int, str, str], list[float]] = {}
    cpu: dict[tuple[int, str, str], list[float]] = {}
    for r in range(args.runs):
        order = [0, 1] if r % 2 == 0 else [1, 0]
        for profile, probe in CELLS:
            for s in order:
                wall, used = rebuild(sides[s], profile, probe)
                times.setdefault((s, profile, probe), []).append(wall)
                cpu.setdefault((s, profile, probe), []).append(used)
    print(f"A = {args.a}, B = {args.b}, {args.runs} rounds; wall time of a rebuild, seconds\n")
    table(times)
    print("\nCPU time of a rebuild (user + system of cargo and rustc), seconds\n")
    table(cpu)
    print("\nAll rounds (A / B):")
    for profile, probe in CELLS:
        a, b = times[(0, profile, probe)], times[(1, profile, probe)]
        print(f"  {profile:8} {probe:16} " + "  ".join(f"{x:.2f}/{y:.2f}" for x, y in zip(a, b)))
    print("\nAll rounds, CPU time (A / B):")
    for profile, probe in CELLS:
        a, b = cpu[(0, profile, probe)], cpu[(1, profile, probe)]
        print(f"  {profile:8} {probe:16} " + "  ".join(f"{x:.2f}/{y:.2f}" for x, y in zip(a, b)))


if __name__ == "__main__":
    main()
