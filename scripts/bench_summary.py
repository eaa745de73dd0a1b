#!/usr/bin/env python3
"""Summarizes the last `cargo bench --bench kernels` run as markdown. Standard library only.

Reads `<target>/criterion/**/new/{benchmark,estimates}.json` (target: `--target-dir`, else
`$CARGO_TARGET_DIR`, else `target/` of this repository) and prints, per group, the median time of
every function and its ratio to the group's `einsum` function, then the budgets of the issue with the
measured ratio and whether it is met.

Ratios follow the naming contract of `benches/kernels.rs`: for a competitor X the ratio is
einsum / X (below 1: einsum is faster); for `einsum_vjp ...` rows it is vjp / einsum (the cost of the
gradient in forwards).

Usage: python3 scripts/bench_summary.py [--target-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (group, numerator, denominator, budget, description): the acceptance numbers. A ratio
# `num / den` must be at most `budget`.
BUDGETS = [
    ("matmul 3x4 4x5", "einsum", "hand loops", 1.5, "tiny matmul: einsum / hand loops <= 1.5"),
    ("matmul 3x4 4x5", "einsum", "ndarray dot", 1.0, "tiny matmul: einsum / ndarray dot < 1"),
    ("matmul 16x16 16x16", "einsum", "ndarray dot", 1.0, "16x16 matmul: einsum / ndarray dot <= 1"),
    ("hadamard 256x256", "einsum", "ndarray &a * &b", 1.0, "hadamard: einsum / `&a * &b` <= 1"),
    ("transpose 256x256", "einsum", "ndarray t().as_standard_layout()", 1.0,
     "transpose: einsum / `t().as_standard_layout()` <= 1"),
]
# Printed beside the budgets, not as one: `t().to_owned()` copies the memory as it lies, so its result
# is the transpose in column-major order (a `memcpy`), while `einsum!`'s result is row-major by
# contract (DESIGN.md), the work that `t().as_standard_layout()` does.
REFERENCES = [
    ("transpose 256x256", "einsum", "ndarray t().to_owned()",
     "transpose: einsum / `t().to_owned()` (a column-major result: a plain copy, not the same work)"),
]
VJP_GROUPS = ["matmul 3x4 4x5", "matmul 16x16 16x16", "hadamard 256x256", "transpose 256x256"]
VJP_BUDGET = 2.5


def load(criterion: Path) -> dict[str, dict[str, float]]:
    """Median (ns) of every benchmark, by group then function."""
    groups: dict[str, dict[str, float]] = {}
    for est in sorted(criterion.glob("**/new/estimates.json")):
        meta = json.loads((est.parent / "benchmark.json").read_text())
        group = meta["group_id"]
        function = meta.get("function_id") or ""
        if meta.get("value_str"):
            function = f"{function} {meta['value_str']}".strip()
        groups.setdefault(group, {})[function] = json.loads(est.read_text())["median"]["point_estimate"]
    return groups


def fmt_time(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def ratio(groups: dict[str, dict[str, float]], group: str, num: str, den: str) -> float | None:
    g = groups.get(group, {})
    return g[num] / g[den] if num in g and den in g else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target-dir", type=Path,
                    default=Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")))
    opts = ap.parse_args()
    criterion = opts.target_dir / "criterion"
    groups = load(criterion)
    if not groups:
        raise SystemExit(f"no criterion results under {criterion}; run `cargo bench --bench kernels` first")

    newest = max(p.stat().st_mtime for p in criterion.glob("**/new/estimates.json"))
    head = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %s"], text=True,
                          capture_output=True).stdout.strip()
    print(f"Criterion results last written {time.strftime('%Y-%m-%d %H:%M', time.localtime(newest))}; "
          f"HEAD now: {head}\n")
    print("| group | function | median | ratio |\n|---|---|---:|---:|")
    # The groups first, then the others; in a group: einsum, competitors, vjp rows.
    order = sorted(groups, key=lambda g: (g not in VJP_GROUPS, VJP_GROUPS.index(g) if g in VJP_GROUPS else 0, g))
    for group in order:
        functions = groups[group]
        base = functions.get("einsum")
        rows = sorted(functions.items(), key=lambda kv: (kv[0] != "einsum", kv[0].startswith("einsum_vjp"), kv[0]))
        for function, ns in rows:
            if base is None or function == "einsum":
                r = ""
            elif function.startswith("einsum_vjp") or function.endswith("back by hand"):
                r = f"{ns / base:.2f}x einsum"
            else:
                r = f"einsum {base / ns:.2f}x"
            print(f"| {group} | {function} | {fmt_time(ns)} | {r} |")

    # Not a budget: how the vjp's backward compares with the same gradients written by hand.
    back = ratio(groups, "hadamard 256x256", "einsum_vjp back", "ndarray back by hand")
    if back is not None:
        print(f"\nhadamard: einsum_vjp back / ndarray back by hand = {back:.2f}")
    both = ratio(groups, "hadamard 256x256", "einsum_vjp forward+back", "ndarray forward+back by hand")
    if both is not None:
        print(f"hadamard: einsum_vjp forward+back / ndarray forward+back by hand = {both:.2f}")
    print("\n| budget (from the issue) | measured | met |\n|---|---:|:---:|")
    rows = [(desc, ratio(groups, g, n, d), b) for g, n, d, b, desc in BUDGETS]
    rows += [(desc, ratio(groups, g, n, d), None) for g, n, d, desc in REFERENCES]
    for g in VJP_GROUPS:
        rows.append((f"{g}: vjp back / forward <= {VJP_BUDGET}",
                     ratio(groups, g, "einsum_vjp back", "einsum"), VJP_BUDGET))
        # Not the budget's reading: forward plus backward is three products the size of the forward
        # for any two-operand einsum (docs/benchmarks.md, section 1), so it is printed for reference.
        rows.append((f"{g}: vjp forward+back / forward (reference; 3 products by construction)",
                     ratio(groups, g, "einsum_vjp forward+back", "einsum"), None))
    for desc, r, budget in rows:
        if r is None:
            print(f"| {desc} | missing | |")
        elif budget is None:
            print(f"| {desc} | {r:.2f} | |")
        else:
            print(f"| {desc} | {r:.2f} | {'yes' if r <= budget else 'no'} |")


if __name__ == "__main__":
    main()
