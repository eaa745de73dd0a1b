#!/usr/bin/env python3
"""Merges `cargo bench --bench workloads` and `compare_numpy.py` results into markdown and a chart.

Reads the criterion medians under `<target>/criterion/**/new/{benchmark,estimates}.json` (groups
named `"<workload> <dtype> <threads>t"`, see `benches/workloads.rs`) and the JSON files written by
`compare_numpy.py`, and prints two markdown tables:

1. per workload, dtype and thread count: `einsum!`'s median and throughput, the fastest
   einsum-capable competitor (numpy.einsum with and without optimize, opt_einsum, jax.jit einsum,
   ndarray-einsum) and the ratio `einsum! / best` (below 1: `einsum!` is faster), and the same for the
   fastest route that is not an einsum (gemm by hand, ndarray dot or other ndarray methods, hand loops);
2. every contender's median.

Throughput is GFLOP/s (2*m*n*k per product) or GB/s (bytes read and written by an ideal
implementation), from `bench_workloads.py`. With `--png`, draws the throughputs as grouped bars
(matplotlib, from the benchmark venv).

Usage: scripts/.venv/bin/python scripts/bench_table.py --python target/python-1t.json \
           --python target/python-2t.json --png docs/benchmarks.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_workloads import BY_ID, EINSUM_COMPETITORS, WORKLOADS  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ITEMSIZE = {"f32": 4, "f64": 8}
OURS = "einsum"
# Column order of the full table and the chart.
PY = ["numpy.einsum", "numpy.einsum optimize", "opt_einsum", "jax.jit einsum"]


def load_criterion(criterion: Path, results: dict) -> None:
    for est in sorted(criterion.glob("**/new/estimates.json")):
        meta = json.loads((est.parent / "benchmark.json").read_text())
        parts = meta["group_id"].split(" ")
        if len(parts) != 3 or parts[0] not in BY_ID or not parts[2].endswith("t"):
            continue  # another bench's group
        key = (parts[0], parts[1], int(parts[2][:-1]))
        ns = json.loads(est.read_text())["median"]["point_estimate"]
        results.setdefault(key, {})[meta["function_id"]] = ns
        # Cross-check the recorded work with bench_workloads.py.
        tp = meta.get("throughput") or {}
        w = BY_ID[parts[0]]
        want = w.work(ITEMSIZE[parts[1]])
        got = tp.get("Elements", tp.get("Bytes"))
        if got is not None and got != want:
            raise SystemExit(f"{meta['group_id']}: the bench records work {got}, bench_workloads.py {want}")


def load_python(paths: list[Path], results: dict) -> list[dict]:
    metas = []
    for p in paths:
        data = json.loads(p.read_text())
        metas.append(data["meta"])
        for r in data["results"]:
            results.setdefault((r["workload"], r["dtype"], r["threads"]), {})[r["competitor"]] = r["median_ns"]
    return metas


def fmt_time(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def throughput(key, ns: float) -> float:
    """GFLOP/s or GB/s (both work / ns)."""
    w = BY_ID[key[0]]
    return w.work(ITEMSIZE[key[1]]) / ns


def unit(key) -> str:
    return "GFLOP/s" if BY_ID[key[0]].kind == "flops" else "GB/s"


def ordered_keys(results: dict) -> list:
    order = {w.id: i for i, w in enumerate(WORKLOADS)}
    return sorted(results, key=lambda k: (order[k[0]], k[2], k[1]))


def summary(results: dict) -> None:
    print("| workload | dtype | threads | einsum! | throughput | best einsum competitor | its median | "
          "einsum! / it | best other route | its median | einsum! / it |")
    print("|---|---|---:|---:|---:|---|---:|---:|---|---:|---:|")
    for key in ordered_keys(results):
        r = results[key]
        ours = r.get(OURS)
        if ours is None:
            continue
        einsums = {k: v for k, v in r.items() if k in EINSUM_COMPETITORS}
        others = {k: v for k, v in r.items() if k not in EINSUM_COMPETITORS and k != OURS}
        cells = [BY_ID[key[0]].title, key[1], str(key[2]), fmt_time(ours),
                 f"{throughput(key, ours):.3g} {unit(key)}"]
        for group in (einsums, others):
            if group:
                name, ns = min(group.items(), key=lambda kv: kv[1])
                ratio = ours / ns
                cells += [name, fmt_time(ns), f"**{ratio:.2f}**" if ratio <= 1 else f"{ratio:.2f}"]
            else:
                cells += ["", "", ""]
        print("| " + " | ".join(cells) + " |")


def full(results: dict) -> None:
    # At most one ndarray routine per group (dot, sum(), diag()..., t()...): one column for them.
    nd = "ndarray routine"
    results = {key: {(nd if k.startswith("ndarray ") else k): v for k, v in r.items()} for key, r in results.items()}
    rust_others = sorted({k for r in results.values() for k in r} - set(EINSUM_COMPETITORS) - {OURS, nd})
    cols = [OURS, "ndarray-einsum", *PY, *rust_others, nd]
    print("| workload | dtype | threads | " + " | ".join("einsum!" if c == OURS else c for c in cols) + " |")
    print("|---|---|---:|" + "---:|" * len(cols))
    for key in ordered_keys(results):
        r = results[key]
        cells = [BY_ID[key[0]].title, key[1], str(key[2])]
        cells += [fmt_time(r[c]) if c in r else "" for c in cols]
        print("| " + " | ".join(cells) + " |")


def chart(results: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    series = [(OURS, "einsum! (this crate)"), ("ndarray-einsum", "ndarray-einsum"),
              ("numpy.einsum", "numpy.einsum"), ("numpy.einsum optimize", "numpy.einsum optimize=True"),
              ("opt_einsum", "opt_einsum"), ("jax.jit einsum", "jax.jit(jnp.einsum)"),
              ("__other__", "best non-einsum Rust route")]
    colors = ["#d62728", "#8c564b", "#1f77b4", "#17becf", "#2ca02c", "#9467bd", "#7f7f7f"]
    fig, axes = plt.subplots(2, 2, figsize=(18, 11), gridspec_kw={"width_ratios": [1, 1]})
    for row, kind in enumerate(("flops", "bytes")):
        for col, dtype in enumerate(("f32", "f64")):
            ax = axes[row][col]
            keys = [k for k in ordered_keys(results) if k[1] == dtype and BY_ID[k[0]].kind == kind]
            width = 0.8 / len(series)
            for s, ((name, label), color) in enumerate(zip(series, colors)):
                xs, ys = [], []
                for i, key in enumerate(keys):
                    r = results[key]
                    if name == "__other__":
                        others = [v for k, v in r.items() if k not in EINSUM_COMPETITORS and k != OURS]
                        ns = min(others) if others else None
                    else:
                        ns = r.get(name)
                    if ns:
                        xs.append(i - 0.4 + width * (s + 0.5))
                        ys.append(throughput(key, ns))
                ax.bar(xs, ys, width, label=label, color=color,
                       edgecolor="black" if name == OURS else None, linewidth=0.6)
            ax.set_xticks(range(len(keys)))
            ax.set_xticklabels([f"{BY_ID[k[0]].id}\n{k[2]} thread{'s' if k[2] > 1 else ''}" for k in keys],
                               rotation=35, ha="right", fontsize=9)
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_ylabel("GFLOP/s (2·m·n·k per product)" if kind == "flops" else "GB/s (bytes read + written)")
            ax.set_title(f"{'GEMM-shaped' if kind == 'flops' else 'memory-bound'} workloads, {dtype} "
                         "(higher is better, log scale)")
            ax.grid(axis="y", which="both", alpha=0.3)
            ax.set_axisbelow(True)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(series), fontsize=10, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target-dir", type=Path, default=Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")))
    ap.add_argument("--python", type=Path, action="append", default=[], help="compare_numpy.py output")
    ap.add_argument("--png", type=Path, help="write the chart here")
    opts = ap.parse_args()
    results: dict = {}
    load_criterion(opts.target_dir / "criterion", results)
    metas = load_python(opts.python, results)
    if not results:
        raise SystemExit("no results: run `cargo bench --bench workloads` and compare_numpy.py first")
    for m in metas:
        print(f"Python {m['python']}, numpy {m['numpy']} ({m.get('numpy_blas')}), opt_einsum {m['opt_einsum']}, "
              f"jax {m['jax']}; {m['threads']} thread(s), XLA_FLAGS={m['xla_flags']}")
    print()
    summary(results)
    print()
    full(results)
    if opts.png:
        chart(results, opts.png)


if __name__ == "__main__":
    main()
