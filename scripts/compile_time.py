#!/usr/bin/env python3
"""Measures what `einsum!` and `einsum_vjp!` cost at compile time. Standard library only (Python 3.11).

It writes a small cargo workspace of probe crates (default `target/compile-probe/`), all depending on
this repository's `einsum-runtime` by absolute path and on ndarray 0.17, and sharing one target dir
so the dependencies are built once:

    probe0_baseline  the scaffold alone: 50 functions' inputs built and passed to `black_box`, no einsum
    probe1_einsum    50 distinct, realistic fixed-rank `einsum!` calls, one per `pub fn pNN`, all
                     called from `run_all`
    probe2_vjp       probe1 plus the same 50 patterns through `einsum_vjp!` (forward and one backward
                     call, in `pub fn vNN`)
    probe3_hand      the same 50 computations as probe1, written by hand with ndarray (`dot`, `t()`,
                     `sum_axis`, `Zip`, loops)
    probe4_vjp_scaffold  probe2's scaffold alone: the inputs of its 100 calls and the 50 upstream
                     gradients, built and passed to `black_box`, no einsum (probe0 builds only the
                     inputs of 50 calls, so probe2 minus probe0 also counts 50 calls' inputs; the
                     report gives probe2 minus probe4 beside it)

For each profile (dev, release) it builds every probe once (dependencies), then `--runs` rounds of
`touch src/lib.rs` + `cargo build` with `CARGO_INCREMENTAL=0`, the probes interleaved within a round
so that load from other processes spreads over all of them, and reports the median wall time and the
median CPU time (user + system of cargo and rustc, less sensitive to other processes on a busy
machine), each also minus the baseline's. It also counts the expansion: the lines of
`cargo rustc --profile=check -- -Zunpretty=expanded` (with `RUSTC_BOOTSTRAP=1`) of probe1 minus those
of probe0, divided by 50, and per pattern the lines of each `pNN` body in that output.

`--check` first builds and runs a binary that compares each `pNN` of probe1 with probe3 on the same
inputs, so the hand-written side computes the same 50 things.

`--instructions` also rebuilds each probe once per profile with its `rustc` run under Valgrind's
cachegrind (`--cache-sim=no`, through a `RUSTC_WRAPPER` that instruments only the probe crate) and
reports the instructions that rustc executed, on all its threads: the compiler's work, counted
exactly. Unlike the times, the count is the same from run to run (to 0.1 % or better) and does not
depend on what else the machine runs, so it can decide a budget whose margin is smaller than
the times' noise. It measures work, not waiting: the front end (expansion, type and borrow checking)
runs on one thread, while the optimizer spreads over every core, so a second of front end costs a
second of wall time and a second of optimizer half that on two cores. Needs `valgrind`; about 10
minutes more on 2 cores.

Usage: python3 scripts/compile_time.py [--runs 5] [--profiles dev,release] [--check] [--per-pattern]
       [--no-expansion] [--instructions] [--dir DIR]   (about 8 minutes on 2 cores with the defaults)
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Extent of every label; a label has the same extent wherever it occurs. `...` stands for (2, 3)
# where an operand's static rank leaves two axes to it, (2,) where one.
EXTENT = dict(zip("abcdefghijklmnopqrstuvwxyz", [2, 3, 4, 5, 2, 3, 4, 2, 3, 4, 5, 2, 3, 4,
                                                  2, 3, 3, 4, 2, 3, 4, 2, 3, 4, 5, 3]))
ELLIPSIS = [2, 3]

# (pattern, ellipsis ranks of the operands or None, hand-written body). The body's operands are `a`,
# `b`, `c` (references to `Array<f64, IxN>`); it returns the same type as the `einsum!` call.
PATTERNS: list[tuple[str, list[int] | None, str]] = [
    # Matrix products and their transposed forms.
    ("ij,jk->ik", None, "a.dot(b)"),
    ("ij,kj->ik", None, "a.dot(&b.t())"),
    ("ji,jk->ik", None, "a.t().dot(b)"),
    ("ij,jk->ki", None, "b.t().dot(&a.t())"),
    ("bn,nm->bm", None, "a.dot(b)"),
    ("bn,mn->bm", None, "a.dot(&b.t())"),
    ("bm,bn->mn", None, "a.t().dot(b)"),
    ("ij,ik->jk", None, "a.t().dot(b)"),
    ("ij,jk,kl->il", None, "a.dot(b).dot(c)"),
    # Matrix-vector, vector products.
    ("ij,j->i", None, "a.dot(b)"),
    ("i,ij->j", None, "a.dot(b)"),
    ("b,bn->n", None, "b.t().dot(a)"),
    ("i,i->", None, "arr0(a.dot(b))"),
    ("i,j->ij", None, "Array2::from_shape_fn((a.len(), b.len()), |(i, j)| a[i] * b[j])"),
    ("i,ij,j->", None, "arr0(a.dot(&b.dot(c)))"),
    ("bi,ij,bj->b", None, "(&a.dot(b) * c).sum_axis(Axis(1))"),
    ("i,i,i->", None, "arr0(Zip::from(a).and(b).and(c).fold(0.0, |s, &x, &y, &z| s + x * y * z))"),
    # Batched products and attention.
    ("bij,bjk->bik", None,
     "{ let mut out = Array3::zeros((a.len_of(Axis(0)), a.len_of(Axis(1)), b.len_of(Axis(2))));\n"
     "        for ((mut o, x), y) in out.outer_iter_mut().zip(a.outer_iter()).zip(b.outer_iter()) {\n"
     "            o.assign(&x.dot(&y));\n        }\n        out }"),
    ("bij,bj->bi", None,
     "{ let mut out = Array2::zeros((a.len_of(Axis(0)), a.len_of(Axis(1))));\n"
     "        for ((mut o, x), y) in out.outer_iter_mut().zip(a.outer_iter()).zip(b.outer_iter()) {\n"
     "            o.assign(&x.dot(&y));\n        }\n        out }"),
    ("bhqd,bhkd->bhqk", None,
     "{ let (nb, nh, nq, _) = a.dim();\n"
     "        let mut out = Array4::zeros((nb, nh, nq, b.len_of(Axis(2))));\n"
     "        for ((mut o, x), y) in out.outer_iter_mut().zip(a.outer_iter()).zip(b.outer_iter()) {\n"
     "            for ((mut oh, xh), yh) in o.outer_iter_mut().zip(x.outer_iter()).zip(y.outer_iter()) {\n"
     "                oh.assign(&xh.dot(&yh.t()));\n            }\n        }\n        out }"),
    ("bhqk,bhkd->bhqd", None,
     "{ let (nb, nh, nq, _) = a.dim();\n"
     "        let mut out = Array4::zeros((nb, nh, nq, b.len_of(Axis(3))));\n"
     "        for ((mut o, x), y) in out.outer_iter_mut().zip(a.outer_iter()).zip(b.outer_iter()) {\n"
     "            for ((mut oh, xh), yh) in o.outer_iter_mut().zip(x.outer_iter()).zip(y.outer_iter()) {\n"
     "                oh.assign(&xh.dot(&yh));\n            }\n        }\n        out }"),
    ("bi,bj->bij", None,
     "Array3::from_shape_fn((a.nrows(), a.ncols(), b.ncols()), |(n, i, j)| a[[n, i]] * b[[n, j]])"),
    # Transposes and axis permutations.
    ("ij->ji", None, "a.t().to_owned()"),
    ("ijk->kji", None, "a.view().permuted_axes([2, 1, 0]).to_owned()"),
    ("ijk->ikj", None, "a.view().permuted_axes([0, 2, 1]).to_owned()"),
    ("nchw->nhwc", None, "a.view().permuted_axes([0, 2, 3, 1]).to_owned()"),
    ("bhqd->bqhd", None, "a.view().permuted_axes([0, 2, 1, 3]).to_owned()"),
    # Traces and diagonals.
    ("ii->", None, "arr0(a.diag().sum())"),
    ("ii->i", None, "a.diag().to_owned()"),
    ("ii,i->i", None, "&a.diag() * b"),
    ("ij,ji->", None, "arr0((a * &b.t()).sum())"),
    ("iij->j", None,
     "Array1::from_shape_fn(a.len_of(Axis(2)), |j| (0..a.len_of(Axis(0))).map(|i| a[[i, i, j]]).sum())"),
    # Reductions.
    ("ij->", None, "arr0(a.sum())"),
    ("ij->i", None, "a.sum_axis(Axis(1))"),
    ("ij->j", None, "a.sum_axis(Axis(0))"),
    ("ijk->j", None, "a.sum_axis(Axis(2)).sum_axis(Axis(0))"),
    # Elementwise products, scalings and outer products.
    ("ij,ij->ij", None, "a * b"),
    ("ij,ij->", None, "arr0((a * b).sum())"),
    ("ij,ij->i", None, "(a * b).sum_axis(Axis(1))"),
    ("ij,ij,ij->ij", None, "&(a * b) * c"),
    ("ij,j->ij", None, "a * b"),
    ("ij,i->ij", None, "a * &b.view().insert_axis(Axis(1))"),
    (",ij->ij", None, "b * a[()]"),
    ("ab,cd->abcd", None,
     "{ let ((na, nb), (nc, nd)) = (a.dim(), b.dim());\n"
     "        Array4::from_shape_fn((na, nb, nc, nd), |(i, j, k, l)| a[[i, j]] * b[[k, l]]) }"),
    # Contractions over several axes.
    ("ijk,k->ij", None,
     "Array2::from_shape_fn((a.len_of(Axis(0)), a.len_of(Axis(1))), |(i, j)| a.slice(s![i, j, ..]).dot(b))"),
    ("ijk,jk->i", None, "Array1::from_shape_fn(a.len_of(Axis(0)), |i| (&a.index_axis(Axis(0), i) * b).sum())"),
    ("ijk,jkl->il", None,
     "{ let (ni, nj, nk) = a.dim();\n"
     "        let a2 = a.to_shape((ni, nj * nk)).unwrap();\n"
     "        let b2 = b.to_shape((nj * nk, b.len_of(Axis(2)))).unwrap();\n"
     "        a2.dot(&b2) }"),
    # Ellipsis (dynamic-rank results).
    ("...ij,...jk->...ik", [1, 1],
     "{ let mut out = Array3::zeros((a.len_of(Axis(0)), a.len_of(Axis(1)), b.len_of(Axis(2))));\n"
     "        for ((mut o, x), y) in out.outer_iter_mut().zip(a.outer_iter()).zip(b.outer_iter()) {\n"
     "            o.assign(&x.dot(&y));\n        }\n        out.into_dyn() }"),
    ("...i,i->...", [2, 0], "a.map_axis(Axis(2), |r| r.dot(b)).into_dyn()"),
    ("...ij->...ji", [1], "a.view().permuted_axes([0, 2, 1]).to_owned().into_dyn()"),
]

N = len(PATTERNS)


def parse(pattern: str, ell: list[int] | None) -> tuple[list[str], str, list[int], list[list[int]]]:
    """Returns the terms, the output term, the operands' static ranks and their shapes."""
    lhs, out = pattern.split("->")
    terms = lhs.split(",")
    ranks, shapes = [], []
    for k, term in enumerate(terms):
        labels = term.replace("...", "")
        n_ell = ell[k] if (ell and "..." in term) else 0
        shape = ELLIPSIS[len(ELLIPSIS) - n_ell:] + [EXTENT[c] for c in labels]
        ranks.append(len(shape))
        shapes.append(shape)
    return terms, out, ranks, shapes


