#!/usr/bin/env python3
"""Reference contraction-order costs from opt_einsum for chain, star and matrix-product-state networks.

Writes ``tests/fixtures/paths.json``, which ``tests/paths.rs`` compares ``einsum_runtime::einsum_path``
against. The fixture is checked in, so neither CI nor ``cargo test`` needs Python; rerun this script
only to regenerate it.

Usage (from the repository root):

    python3 -m venv scripts/.venv
    scripts/.venv/bin/pip install -r scripts/requirements-path.txt
    scripts/.venv/bin/python scripts/path_fixture.py             # writes tests/fixtures/paths.json
    scripts/.venv/bin/python scripts/path_fixture.py -o out.json  # or somewhere else

For every network the fixture stores the pattern (explicit output), the operand shapes and, per
optimizer, opt_einsum's ``contract_path`` result: the linear path and ``opt_cost``. Optimizers:
``greedy`` (always), ``dp`` (exact over connected contractions; always) and ``optimal`` (brute force,
only up to 8 operands). ``opt_cost`` counts, per step, the product of the extents of all labels the
step touches, times 2 if the step sums a label away (``opt_einsum.helpers.flop_count``); the crate's
``Path::flops`` uses the same definition. ``naive_cost`` is the one-loop-nest count.
"""

import argparse
import json
import random
import string

import opt_einsum

LETTERS = string.ascii_lowercase + string.ascii_uppercase


class Labels:
    """Hands out fresh single-letter labels."""

    def __init__(self):
        self.next = 0

    def take(self):
        label = LETTERS[self.next]
        self.next += 1
        return label


def chain(n, extents):
    """A product of ``n`` matrices, ``ab,bc,cd,...->a<last>``; ``extents`` has ``n + 1`` entries."""
    labels = LETTERS[: n + 1]
    terms = [labels[i] + labels[i + 1] for i in range(n)]
    shapes = [[extents[i], extents[i + 1]] for i in range(n)]
    return ",".join(terms) + "->" + labels[0] + labels[n], shapes


def star(legs, center, leaf, keep_outer):
    """A center tensor with ``legs`` labels, each contracted with a leaf matrix: the Tucker-style
    ``abcd,aA,bB,cC,dD->ABCD`` (``keep_outer``) or, summed to a scalar, with vectors ``a,b,c,d``."""
    fresh = Labels()
    inner = [fresh.take() for _ in range(legs)]
    outer = [fresh.take() for _ in range(legs)] if keep_outer else []
    terms = ["".join(inner)]
    shapes = [[center[i] for i in range(legs)]]
    for i in range(legs):
        if keep_outer:
            terms.append(inner[i] + outer[i])
            shapes.append([center[i], leaf[i]])
        else:
            terms.append(inner[i])
            shapes.append([center[i]])
    return ",".join(terms) + "->" + "".join(outer), shapes


def hub(n, hub_extent, legs):
    """``n`` matrices sharing one hub label ``a``: ``ab,ac,ad,...->bcd...`` summed over ``a`` only
    partially (the output keeps the first two private labels)."""
    fresh = Labels()
    h = fresh.take()
    private = [fresh.take() for _ in range(n)]
    terms = [h + p for p in private]
    shapes = [[hub_extent, legs[i]] for i in range(n)]
    return ",".join(terms) + "->" + "".join(private[:2]), shapes


def mps_inner(sites, d, bonds):
    """⟨A|B⟩ of two open-boundary MPS: bra tensors, then ket tensors; ``bonds`` has ``sites - 1``
    extents per state (bra, ket)."""
    fresh = Labels()
    phys = [fresh.take() for _ in range(sites)]
    bra = [fresh.take() for _ in range(sites - 1)]
    ket = [fresh.take() for _ in range(sites - 1)]
    terms, shapes = [], []
    for bond, extents in ((bra, bonds[0]), (ket, bonds[1])):
        for i in range(sites):
            left = [bond[i - 1]] if i > 0 else []
            right = [bond[i]] if i < sites - 1 else []
            terms.append("".join(left + [phys[i]] + right))
            shapes.append(
                ([extents[i - 1]] if i > 0 else [])
                + [d]
                + ([extents[i]] if i < sites - 1 else [])
            )
    return ",".join(terms) + "->", shapes


