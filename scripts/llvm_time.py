#!/usr/bin/env python3
"""Where LLVM spends its time in one crate's build, by function group. Standard library only.

Reads the Chrome trace that rustc writes with `-Z llvm-time-trace` (`<crate>-<hash>.llvm_timings.json`
next to the crate's outputs) and attributes every event's self time (its duration minus that of the
events nested in it, on the same thread) to the function it runs on: the event's own detail when that
names a function, else the nearest enclosing event's. Machine passes name the pass, not the function,
so they count for the function whose code generation encloses them. Functions are grouped as
`scripts/ir_lines.py` groups them for the probes of `scripts/compile_time.py`: generated forward
kernels, generated gradient functions, the probes' `vNN`/`pNN`/`run_all`, closures, the runtime's
generic helpers, and the rest; module-level work is `[module]`.

Make the trace, for example, with

    cd target/compile-probe/probe2_vjp && touch src/lib.rs && RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0 \\
        cargo rustc --release --lib -- -Z llvm-time-trace -C codegen-units=1

(one codegen unit, so that one thread does all of it), then

    python3 scripts/llvm_time.py target/compile-probe/target/release/deps/probe2_vjp-*.llvm_timings.json

Usage: python3 scripts/llvm_time.py FILE.json [--function REGEX] [--top N]
  --function REGEX  also print the seconds of each function whose mangled name matches
"""

from __future__ import annotations

import argparse
import collections
import json
import re


def group(name: str) -> str:
    """The group of a (mangled) function name."""
    m = re.search(r"__einsum_(forward|grad\d+)", name)
    if m:
        return "generated forward kernels" if m.group(1) == "forward" else "generated gradients"
    if re.search(r"probe\d_[a-z]+\d?v\d\d", name) or re.search(r"3v\d\d", name):
        return "probe vNN (einsum_vjp! call sites)"
    if re.search(r"3p\d\d", name):
        return "probe pNN (einsum! call sites)"
    if "run_all" in name:
        return "probe run_all"
    if name == "[module]":
        return "[module]"
    if "closure" in name or "FnOnce" in name:
        return "closures and their shims"
    if "einsum_runtime" in name:
        return "einsum-runtime generics"
    return "other (core, alloc, ndarray)"


def self_times(path: str) -> list[tuple[str, float]]:
    """(function, self seconds) of every complete event of the trace."""
    with open(path, encoding="utf-8") as f:
        events = [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X"]
    events.sort(key=lambda e: (e["tid"], e["ts"], -e["dur"]))
    own: dict[int, float] = collections.defaultdict(float)
    fn_of: dict[int, str] = {}
    stack: list[dict] = []
    for e in events:
        while stack and (stack[-1]["tid"] != e["tid"] or stack[-1]["ts"] + stack[-1]["dur"] <= e["ts"]):
            stack.pop()
        if stack:
            own[id(stack[-1])] -= e["dur"]
        own[id(e)] += e["dur"]
        detail = e.get("args", {}).get("detail", "")
        if detail and " " not in detail and detail != "[module]":
            fn_of[id(e)] = detail
        else:
            fn_of[id(e)] = next((fn_of[id(a)] for a in reversed(stack) if fn_of.get(id(a)) != "[module]"),
                                "[module]")
        stack.append(e)
    return [(fn_of[id(e)], own[id(e)] / 1e6) for e in events if not e["name"].startswith("Total")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace")
    parser.add_argument("--function", help="regex over mangled names: print each match's seconds")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    times = self_times(args.trace)
    by_group: collections.Counter[str] = collections.Counter()
    for fn, s in times:
        by_group[group(fn)] += s
    print(f"total: {sum(by_group.values()):.3f} s")
    for g, s in by_group.most_common():
        print(f"{s:8.3f}  {g}")
    if args.function:
        by_fn: collections.Counter[str] = collections.Counter()
        for fn, s in times:
            if re.search(args.function, fn):
                by_fn[fn] += s
        for fn, s in by_fn.most_common(args.top):
            print(f"{s:8.3f}  {fn}")


if __name__ == "__main__":
    main()