def array_type(rank: int | None) -> str:
    return "ArrayD<f64>" if rank is None else f"Array{rank}<f64>"


def out_type(out: str) -> str:
    return array_type(None if "..." in out else len(out))


def signature(name: str, ranks: list[int], ret: str, extra: str = "") -> str:
    params = ", ".join(f"{v}: &{array_type(r)}" for v, r in zip("abc", ranks))
    return f"pub fn {name}({params}{extra}) -> {ret} {{"


def shape_expr(shape: list[int]) -> str:
    return "(" + "".join(f"{d}, " for d in shape).rstrip(", ") + ("," if len(shape) == 1 else "") + ")"


PRELUDE = """#![allow(clippy::all)]
use std::hint::black_box;
#[allow(unused_imports)]
use ndarray::{arr0, s, Array, Array0, Array1, Array2, Array3, Array4, ArrayD, Axis, Dimension, ShapeBuilder, Zip};

/// A deterministic input of the given shape.
pub fn input<Sh: ShapeBuilder>(shape: Sh) -> Array<f64, Sh::Dim> {
    let mut k = 0.0;
    Array::from_shape_simple_fn(shape, || {
        k += 1.0;
        (k % 7.0) - 3.0
    })
}
"""


def run_all(fns: list[str], calls: bool = True) -> str:
    """`run_all` builds each function's inputs and passes its result to `black_box`; without `calls`,
    the inputs themselves (a scaffold: the same inputs, no function called)."""
    lines = ["pub fn run_all() {"]
    for name in fns:
        pattern, ell, _ = PATTERNS[int(name[1:])]
        _, out, _, shapes = parse(pattern, ell)
        args = [f"&input({shape_expr(s)})" for s in shapes]
        if name.startswith("v"):  # the upstream gradient, shaped like the output
            g = f"&input({shape_expr(output_shape(pattern, ell))})"
            args.append(g + ".into_dyn()" if "..." in out else g)
        if calls:
            lines.append(f"    black_box({name}({', '.join(args)}));")
        else:
            lines.append(f"    black_box(({', '.join(args)},));")
    lines.append("}")
    return "\n".join(lines) + "\n"