def mps_expectation(sites, d, bond, mpo_bond):
    """⟨A|W|A⟩ with an MPO ``W`` between two MPS: three rows of ``sites`` tensors."""
    fresh = Labels()
    top = [fresh.take() for _ in range(sites)]
    bottom = [fresh.take() for _ in range(sites)]
    bonds = [[fresh.take() for _ in range(sites - 1)] for _ in range(3)]
    terms, shapes = [], []
    for row, (b, extent) in enumerate(zip(bonds, (bond, mpo_bond, bond))):
        for i in range(sites):
            left = [b[i - 1]] if i > 0 else []
            right = [b[i]] if i < sites - 1 else []
            mids = {0: [top[i]], 1: [top[i], bottom[i]], 2: [bottom[i]]}[row]
            terms.append("".join(left + mids + right))
            shapes.append(
                ([extent] if i > 0 else []) + [d] * len(mids) + ([extent] if i < sites - 1 else [])
            )
    return ",".join(terms) + "->", shapes


def networks():
    rng = random.Random(20240611)
    out = []

    def add(kind, name, pattern_shapes):
        pattern, shapes = pattern_shapes
        out.append({"kind": kind, "name": name, "pattern": pattern, "shapes": shapes})

    for n in (4, 6, 8, 10, 14):
        extents = [rng.choice([2, 3, 5, 8, 13, 21, 34]) for _ in range(n + 1)]
        add("chain", f"chain-{n}", chain(n, extents))
    add("chain", "chain-9-uniform", chain(9, [10] * 10))
    add("star", "tucker-4", star(4, [6, 7, 8, 9], [3, 20, 4, 30], True))
    add("star", "tucker-6", star(6, [3, 4, 3, 5, 4, 3], [2, 9, 3, 8, 2, 7], True))
    add("star", "star-vectors-8", star(8, [3, 2, 4, 3, 2, 3, 4, 2], None, False))
    add("star", "hub-11", hub(11, 6, [rng.choice([2, 3, 4, 5, 6]) for _ in range(11)]))
    add("mps", "mps-3", mps_inner(3, 2, ([8, 8], [4, 4])))
    add("mps", "mps-4", mps_inner(4, 3, ([6, 12, 6], [6, 12, 6])))
    add("mps", "mps-5", mps_inner(5, 2, ([4, 8, 8, 4], [2, 4, 4, 2])))
    add("mps", "mps-6", mps_inner(6, 2, ([2, 4, 8, 4, 2], [2, 4, 8, 4, 2])))
    add("mps", "mps-6-wide", mps_inner(6, 16, ([8] * 5, [8] * 5)))
    add("mps", "mps-7", mps_inner(7, 4, ([4, 16, 32, 32, 16, 4], [4, 16, 16, 16, 16, 4])))
    add("mps", "mpo-sandwich-3", mps_expectation(3, 2, 8, 3))
    add("mps", "mpo-sandwich-4", mps_expectation(4, 2, 10, 4))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default="tests/fixtures/paths.json")
    args = parser.parse_args()

    records = []
    for net in networks():
        n = len(net["shapes"])
        dummies = [tuple(s) for s in net["shapes"]]
        record = dict(net, optimizers={})
        for optimizer in ("greedy", "dp", "optimal"):
            if optimizer == "optimal" and n > 8:
                continue
            path, info = opt_einsum.contract_path(
                net["pattern"], *dummies, shapes=True, optimize=optimizer
            )
            record["optimizers"][optimizer] = {
                "path": [list(step) for step in path],
                "opt_cost": int(info.opt_cost),
            }
            record["naive_cost"] = int(info.naive_cost)
        records.append(record)
        costs = {k: v["opt_cost"] for k, v in record["optimizers"].items()}
        print(f"{net['name']:>16} ({n:>2} operands): {costs}")

    fixture = {
        "generator": "scripts/path_fixture.py",
        "opt_einsum": opt_einsum.__version__,
        "cost": "opt_einsum.helpers.flop_count: per step, the product of the extents of the labels "
        "it touches, times 2 if it sums a label away",
        "networks": records,
    }
    with open(args.output, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
