#!/usr/bin/env python3
"""Times the Python einsum implementations on the workloads of `benches/workloads.rs`.

Competitors: `numpy.einsum` with `optimize=False` and with `optimize=True`, `opt_einsum.contract`,
and `jax.jit(jnp.einsum)` (with `block_until_ready`), in float32 and float64, on the shapes of
`bench_workloads.py`. Every result is made an owned, C-contiguous array (`np.ascontiguousarray`),
because numpy's einsum returns a view for `ii->i` and `ij->ji`, while `einsum!` writes a new
row-major array; on results that are already contiguous this costs nothing. `vjp` workloads time
the value and both gradients: three einsums for numpy and opt_einsum, `jax.vjp` under one `jit`.

Timing (like the criterion settings of the Rust bench): about `--warmup` seconds of calls, then
`--samples` samples of equal call counts filling about `--measure` seconds; the result is the
median per-call time over the samples. A call slower than `--measure / --samples` gets one call
per sample and fewer samples (at least 3): numpy.einsum without `optimize` takes seconds on chain-256.

Threads: `--threads N` sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and
XLA_FLAGS (`--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1` for one thread)
before numpy and jax are imported, and (on Linux) pins the process to N CPUs: jax 0.10's CPU
runtime runs some work on more threads than these flags allow (its 512 f32 matmul came out above one
core's peak FMA rate), so the affinity is what makes "one thread" one core. A workload runs only at
the thread counts it lists.

Usage: scripts/.venv/bin/python scripts/compare_numpy.py --threads 1 --out target/python-1t.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_workloads import WORKLOADS, vjp_patterns  # noqa: E402


def set_threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                "NUMEXPR_NUM_THREADS"):
        os.environ[var] = str(n)
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(cpus[:n]))
    if n == 1:
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    else:
        os.environ["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={n}"


def median(xs: list[float]) -> float:
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def measure(f, warmup: float, measure_s: float, samples: int) -> dict:
    """Median seconds per call of `f()`."""
    t0 = time.perf_counter()
    calls = 0
    while True:
        f()
        calls += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= warmup:
            break
    per_call = elapsed / calls
    # Calls slower than the measurement budget allows get fewer samples (at least 3), not hours.
    samples = min(samples, max(3, int(measure_s / per_call)))
    iters = max(1, int(measure_s / samples / per_call))
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        for _ in range(iters):
            f()
        times.append((time.perf_counter() - t) / iters)
    return {"median_s": median(times), "min_s": min(times), "samples": samples, "iters_per_sample": iters}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, choices=(1, 2), required=True)
    ap.add_argument("--out", type=Path, required=True, help="JSON file to write")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--measure", type=float, default=2.0)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--filter", default="", help="only workload ids containing this string")
    opts = ap.parse_args()
    set_threads(opts.threads)

    import numpy as np  # noqa: E402  (after the thread variables)
    import opt_einsum  # noqa: E402
    import jax  # noqa: E402

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp  # noqa: E402

    rows = []
    for w in WORKLOADS:
        if opts.threads not in w.threads or opts.filter not in w.id:
            continue
        for dtype in ("float32", "float64"):
            rng = np.random.default_rng(0)
            ops = [rng.uniform(-1, 1, s).astype(dtype) for s in w.shapes()]
            g = rng.uniform(-1, 1, w.out_shape()).astype(dtype)
            c = np.ascontiguousarray
            if w.vjp:
                pa, pb = vjp_patterns(w.pattern)
                x, y = ops

                def np_route(ein, **kw):
                    return lambda: (c(ein(w.pattern, x, y, **kw)), c(ein(pa, g, y, **kw)), c(ein(pb, x, g, **kw)))

                def jax_f(a, b, gz):
                    z, back = jax.vjp(lambda a, b: jnp.einsum(w.pattern, a, b), a, b)
                    return (z, *back(gz))

                jf = jax.jit(jax_f)
                jops = [jax.device_put(a) for a in (x, y, g)]
                routes = {
                    "numpy.einsum": np_route(np.einsum),
                    "numpy.einsum optimize": np_route(np.einsum, optimize=True),
                    "opt_einsum": np_route(opt_einsum.contract),
                    "jax.jit einsum": lambda: jax.block_until_ready(jf(*jops)),
                }
            else:
                jf = jax.jit(lambda *a: jnp.einsum(w.pattern, *a))
                jops = [jax.device_put(a) for a in ops]
                routes = {
                    "numpy.einsum": lambda: c(np.einsum(w.pattern, *ops)),
                    "numpy.einsum optimize": lambda: c(np.einsum(w.pattern, *ops, optimize=True)),
                    "opt_einsum": lambda: c(opt_einsum.contract(w.pattern, *ops)),
                    "jax.jit einsum": lambda: jax.block_until_ready(jf(*jops)),
                }
            # All routes agree before any is timed.
            ref = routes["numpy.einsum optimize"]()
            tol = 1e-3 if dtype == "float32" else 1e-9
            for name, f in routes.items():
                got = f()
                for r, v in zip(ref if w.vjp else [ref], got if w.vjp else [got]):
                    r = np.asarray(r, dtype=np.float64)
                    v = np.asarray(v, dtype=np.float64)
                    assert np.allclose(v, r, rtol=tol, atol=tol * max(1.0, float(np.abs(r).max()))), (w.id, name)
            for name, f in routes.items():
                m = measure(f, opts.warmup, opts.measure, opts.samples)
                dt = "f32" if dtype == "float32" else "f64"
                rows.append({"workload": w.id, "dtype": dt, "threads": opts.threads, "competitor": name,
                             "median_ns": m["median_s"] * 1e9, "min_ns": m["min_s"] * 1e9,
                             "samples": m["samples"], "iters_per_sample": m["iters_per_sample"]})
                print(f"{w.id} {dt} {opts.threads}t {name}: {m['median_s'] * 1e6:.1f} µs", flush=True)

    meta = {"threads": opts.threads, "python": platform.python_version(), "numpy": np.__version__,
            "opt_einsum": opt_einsum.__version__, "jax": jax.__version__, "xla_flags": os.environ["XLA_FLAGS"],
            "numpy_blas": np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {}).get("name"),
            "warmup_s": opts.warmup, "measure_s": opts.measure, "samples": opts.samples}
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps({"meta": meta, "results": rows}, indent=1))
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