def output_shape(pattern: str, ell: list[int] | None) -> list[int]:
    terms, out, _, shapes = parse(pattern, ell)
    n_ell = max((len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes)), default=0)
    return (ELLIPSIS[len(ELLIPSIS) - n_ell:] if "..." in out else []) + [EXTENT[c] for c in out.replace("...", "")]


def einsum_fns() -> str:
    src = []
    for n, (pattern, ell, _) in enumerate(PATTERNS):
        terms, out, ranks, _ = parse(pattern, ell)
        args = ", ".join("abc"[: len(terms)])
        src.append(f"{signature(f'p{n:02}', ranks, out_type(out))}\n    einsum!(\"{pattern}\", {args})\n}}\n")
    return "\n".join(src)


def vjp_fns() -> str:
    src = []
    for n, (pattern, ell, _) in enumerate(PATTERNS):
        terms, out, ranks, _ = parse(pattern, ell)
        args = ", ".join("abc"[: len(terms)])
        grads = "(" + "".join(f"{array_type(r)}, " for r in ranks).rstrip(" ") + ")"
        ret = f"({out_type(out)}, {grads})"
        sig = signature(f"v{n:02}", ranks, ret, extra=f", g: &{out_type(out)}")
        src.append(f"{sig}\n    let (z, back) = einsum_vjp!(\"{pattern}\", {args});\n    (z, back(g))\n}}\n")
    return "\n".join(src)


