#!/usr/bin/env python3
"""Sizes of the functions in an LLVM IR file (`.ll`), grouped the way `docs/benchmarks.md` reports
them for the probes of `scripts/compile_time.py`. Standard library only (Python 3.11).

A function's size is the number of lines between its `define` and its closing `}`. Functions are
grouped by their (mangled) name: the generated kernels of the probes (`__einsum_forward`,
`__einsum_back`, `__einsum_grads` and `__einsum_gradN`, the last two only when not inlined), then
everything else by the Rust path with hashes and probe function numbers removed.

Make the file, for example, with

    cd target/compile-probe/probe2_vjp && touch src/lib.rs && CARGO_INCREMENTAL=0 \\
        cargo rustc --release --lib -- --emit=llvm-ir -C codegen-units=1

(the file is then `target/compile-probe/target/release/deps/probe2_vjp-*.ll`; without `--release`,
under `target/debug/deps`).

Usage: python3 scripts/ir_lines.py FILE.ll [--top N] [--function SUBSTRING]
  --top N               the N largest groups (default 12)
  --function SUBSTRING  also print the size of every function whose mangled name contains it
"""

from __future__ import annotations

import argparse
import collections
import re

KERNEL = re.compile(r"__einsum_(forward|back|grads|grad\d+)")


def sizes(path: str) -> dict[str, int]:
    """Lines per function (mangled name) of an `.ll` file."""
    out: dict[str, int] = {}
    name, count = None, 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("define"):
                m = re.search(r'@"?([^"(]+)"?\(', line)
                name, count = (m.group(1) if m else line), 0
            elif line.startswith("}") and name is not None:
                out[name] = out.get(name, 0) + count
                name = None
            elif name is not None:
                count += 1
    return out


def group(name: str) -> str:
    """The group of a mangled function name."""
    m = KERNEL.search(name)
    if m:
        kind = re.sub(r"\d+$", "N", m.group(1)) if m.group(1).startswith("grad") else m.group(1)
        return f"generated __einsum_{kind}"
    key = re.sub(r"17h[0-9a-f]{16}E$", "", name)
    return re.sub(r"\d+", "#", key)[:120]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--function", action="append", default=[])
    args = ap.parse_args()
    per_fn = sizes(args.file)
    groups: collections.Counter[str] = collections.Counter()
    for name, n in per_fn.items():
        groups[group(name)] += n
    print(f"total: {sum(per_fn.values())} lines in {len(per_fn)} functions")
    for g, n in groups.most_common(args.top):
        print(f"{n:8d}  {g}")
    for sub in args.function:
        for name, n in sorted(per_fn.items()):
            if sub in name:
                print(f"{n:8d}  {name}")


if __name__ == "__main__":
    main()
