#!/usr/bin/env python3
"""Reference values and gradients of the multi-head self-attention block, computed with JAX.

Writes ``tests/fixtures/attention.json``, which ``tests/attention.rs`` compares the block of
``examples/common/attention.rs`` against. The fixture is checked in, so neither CI nor ``cargo test``
needs Python; rerun this script only to regenerate it.

Usage (from the repository root; the environment is the one of ``scripts/reference_grads.py``):

    python3 -m venv .venv-ref
    .venv-ref/bin/pip install -r scripts/requirements.txt
    .venv-ref/bin/python scripts/attention_reference.py            # writes tests/fixtures/attention.json
    .venv-ref/bin/python scripts/attention_reference.py -o out.json  # or somewhere else

Everything runs on the CPU in float64 (``jax_enable_x64``). The inputs come from the linear
congruential generator of ``reference_grads.py`` (multiples of 1/512 in [-1, 1), exact in binary and
in the JSON text) and are stored in the fixture, so the Rust side reads the very same values.

The block, for x of shape (b, q, m) = (2, 4, 6) with h = 2 heads of width d = 3:

    Q = einsum("bqm,mhd->bqhd", x, wq); K, V likewise with wk, wv
    S = einsum("bqhd,bkhd->bhqk", Q, K) / sqrt(d), with S[.., q, k] = -inf where k > q if causal
    A = softmax(S, axis=-1)
    y = einsum("bqhd,hdm->bqm", einsum("bhqk,bkhd->bqhd", A, V), wo)

Stored: ``x``, ``params`` (``wq``, ``wk``, ``wv`` of shape (m, h, d), ``wo`` of shape (h, d, m)),
``upstream`` (G, shaped like y), and for ``causal`` false and true: the output y, the scalar loss
``sum(y * G)`` and its gradient with respect to x and every parameter (``jax.grad``).

Arrays are stored as ``{"shape": [...], "data": [...]}`` with ``data`` flattened in row-major (C)
order.
"""

import argparse
import json
import os

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platform_name", "cpu")

import jax.numpy as jnp  # noqa: E402  (after the config updates on purpose)

from reference_grads import Lcg, encode  # noqa: E402  (the same generator and array encoding)

BATCH, POSITIONS, WIDTH, HEADS, HEAD_WIDTH = 2, 4, 6, 2, 3
PARAMS = ["wq", "wk", "wv", "wo"]


def self_attention(x, params, causal):
    wq, wk, wv, wo = (params[name] for name in PARAMS)
    q = jnp.einsum("bqm,mhd->bqhd", x, wq)
    k = jnp.einsum("bkm,mhd->bkhd", x, wk)
    v = jnp.einsum("bkm,mhd->bkhd", x, wv)
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(float(wq.shape[2]))
    if causal:
        n = x.shape[1]
        future = jnp.arange(n)[None, :] > jnp.arange(n)[:, None]  # [q, k]: k > q
        scores = jnp.where(future, -jnp.inf, scores)
    weights = jax.nn.softmax(scores, axis=-1)
    return jnp.einsum("bqhd,hdm->bqm", jnp.einsum("bhqk,bkhd->bqhd", weights, v), wo)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-o", "--output", default=os.path.join(root, "tests", "fixtures", "attention.json")
    )
    args = parser.parse_args()

    rng = Lcg(2024)
    x = rng.array((BATCH, POSITIONS, WIDTH))
    params = {
        "wq": rng.array((WIDTH, HEADS, HEAD_WIDTH)),
        "wk": rng.array((WIDTH, HEADS, HEAD_WIDTH)),
        "wv": rng.array((WIDTH, HEADS, HEAD_WIDTH)),
        "wo": rng.array((HEADS, HEAD_WIDTH, WIDTH)),
    }
    upstream = rng.array((BATCH, POSITIONS, WIDTH))

    cases = []
    for causal in (False, True):

        def loss(x, params, causal=causal):
            return jnp.sum(self_attention(x, params, causal) * upstream)

        y = self_attention(jnp.asarray(x), {n: jnp.asarray(p) for n, p in params.items()}, causal)
        value, (gx, gparams) = jax.value_and_grad(loss, argnums=(0, 1))(
            jnp.asarray(x), {n: jnp.asarray(p) for n, p in params.items()}
        )
        cases.append(
            {
                "causal": causal,
                "output": encode(y),
                "loss": float(value),
                "grads": {"x": encode(gx), **{n: encode(gparams[n]) for n in PARAMS}},
            }
        )

    fixture = {
        "generator": "scripts/attention_reference.py",
        "jax_version": jax.__version__,
        "x": encode(x),
        "params": {n: encode(params[n]) for n in PARAMS},
        "upstream": encode(upstream),
        "cases": cases,
    }
    with open(args.output, "w") as f:
        f.write(json.dumps(fixture, indent=1))
        f.write("\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