def hand_fns() -> str:
    src = []
    for n, (pattern, ell, body) in enumerate(PATTERNS):
        terms, out, ranks, _ = parse(pattern, ell)
        src.append(f"{signature(f'p{n:02}', ranks, out_type(out))}\n    {body}\n}}\n")
    return "\n".join(src)


PROBES = {
    "probe0_baseline": lambda: PRELUDE + baseline_run_all(),
    "probe1_einsum": lambda: PRELUDE + "use einsum_runtime::einsum;\n\n" + einsum_fns() + "\n"
    + run_all([f"p{n:02}" for n in range(N)]),
    "probe2_vjp": lambda: PRELUDE + "use einsum_runtime::{einsum, einsum_vjp};\n\n" + einsum_fns() + "\n"
    + vjp_fns() + "\n" + run_all([f"p{n:02}" for n in range(N)] + [f"v{n:02}" for n in range(N)]),
    "probe3_hand": lambda: PRELUDE + hand_fns() + "\n" + run_all([f"p{n:02}" for n in range(N)]),
    "probe4_vjp_scaffold": lambda: PRELUDE
    + run_all([f"p{n:02}" for n in range(N)] + [f"v{n:02}" for n in range(N)], calls=False),
}


def baseline_run_all() -> str:
    lines = ["pub fn run_all() {"]
    for pattern, ell, _ in PATTERNS:
        _, _, _, shapes = parse(pattern, ell)
        args = ", ".join(f"&input({shape_expr(s)})" for s in shapes)
        # A tuple even of one operand (a trailing comma), so that rustc sees no needless parentheses.
        lines.append(f"    black_box(({args},));")
    lines.append("}")
    return "\n".join(lines) + "\n"


