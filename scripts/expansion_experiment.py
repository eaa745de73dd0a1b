#!/usr/bin/env python3
"""What a form of the generated code costs the compiler: a probe's expanded source against a variant.

Expands one probe crate of `scripts/compile_time.py` (run it first) with `-Zunpretty=expanded`,
writes the variant named below next to it, and rebuilds both as a crate `probe_exp` of the probe
workspace, alternately (`touch` + `cargo rustc` with `CARGO_INCREMENTAL=0` and `-Ztime-passes`),
printing the median of each side's type checking, borrow checking and rustc total. Standard library
only (Python 3.11); needs `RUSTC_BOOTSTRAP=1` for the unstable flags, which it sets.

Variants (each an edit of the expanded text; the experiments of docs/benchmarks.md, section 2):
- `no-grads`: the bodies of the gradient functions replaced by `loop {}` (in `probe1_einsum`, those
  of `einsum!`, which a call on arrays never runs);
- `no-loops`: every GEMM-shaped step's loops (the `None` / `Zeroed` arm) replaced by `loop {}`;
- `no-question-mark`: `call?` on a runtime call written as a `match` that returns the error;
- `paths`: method calls on the kernels' views written as paths (`View::lane(&x, ..)`);
- `while`: `for i in 0..n` loops written as `while` loops;
- `no-rank-checks`: the call sites' rank checks removed;
- `vjp-no-closure`: `einsum_vjp!`'s own closure at the call site replaced by the runtime's (for code
  before 48c22d2; not for the three `...` patterns);
- `vjp-no-convert`: in that closure, `into_dim_of` dropped (also before 48c22d2);
- `shards4`: the kernels spread over 4 shard types instead of 16;
- `concrete`: the kernels and gradient functions not generic over the element type: `T` replaced by
  `f64` (the probes' type) and the `T: LinalgScalar` parameter dropped.

Usage: python3 scripts/expansion_experiment.py probe1_einsum no-grads [--rounds 5] [--release]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
from pathlib import Path

RT = r"(?:::einsum_runtime::__private|__einsum_rt)"


def matching(s: str, at: int, step: int = 1) -> int:
    """The index of the bracket that matches the one at `at`: forward from an opening one
    (`step` 1), backward from a closing one (`step` -1)."""
    opening, closing = s[at], {"{": "}", "(": ")", "}": "{", ")": "("}[s[at]]
    depth = 0
    for i in range(at, len(s) if step > 0 else -1, step):
        if s[i] == opening:
            depth += 1
        elif s[i] == closing:
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced brackets")


def replace_blocks(s: str, start: str, body_after: str, replacement: str) -> str:
    """Replaces the block that opens at the first `{` after `body_after` past each match of `start`."""
    out, pos = [], 0
    for m in re.finditer(start, s):
        if m.start() < pos:
            continue
        anchor = s.index(body_after, m.end() - 1) if body_after else m.end() - 1
        b = s.index("{", anchor)
        e = matching(s, b)
        out += [s[pos:b], replacement]
        pos = e + 1
    return "".join(out + [s[pos:]])


def no_question_mark(s: str) -> str:
    out, pos = [], 0
    for m in re.finditer(r"\)\?", s):
        call = re.search(RT + r"::\w+\s*$", s[: matching(s, m.start(), -1)])
        if not call or call.start() < pos:
            continue
        out += [s[pos : call.start()], "match ", s[call.start() : m.start() + 1]]
        out.append(" { ::core::result::Result::Ok(v) => v, ::core::result::Result::Err(e) => return ::core::result::Result::Err(e) }")
        pos = m.end()
    return "".join(out + [s[pos:]])


def while_loops(s: str) -> str:
    pattern = re.compile(r"for (__einsum_i_\w+) in 0\.\.(__einsum_n_\w+) \{")
    out, pos = [], 0
    while m := pattern.search(s, pos):
        b = m.end() - 1
        e = matching(s, b)
        i, n = m.groups()
        body = while_loops(s[b + 1 : e])
        out += [s[pos : m.start()], f"{{ let mut {i} = 0usize; while {i} < {n} {{ {body} {i} += 1; }} }}"]
        pos = e + 1
    return "".join(out + [s[pos:]])


def vjp_no_closure(s: str) -> str:
    """`(value, move |g| { .. })` -> `(value, back)`, but for the `...` patterns (from `v47` on),
    whose closures convert `IxDyn` gradients."""
    cut = s.find("pub fn v47")
    head, tail = (s, "") if cut < 0 else (s[:cut], s[cut:])
    out, pos = [], 0
    for m in re.finditer(r"\(__einsum_value,\s*move\s*\|", head):
        params_end = head.index("|", m.end())
        e = matching(head, head.index("{", params_end))
        out += [head[pos : m.start()], "(__einsum_value, __einsum_back"]
        pos = e + 1
    return "".join(out + [head[pos:]]) + tail


def paths(s: str) -> str:
    rt = "__einsum_rt" if "__einsum_rt::" in s else "::einsum_runtime::__private"
    s = re.sub(r"(__einsum_x\d+)\.(lane|splat|plane|flat)\(", rt + r"::View::\2(&\1, ", s)
    return s.replace(", )", ")")


VARIANTS = {
    "no-grads": lambda s: replace_blocks(s, r"fn __einsum_grad\d", "->", "{ loop {} }"),
    "no-loops": lambda s: replace_blocks(
        s, r"(?:::core::option::Option::None|Product::Zeroed\(mut __einsum_out\)\)?)\s*=>\s*\{", "", "{ loop {} }"
    ),
    "no-question-mark": no_question_mark,
    "paths": paths,
    "while": while_loops,
    "no-rank-checks": lambda s: re.sub(RT + r"::rank::<[^>]*>\(&__einsum_op\d+\);", "", s),
    "vjp-no-closure": vjp_no_closure,
    "vjp-no-convert": lambda s: re.sub(RT + r"::into_dim_of\((__einsum_g\d+),\s*&__einsum_op\d+\)", r"\1", s),
    "concrete": lambda s: re.sub(r"\bT\b(?!:)", "f64", re.sub(r",?\s*T: __einsum_rt::LinalgScalar>", ">", s).replace(
        "<>", "")),
    "shards4": lambda s: re.sub(r"shard::S(\d+) as", lambda m: f"shard::S{int(m.group(1)) % 4} as", s),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probe", help="probe1_einsum or probe2_vjp")
    parser.add_argument("variant", choices=sorted(VARIANTS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--release", action="store_true")
    parser.add_argument("--dir", default="target/compile-probe")
    args = parser.parse_args()
    ws = Path(args.dir).resolve()
    if not (ws / "Cargo.toml").exists():
        raise SystemExit(f"{ws} has no probes: run scripts/compile_time.py first")
    env = dict(os.environ, RUSTC_BOOTSTRAP="1", CARGO_INCREMENTAL="0")
    (ws / args.probe / "src" / "lib.rs").touch()
    expanded = subprocess.run(
        ["cargo", "rustc", "-q", "-p", args.probe, "--profile=check", "--lib", "--", "-Zunpretty=expanded"],
        cwd=ws, env=env, check=True, capture_output=True, text=True,
    ).stdout
    sides = {"base": expanded, args.variant: VARIANTS[args.variant](expanded)}
    if sides["base"] == sides[args.variant]:
        raise SystemExit(f"{args.variant} changes nothing in {args.probe}'s expansion")
    exp = ws / "probe_exp"
    (exp / "src").mkdir(parents=True, exist_ok=True)
    manifest = (ws / args.probe / "Cargo.toml").read_text().replace(args.probe, "probe_exp")
    (exp / "Cargo.toml").write_text(manifest)
    members = (ws / "Cargo.toml").read_text()
    if '"probe_exp"' not in members:
        (ws / "Cargo.toml").write_text(members.replace('members = [', 'members = ["probe_exp", ', 1))
    profile = ["--release"] if args.release else []
    # Dependencies built once, untimed; then each round rebuilds both sides.
    (exp / "src" / "lib.rs").write_text(sides["base"])
    subprocess.run(["cargo", "build", "-q", "-p", "probe_exp", *profile], cwd=ws, env=env, check=True,
                   capture_output=True)
    phases = ("type_check_crate", "MIR_borrow_checking", "total")
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for side, text in sides.items():
            (exp / "src" / "lib.rs").write_text(text)
            err = subprocess.run(
                ["cargo", "rustc", "-q", "-p", "probe_exp", *profile, "--", "-Ztime-passes"],
                cwd=ws, env=env, check=True, capture_output=True, text=True,
            ).stderr
            for line in err.splitlines():
                name = line.split()[-1] if line.startswith("time:") else ""
                if name in phases:
                    times.setdefault((side, name), []).append(float(line.split()[1].rstrip(";")))
    print(f"{args.probe}, {'release' if args.release else 'dev'}, {args.rounds} rounds; rustc's phases, "
          f"median seconds (every round)")
    for phase in phases:
        for side in sides:
            xs = times[(side, phase)]
            print(f"  {phase:22} {side:18} {statistics.median(xs):6.3f}  " + " ".join(f"{x:.3f}" for x in xs))


if __name__ == "__main__":
    main()
