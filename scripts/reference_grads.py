#!/usr/bin/env python3
"""Reference gradients for the seed network and for einsum edge cases, computed with JAX.

Writes ``tests/fixtures/seed_network.json``, which ``tests/seed_network.rs`` and
``examples/seed_network.rs`` compare the crate's gradients against. The fixture is checked in, so
neither CI nor ``cargo test`` ever needs Python; rerun this script only to regenerate it.

Usage (from the repository root):

    python3 -m venv .venv-ref
    .venv-ref/bin/pip install -r scripts/requirements.txt
    .venv-ref/bin/python scripts/reference_grads.py            # writes tests/fixtures/seed_network.json
    .venv-ref/bin/python scripts/reference_grads.py -o out.json  # or somewhere else

Everything runs on the CPU in float64 (``jax_enable_x64``).

Inputs come from a small linear congruential generator written out below, not from a framework RNG,
and every value is a multiple of 1/512 in [-1, 1): exactly representable in binary and in the JSON
text, so the Rust side reads bit-identical inputs. The fixture stores the inputs anyway.

Contents:
- ``network``: the network at the end of the blog post "Einsum Gradient" that this crate starts from, i.e.
  x of shape (2, 3), weights of shapes (3, 4), (4, 5), (1, 2, 5), (5, 3) and patterns
  ``ij,jk->ik``, ``ij,jk->ik``, ``ij,cij->ij``, ``ab,bd->``, with ``x = sigmoid(einsum(p, x, w))``
  after each; the output is the final scalar. Stored: inputs, output, and ``jax.grad`` of the output
  with respect to x and every weight.
- ``cases``: single einsums that stress the gradient rule (repeated labels, size-1 broadcast,
  labels private to one operand, ellipsis, an operand used twice, ...), each with its operands, an
  upstream gradient, the forward value and the ``jax.vjp`` gradients (one per operand; for a case
  with ``"same_operand": true`` the single operand is passed in every position and ``grads`` holds
  one entry, the total gradient).

Arrays are stored as ``{"shape": [...], "data": [...]}`` with ``data`` flattened in row-major (C)
order; a scalar has shape ``[]`` and one datum.
"""

import argparse
import json
import os
import re

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platform_name", "cpu")

import jax.numpy as jnp  # noqa: E402  (after the config updates on purpose)
import numpy as np  # noqa: E402


class Lcg:
    """Knuth's MMIX 64-bit LCG. ``next_value`` returns k/512 for an integer k in [-512, 512)."""

    MUL = 6364136223846793005
    INC = 1442695040888963407
    MASK = (1 << 64) - 1

    def __init__(self, seed):
        self.state = seed & self.MASK

    def next_value(self):
        self.state = (self.state * self.MUL + self.INC) & self.MASK
        top10 = self.state >> 54  # the high bits of an LCG are the good ones
        return (top10 - 512) / 512.0

    def array(self, shape):
        n = int(np.prod(shape, dtype=np.int64))
        return np.array([self.next_value() for _ in range(n)], dtype=np.float64).reshape(shape)


def encode(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def network_fixture(rng):
    shapes = [(3, 4), (4, 5), (1, 2, 5), (5, 3)]
    patterns = ["ij,jk->ik", "ij,jk->ik", "ij,cij->ij", "ab,bd->"]
    x0 = rng.array((2, 3))
    weights = [rng.array(s) for s in shapes]

    def forward(x, ws):
        for p, w in zip(patterns, ws):
            x = jax.nn.sigmoid(jnp.einsum(p, x, w))
        return x

    out, (gx, gws) = jax.value_and_grad(forward, argnums=(0, 1))(
        jnp.asarray(x0), [jnp.asarray(w) for w in weights]
    )
    return {
        "patterns": patterns,
        "x": encode(x0),
        "weights": [encode(w) for w in weights],
        "output": float(out),
        "grad_x": encode(gx),
        "grad_weights": [encode(g) for g in gws],
    }


# (name, pattern, operand shapes, same_operand). With same_operand the one operand (shape given
# once) fills every term, so the gradient is the sum over its positions.
CASES = [
    ("diagonal", "ii->i", [(4, 4)], False),
    ("trace", "ii->", [(3, 3)], False),
    ("triple_diagonal_sum", "iii->", [(3, 3, 3)], False),
    ("diagonal_in_product", "iij,jk->ik", [(3, 3, 4), (4, 2)], False),
    ("size1_broadcast", "ij,cij->ij", [(2, 5), (1, 2, 5)], False),
    ("size1_broadcast_both_ways", "ij,ij->ij", [(3, 1), (1, 4)], False),
    ("private_labels", "ab,cd->ab", [(2, 3), (4, 5)], False),
    ("ellipsis_batched", "...ij,jk->...ik", [(2, 3, 4, 5), (5, 2)], False),
    ("ellipsis_broadcast", "...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)], False),
    ("ellipsis_summed", "...ij->j", [(2, 3, 4)], False),
    ("batched_matmul", "bij,bjk->bik", [(3, 2, 4), (3, 4, 5)], False),
    ("three_operands", "ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)], False),
    ("implicit_output", "ij,jk", [(3, 4), (4, 2)], False),
    ("transpose_permute", "ijk->kji", [(2, 3, 4)], False),
    ("outer_product", "i,j->ij", [(3,), (4,)], False),
    ("scalar_operand", ",ij->ij", [(), (2, 3)], False),
    ("operand_used_twice", "ij,jk->ik", [(3, 3)], True),
    ("operand_used_twice_sum", "ij,ij->", [(2, 3)], True),
]


def case_fixture(rng, name, pattern, shapes, same_operand):
    operands = [rng.array(s) for s in shapes]
    if same_operand:
        (x0,) = operands
        n_terms = pattern.split("->")[0].count(",") + 1

        def f(x):
            return jnp.einsum(pattern, *([x] * n_terms))

        out, vjp = jax.vjp(f, jnp.asarray(x0))
    else:

        def f(*xs):
            return jnp.einsum(pattern, *xs)

        out, vjp = jax.vjp(f, *[jnp.asarray(o) for o in operands])
    upstream = rng.array(np.shape(out))
    grads = vjp(jnp.asarray(upstream))
    return {
        "name": name,
        "pattern": pattern,
        "same_operand": same_operand,
        "operands": [encode(o) for o in operands],
        "upstream": encode(upstream),
        "output": encode(out),
        "grads": [encode(g) for g in grads],
    }


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-o",
        "--output",
        default=os.path.join(root, "tests", "fixtures", "seed_network.json"),
        help="where to write the fixture (default: tests/fixtures/seed_network.json)",
    )
    args = parser.parse_args()

    rng = Lcg(seed=10)  # the seed post uses torch.manual_seed(10)
    fixture = {
        "generator": "scripts/reference_grads.py",
        "jax_version": jax.__version__,
        "dtype": "float64",
        "network": network_fixture(rng),
        "cases": [case_fixture(rng, *c) for c in CASES],
    }
    text = json.dumps(fixture, indent=1)
    # One line per list of numbers or strings: shorter diffs and files than one value per line.
    text = re.sub(r"\[[^\[\]{}]*\]", lambda m: "[" + " ".join(m.group(0)[1:-1].split()) + "]", text)
    with open(args.output, "w") as f:
        f.write(text + "\n")
    print(f"wrote {args.output}: network output {fixture['network']['output']!r}, "
          f"{len(fixture['cases'])} einsum cases")


if __name__ == "__main__":
    main()