def checker() -> str:
    """A binary comparing probe1's `pNN` with probe3's on the same inputs."""
    lines = [
        "use probe1_einsum::input;",
        "fn close(x: ndarray::ArrayViewD<f64>, y: ndarray::ArrayViewD<f64>, what: &str) {",
        "    assert_eq!(x.shape(), y.shape(), \"{what}: shapes\");",
        "    for (p, q) in x.iter().zip(y.iter()) {",
        "        assert!((p - q).abs() <= 1e-9 * (1.0 + q.abs()), \"{what}: {x} vs {y}\");",
        "    }",
        "}",
        "fn main() {",
    ]
    for n, (pattern, ell, _) in enumerate(PATTERNS):
        _, _, _, shapes = parse(pattern, ell)
        lets = "; ".join(f"let {v} = input({shape_expr(s)})" for v, s in zip("abc", shapes))
        args = ", ".join(f"&{v}" for v in "abc"[: len(shapes)])
        lines.append(f"    {{ {lets}; close(probe1_einsum::p{n:02}({args}).view().into_dyn(), "
                     f"probe3_hand::p{n:02}({args}).view().into_dyn(), \"p{n:02} {pattern}\"); }}")
    lines.append(f"    println!(\"all {N} hand-written computations agree with einsum!\");")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_workspace(root: Path) -> None:
    runtime = REPO / "einsum-runtime"
    members = list(PROBES) + ["probe_check"]
    root.mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(
        "# Generated by scripts/compile_time.py; not part of the einsum workspace.\n"
        "[workspace]\nresolver = \"2\"\nmembers = [" + ", ".join(f'"{m}"' for m in members) + "]\n")
    lock = REPO / "Cargo.lock"
    if lock.exists() and not (root / "Cargo.lock").exists():
        shutil.copy(lock, root / "Cargo.lock")  # same dependency versions as the repository
    for name, source in PROBES.items():
        d = root / name
        (d / "src").mkdir(parents=True, exist_ok=True)
        deps = f'ndarray = "0.17"\neinsum-runtime = {{ path = "{runtime}" }}\n'
        write_if_changed(d / "Cargo.toml", f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "2021"\n'
                         f"publish = false\n\n[dependencies]\n{deps}")
        write_if_changed(d / "src" / "lib.rs", source())
    d = root / "probe_check"
    (d / "src").mkdir(parents=True, exist_ok=True)
    write_if_changed(d / "Cargo.toml", '[package]\nname = "probe_check"\nversion = "0.0.0"\nedition = "2021"\n'
                     'publish = false\n\n[dependencies]\nndarray = "0.17"\n'
                     'probe1_einsum = { path = "../probe1_einsum" }\nprobe3_hand = { path = "../probe3_hand" }\n')
    write_if_changed(d / "src" / "main.rs", checker())


