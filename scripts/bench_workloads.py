"""The workloads of `benches/workloads.rs`, for `compare_numpy.py` and `bench_table.py`. Standard library only.

Each workload has an id (the first word of the criterion group `"<id> <dtype> <threads>t"`), a
pattern, the extent of every label, the threads it runs on, and its work: `flops` (2 per
multiply-add of the GEMM-shaped steps, so 2*m*n*k per product) or `bytes` (the bytes a perfect
implementation reads and writes: every input element it needs once, every output element once).
`vjp` workloads time the value and both operands' gradients (three products: 3x the forward's flops).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    id: str
    title: str
    pattern: str
    extents: dict[str, int]
    threads: tuple[int, ...]
    kind: str  # "flops" or "bytes"
    work_elems: int  # flops, or elements moved (bytes = elements * itemsize)
    vjp: bool = False

    def shapes(self) -> list[tuple[int, ...]]:
        terms = self.pattern.split("->")[0].split(",")
        return [tuple(self.extents[c] for c in t) for t in terms]

    def out_shape(self) -> tuple[int, ...]:
        return tuple(self.extents[c] for c in self.pattern.split("->")[1])

    def work(self, itemsize: int) -> float:
        return self.work_elems * (itemsize if self.kind == "bytes" else 1)


def _gemm(*dims: int) -> int:
    out = 2
    for d in dims:
        out *= d
    return out


N = 2048
WORKLOADS = [
    Workload("tiny-3x4x5", "tiny matmul 3x4 · 4x5", "ij,jk->ik", dict(i=3, j=4, k=5), (1,), "flops", _gemm(3, 4, 5)),
    Workload("matmul-128", "matmul 128", "ij,jk->ik", dict(i=128, j=128, k=128), (1,), "flops", _gemm(128, 128, 128)),
    Workload("matmul-512", "matmul 512", "ij,jk->ik", dict(i=512, j=512, k=512), (1,), "flops", _gemm(512, 512, 512)),
    Workload("matmul-1024", "matmul 1024", "ij,jk->ik", dict(i=1024, j=1024, k=1024), (1, 2), "flops",
             _gemm(1024, 1024, 1024)),
    Workload("batched-64", "batched b=i=j=k=64", "bij,bjk->bik", dict(b=64, i=64, j=64, k=64), (1, 2), "flops",
             _gemm(64, 64, 64, 64)),
    Workload("attention", "attention b4 h8 q=k128 d64", "bhqd,bhkd->bhqk", dict(b=4, h=8, q=128, k=128, d=64), (1, 2),
             "flops", _gemm(4, 8, 128, 128, 64)),
    Workload("chain-256", "chain 3 x 256²", "ij,jk,kl->il", dict(i=256, j=256, k=256, l=256), (1,), "flops",
             2 * _gemm(256, 256, 256)),
    Workload("abc-bcd-64", "abc,bcd->ad 64", "abc,bcd->ad", dict(a=64, b=64, c=64, d=64), (1, 2), "flops",
             _gemm(64, 64, 64, 64)),
    Workload("abcd-cdef", "abcd,cdef->abef 32,16,32,16,32,16", "abcd,cdef->abef",
             dict(a=32, b=16, c=32, d=16, e=32, f=16), (1,), "flops", _gemm(512, 512, 512)),
    Workload("matmul-512-vjp", "matmul 512 fwd+bwd", "ij,jk->ik", dict(i=512, j=512, k=512), (1,), "flops",
             3 * _gemm(512, 512, 512), vjp=True),
    Workload("attention-vjp", "attention fwd+bwd", "bhqd,bhkd->bhqk", dict(b=4, h=8, q=128, k=128, d=64), (1,),
             "flops", 3 * _gemm(4, 8, 128, 128, 64), vjp=True),
    Workload("transpose-2048", "transpose 2048²", "ij->ji", dict(i=N, j=N), (1,), "bytes", 2 * N * N),
    Workload("outer-2048", "outer 2048", "i,j->ij", dict(i=N, j=N), (1,), "bytes", N * N + 2 * N),
    Workload("sum-2048", "sum 2048²", "ij->", dict(i=N, j=N), (1,), "bytes", N * N),
    Workload("inner-2048", "inner 2048²", "ij,ij->", dict(i=N, j=N), (1,), "bytes", 2 * N * N),
    Workload("diagonal-2048", "diagonal 2048", "ii->i", dict(i=N), (1,), "bytes", 2 * N),
    Workload("trace-2048", "trace 2048", "ii->", dict(i=N), (1,), "bytes", N),
]
BY_ID = {w.id: w for w in WORKLOADS}

# Competitors that are einsum implementations: the ratio is taken against the fastest of these.
EINSUM_COMPETITORS = ["numpy.einsum", "numpy.einsum optimize", "opt_einsum", "jax.jit einsum", "ndarray-einsum"]


def vjp_patterns(pattern: str) -> tuple[str, str]:
    """The gradient einsums of a two-operand pattern without repeated or operand-only labels."""
    lhs, out = pattern.split("->")
    x, y = lhs.split(",")
    return f"{out},{y}->{x}", f"{x},{out}->{y}"
