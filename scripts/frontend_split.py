#!/usr/bin/env python3
"""Where rustc's front end spends its work on the `einsum!` probe of `scripts/compile_time.py`,
counted in instructions (Valgrind's cachegrind), so that the split has no noise. Standard library
only (Python 3.11); needs `valgrind` and the probes of `scripts/compile_time.py` (it writes them
if they are missing, in the same directory).

Every count is one non-incremental `cargo check` (the front end only: expansion, name resolution,
type and borrow checking, no code generation) after a touch, with rustc under cachegrind:

    probe0_baseline, probe1_einsum, probe3_hand   the probes themselves
    expanded        probe1's expansion (`-Zunpretty=expanded`) as source: probe1 without running
                    the macro
    no forward      `expanded`, each generated forward kernel's body replaced by `loop {}`
    no kernels      `no forward`, each generated gradient function's body replaced too
    for / while     100 generic functions with the same generated inner loop, written with `for`
                    and with a counted `while`
    match / ?       100 functions with the same fallible runtime call, unwrapped with the `match`
                    the macro writes and with `?`

The differences give the share of running the macro, of the forward kernels' bodies and of the
gradient functions' bodies, and the cost of one `for` loop and of one `?` (per function: the
difference over 100).

Usage: python3 scripts/frontend_split.py [--dir DIR]   (about 3 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compile_time as ct  # noqa: E402  (the probes, `cargo`, the cachegrind wrapper)

# Lines of `-Zunpretty=expanded` output that only compile with a nightly feature.
PRELUDE = re.compile(r"^(#!\[feature\(prelude_import\)\]|extern crate std;|#\[prelude_import\]|"
                     r"use std::prelude::rust_20\d\d::\*;)$")


def stub_bodies(src: str, signature: str) -> str:
    """`src` with the body of every function whose signature starts with the regex `signature`
    replaced by `loop {}`. The body is the first `{` after the signature's `->` at bracket depth 0,
    through its matching `}` (generated code has no braces in strings or comments)."""
    out, i = [], 0
    for m in re.finditer(signature, src):
        if m.start() < i:
            continue
        j, depth = src.index("->", m.end()) + 2, 0
        while not (src[j] == "{" and depth == 0):
            depth += {"(": 1, "<": 1, "[": 1, ")": -1, ">": -1, "]": -1}.get(src[j], 0)
            j += 1
        k, depth = j + 1, 1
        while depth:
            depth += {"{": 1, "}": -1}.get(src[k], 0)
            k += 1
        out.append(src[i:j] + "{ loop {} }")
        i = k
    out.append(src[i:])
    return "".join(out)


def constructs() -> dict[str, str]:
    """The four micro crates: each construct in 100 generic functions."""
    head = "#![allow(unused)]\nuse ::einsum_runtime::__private as rt;\n"
    loop_sig = ("pub fn f{k}<T: rt::LinalgScalar>(v: rt::Input<'_, T>, w: rt::Input<'_, T>, n: usize, "
                "m: usize) {{ let x = rt::View::new(&v, [0, 1], [n, m]); "
                "let y = rt::View::new(&w, [0, 1], [n, m]); let mut d: Vec<T> = Vec::new(); "
                "let dst = &mut d; {body} }}\n")
    step = "rt::push_mul(dst, x.lane([i, 0], 1), y.lane([i, 0], 1));"
    loops = {
        "for": f"for i in 0..n {{ {step} }}",
        "while": f"{{ let mut i = 0usize; while i < n {{ {step} i += 1; }} }}",
    }
    call_sig = ("pub fn f{k}<T>(n: usize) -> ::core::result::Result<(), rt::EinsumError> "
                "{{ let d: Vec<T> = {body}; ::core::result::Result::Ok(()) }}\n")
    call = 'rt::buffer("ij->ij", [n, n])'
    calls = {
        "match": f"match {call} {{ ::core::result::Result::Ok(o) => o, "
                 f"::core::result::Result::Err(e) => return ::core::result::Result::Err(e), }}",
        "question": f"{call}?",
    }
    crates = {}
    for name, body in loops.items():
        crates[name] = head + "".join(loop_sig.format(k=k, body=body) for k in range(100))
    for name, body in calls.items():
        crates[name] = head + "".join(call_sig.format(k=k, body=body) for k in range(100))
    return crates


def counted_check(root: Path, crate_dir: Path, crate: str) -> int:
    """Instructions of one non-incremental `cargo check` of `crate` (in `crate_dir`) after a touch."""
    manifest = ["--manifest-path", str(crate_dir / "Cargo.toml")]
    ct.cargo(root, ["check", "--offline", "-q", *manifest])  # dependencies
    (crate_dir / "src" / "lib.rs").touch()
    return ct.counted_cargo(root, crate, ["check", "--offline", "-q", *manifest], f"check.{crate}")


def write_crate(split: Path, name: str, source: str) -> Path:
    d = split / name
    (d / "src").mkdir(parents=True, exist_ok=True)
    runtime = ct.REPO / "einsum-runtime"
    ct.write_if_changed(d / "Cargo.toml", f'[package]\nname = "{name}"\nversion = "0.0.0"\n'
                        f'edition = "2021"\npublish = false\n\n[dependencies]\nndarray = "0.17"\n'
                        f'einsum-runtime = {{ path = "{runtime}" }}\n\n[workspace]\n')
    if not (d / "Cargo.lock").exists():
        shutil.copy(ct.REPO / "Cargo.lock", d / "Cargo.lock")
    ct.write_if_changed(d / "src" / "lib.rs", source)
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=ct.REPO / "target" / "compile-probe")
    opts = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("needs valgrind (e.g. `apt-get install valgrind`)")
    root = opts.dir.resolve()
    ct.write_workspace(root)
    split = root / "frontend-split"

    expanded = "\n".join(line for line in ct.expanded(root, "probe1_einsum").splitlines()
                         if not PRELUDE.match(line)) + "\n"
    no_forward = stub_bodies(expanded, r"fn __einsum_forward<")
    no_kernels = stub_bodies(no_forward, r"fn __einsum_grad\d+<")
    sources = {"expanded": expanded, "no_forward": no_forward, "no_kernels": no_kernels}
    sources.update({f"construct_{k}": v for k, v in constructs().items()})

    counts: dict[str, int] = {}
    for probe in ("probe0_baseline", "probe1_einsum", "probe3_hand"):
        counts[probe] = counted_check(root, root / probe, probe)
    for name, source in sources.items():
        crate = f"split_{name}"
        counts[name] = counted_check(root, write_crate(split, crate, source), crate)

    g = {k: v / 1e9 for k, v in counts.items()}
    total = g["probe1_einsum"]
    print("Instructions of a non-incremental `cargo check` after a touch, in billions:\n")
    print("| crate | instructions |\n|---|---:|")
    for name in ("probe0_baseline", "probe3_hand", "probe1_einsum", "expanded", "no_forward",
                 "no_kernels"):
        print(f"| {name} | {g[name]:.3f} |")
    print(f"\nShares of probe1_einsum's {total:.3f}:")
    print(f"- running the macro (probe1 - expanded): {(g['probe1_einsum'] - g['expanded']) / total:.1%}")
    print(f"- forward kernels' bodies (expanded - no_forward): {(g['expanded'] - g['no_forward']) / total:.1%}")
    print(f"- gradient functions' bodies (no_forward - no_kernels): "
          f"{(g['no_forward'] - g['no_kernels']) / total:.1%}")
    print(f"- the rest: call sites, signatures, the crate (no_kernels): {g['no_kernels'] / total:.1%}")
    per = lambda a, b: (counts[a] - counts[b]) / 100 / 1e6  # noqa: E731
    print(f"\nPer function (millions of instructions): a `for` loop over a `while` loop "
          f"{per('construct_for', 'construct_while'):+.2f}; `?` over `match` "
          f"{per('construct_question', 'construct_match'):+.2f}")


if __name__ == "__main__":
    main()