def write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def cargo(root: Path, args: list[str], env_extra: dict[str, str] | None = None,
          capture: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, CARGO_INCREMENTAL="0", CARGO_TARGET_DIR=str(root / "target"))
    env.pop("RUSTFLAGS", None)
    env.update(env_extra or {})
    proc = subprocess.run(["cargo", *args], cwd=root, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        sys.exit(f"cargo {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return proc


def timed_build(root: Path, probe: str, profile: str) -> tuple[float, float]:
    """Wall time and CPU time (user + system of cargo and rustc) of one rebuild after a touch."""
    (root / probe / "src" / "lib.rs").touch()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    cargo(root, ["build", "--offline", "-p", probe, "--profile", profile])
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


WRAPPER = """#!/bin/sh
# Written by scripts/compile_time.py: runs rustc under cachegrind for the crate $PROBE_CRATE only.
rustc="$1"; shift
case " $* " in
  *" --crate-name $PROBE_CRATE "*)
    exec valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$PROBE_OUT" \\
      --log-file=/dev/null "$rustc" "$@" ;;
esac
exec "$rustc" "$@"
"""


def counted_cargo(root: Path, crate: str, args: list[str], name: str) -> int:
    """Instructions that rustc executes (all threads) compiling `crate` in `cargo ARGS` (run in
    `root`), counted by cachegrind; `name` names the output file under `root/target`."""
    wrapper = root / "rustc_under_cachegrind.sh"
    write_if_changed(wrapper, WRAPPER)
    wrapper.chmod(0o755)
    out = root / "target" / f"cachegrind.{name}.out"
    out.unlink(missing_ok=True)
    cargo(root, args, env_extra={"RUSTC_WRAPPER": str(wrapper), "PROBE_CRATE": crate,
                                 "PROBE_OUT": str(out)})
    # cachegrind's output ends with `summary: <instructions>` (the one event counted).
    summary = [line for line in out.read_text().splitlines() if line.startswith("summary:")]
    if len(summary) != 1:
        sys.exit(f"no cachegrind summary in {out}")
    return int(summary[0].split()[1])


def counted_build(root: Path, probe: str, profile: str) -> int:
    """Instructions that rustc executes (all threads) in one rebuild of `probe` after a touch."""
    (root / probe / "src" / "lib.rs").touch()
    return counted_cargo(root, probe, ["build", "--offline", "-p", probe, "--profile", profile],
                         f"{probe}.{profile}")


def expanded(root: Path, probe: str) -> str:
    (root / probe / "src" / "lib.rs").touch()
    proc = cargo(root, ["rustc", "--offline", "-p", probe, "--profile=check", "--lib", "--",
                        "-Zunpretty=expanded"], env_extra={"RUSTC_BOOTSTRAP": "1"})
    return proc.stdout


def body_lines(text: str, prefix: str) -> dict[str, int]:
    """Lines of each `pub fn <prefix>NN` body (between its signature and its closing brace)."""
    out: dict[str, int] = {}
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(r"pub fn [pv]\d\d|pub fn run_all", line)]
    for k, i in enumerate(starts):
        m = re.match(rf"pub fn ({prefix}\d\d)\b", lines[i])
        if not m:
            continue
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        chunk = lines[i:end]
        while chunk and chunk[-1].strip() == "":
            chunk.pop()
        sig_end = next((j for j, line in enumerate(chunk) if line.rstrip().endswith("{")), None)
        # Minus the signature's last line and the final `}`; a body printed on the signature's line is 1.
        out[m.group(1)] = 1 if sig_end is None else len(chunk) - sig_end - 2
    return out


def fmt_s(x: float) -> str:
    return f"{x:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="timed rebuilds per probe and profile")
    ap.add_argument("--profiles", default="dev,release")
    ap.add_argument("--dir", type=Path, default=REPO / "target" / "compile-probe")
    ap.add_argument("--check", action="store_true", help="run probe1 against probe3 first")
    ap.add_argument("--no-expansion", action="store_true")
    ap.add_argument("--per-pattern", action="store_true", help="print the per-pattern expansion table")
    ap.add_argument("--instructions", action="store_true",
                    help="also count rustc's instructions in one rebuild per cell (needs valgrind)")
    opts = ap.parse_args()

    root = opts.dir.resolve()
    if opts.instructions and shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (e.g. `apt-get install valgrind`)")
    write_workspace(root)
    commit = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %s"], text=True,
                            capture_output=True).stdout.strip()
    rustc = subprocess.run(["rustc", "--version"], text=True, capture_output=True).stdout.strip()
    print(f"# Compile-time probes\n\ncommit: {commit}\n{rustc}; {os.cpu_count()} CPUs; "
          f"{N} patterns; {opts.runs} rebuilds per cell, medians; probes in {root}\n", flush=True)

    if opts.check:
        proc = cargo(root, ["run", "--offline", "-q", "-p", "probe_check"])
        print(proc.stdout.strip() + "\n", flush=True)

    profiles = opts.profiles.split(",")
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for profile in profiles:
        for probe in PROBES:  # dependencies, and a first build of each probe
            cargo(root, ["build", "--offline", "-p", probe, "--profile", profile])
        for _ in range(opts.runs):
            for probe in PROBES:
                results.setdefault((probe, profile), []).append(timed_build(root, probe, profile))
        print(f"({profile} done)", file=sys.stderr, flush=True)

    def med(probe: str, profile: str, k: int) -> float:
        return statistics.median(t[k] for t in results[(probe, profile)])

    for k, what in ((0, "Wall time"), (1, "CPU time (user + system, cargo and rustc)")):
        print(f"{what} of a rebuild after `touch src/lib.rs`, median; added = minus probe0_baseline\n")
        print("| probe | " + " | ".join(f"{p} rebuild | {p} added" for p in profiles) + " |")
        print("|---|" + "---:|---:|" * len(profiles))
        for probe in PROBES:
            cells = []
            for profile in profiles:
                m, base = med(probe, profile, k), med("probe0_baseline", profile, k)
                cells += [f"{fmt_s(m)} s", "" if probe == "probe0_baseline" else f"{m - base:+.2f} s"]
            print(f"| {probe} | " + " | ".join(cells) + " |")
        print()
        print("probe2_vjp minus its own scaffold (probe4_vjp_scaffold): " + ", ".join(
            f"{profile} {med('probe2_vjp', profile, k) - med('probe4_vjp_scaffold', profile, k):+.2f} s"
            for profile in profiles) + "\n")
    print("All rebuilds, wall/CPU (s):")
    for (probe, profile), times in results.items():
        print(f"  {probe:16} {profile:8} " + " ".join(f"{fmt_s(w)}/{fmt_s(c)}" for w, c in times))

    if opts.instructions:
        counts = {(probe, profile): counted_build(root, probe, profile)
                  for profile in profiles for probe in PROBES}
        print("\nInstructions that rustc executes (all threads) in one rebuild after `touch src/lib.rs`, "
              "in billions; added = minus probe0_baseline; ÷ hand = added ÷ probe3_hand's added\n")
        print("| probe | " + " | ".join(f"{p} | {p} added | {p} ÷ hand" for p in profiles) + " |")
        print("|---|" + "---:|---:|---:|" * len(profiles))
        for probe in PROBES:
            cells = []
            for profile in profiles:
                c, base = counts[(probe, profile)], counts[("probe0_baseline", profile)]
                hand = counts[("probe3_hand", profile)] - base
                added = "" if probe == "probe0_baseline" else f"{(c - base) / 1e9:+.3f}"
                ratio = "" if probe == "probe0_baseline" else f"{(c - base) / hand:.3f}"
                cells += [f"{c / 1e9:.3f}", added, ratio]
            print(f"| {probe} | " + " | ".join(cells) + " |")
        def vjp_less_scaffold(profile: str) -> float:
            vjp = counts[("probe2_vjp", profile)] - counts[("probe4_vjp_scaffold", profile)]
            return vjp / (counts[("probe3_hand", profile)] - counts[("probe0_baseline", profile)])

        print("\nprobe2_vjp minus its own scaffold (probe4_vjp_scaffold), ÷ hand: "
              + ", ".join(f"{profile} {vjp_less_scaffold(profile):.3f}" for profile in profiles))

    if opts.no_expansion:
        return
    base = expanded(root, "probe0_baseline")
    ein = expanded(root, "probe1_einsum")
    vjp = expanded(root, "probe2_vjp")
    hand = expanded(root, "probe3_hand")
    per_einsum = body_lines(ein, "p")
    per_vjp = {k: v - 1 for k, v in body_lines(vjp, "v").items()}  # minus `(z, back(g))`
    n_base, n_ein, n_vjp, n_hand = (len(t.splitlines()) for t in (base, ein, vjp, hand))
    print(f"\nExpansion (`-Zunpretty=expanded` lines): baseline {n_base}, einsum {n_ein}, "
          f"einsum+vjp {n_vjp}, hand {n_hand}")
    print(f"- `einsum!`: (probe1 - probe0) / {N} = {(n_ein - n_base) / N:.1f} lines per call; "
          f"function bodies: median {statistics.median(per_einsum.values())}, "
          f"max {max(per_einsum.values())} ({max(per_einsum, key=per_einsum.get)})")
    print(f"- `einsum_vjp!`: (probe2 - probe1) / {N} = {(n_vjp - n_ein) / N:.1f} lines per call; "
          f"function bodies: median {statistics.median(per_vjp.values())}, "
          f"max {max(per_vjp.values())} ({max(per_vjp, key=per_vjp.get)})")
    print(f"- hand-written: (probe3 - probe0) / {N} = {(n_hand - n_base) / N:.1f} lines per computation")
    if opts.per_pattern:
        print("\n| fn | pattern | `einsum!` lines | `einsum_vjp!` lines |\n|---|---|---:|---:|")
        for n, (pattern, _, _) in enumerate(PATTERNS):
            print(f"| p{n:02} | `{pattern}` | {per_einsum[f'p{n:02}']} | {per_vjp[f'v{n:02}']} |")


if __name__ == "__main__":
    main()
