//! Benchmarks of the code `einsum!` and `einsum_vjp!` generate, each in one criterion group beside
//! other routes to the same result: ndarray's own routines (`dot`, `&a * &b`, `t().to_owned()`, ...)
//! and hand-written loops that, like `einsum!`, allocate their result.
//!
//! Naming contract (read by `scripts/bench_summary.py`): in every group the function `einsum` is the
//! forward pass; `einsum_vjp forward+back` times `einsum_vjp!` and one call of its backward closure,
//! `einsum_vjp back` the closure call alone; every other function is a competitor. Inputs and
//! upstream gradients are built outside the timed closures; outputs are dropped inside them, as the
//! competitors' are.
//!
//! Run with `cargo bench --bench kernels` (about four minutes), then
//! `python3 scripts/bench_summary.py` for the medians and ratios; see `docs/benchmarks.md`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use einsum_runtime::{einsum, einsum_vjp};
use ndarray::{Array1, Array2, Array4, Axis};

/// A deterministic matrix with entries in [-1, 1).
fn matrix(rows: usize, cols: usize, seed: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        ((i * 31 + j * 17 + seed) % 23) as f64 / 11.0 - 1.0
    })
}

/// `ij,jk->ik` as one would write it by hand (the same loops as `examples/tiny_loop.rs`).
#[path = "../examples/common/hand_matmul.rs"]
mod hand;
use hand::hand_matmul;

/// `ij,ij->ij` by hand.
fn hand_hadamard(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let (n, m) = a.dim();
    let mut c = Array2::zeros((n, m));
    for i in 0..n {
        for j in 0..m {
            c[[i, j]] = a[[i, j]] * b[[i, j]];
        }
    }
    c
}

/// `ij->ji` by hand, into a standard (row-major) result.
fn hand_transpose(a: &Array2<f64>) -> Array2<f64> {
    let (n, m) = a.dim();
    let mut c = Array2::zeros((m, n));
    for j in 0..m {
        for i in 0..n {
            c[[j, i]] = a[[i, j]];
        }
    }
    c
}

/// Benches `einsum_vjp!` for a two-operand pattern: forward plus one backward call, and the
/// backward call alone. `g` is the upstream gradient, shaped like the output.
macro_rules! bench_vjp2 {
    ($group:expr, $pattern:literal, $a:expr, $b:expr, $g:expr) => {{
        let (a, b, g) = (&$a, &$b, &$g);
        $group.bench_function("einsum_vjp forward+back", |bench| {
            bench.iter(|| {
                // `back` borrows the operands: bind them first (see `einsum_vjp!`'s docs).
                let (x, y) = (black_box(a), black_box(b));
                let (z, back) = einsum_vjp!($pattern, x, y);
                (z, back(black_box(g)))
            });
        });
        let (_, back) = einsum_vjp!($pattern, a, b);
        $group.bench_function("einsum_vjp back", |bench| {
            bench.iter(|| back(black_box(g)));
        });
    }};
}

/// Matrix products: the tiny 3x4 times 4x5 case (call overhead dominates), 16x16 and two larger sizes.
fn matmul(c: &mut Criterion) {
    for (n, m, p) in [(3, 4, 5), (16, 16, 16)] {
        let mut group = c.benchmark_group(format!("matmul {n}x{m} {m}x{p}"));
        let (a, b) = (matrix(n, m, 1), matrix(m, p, 2));
        group.bench_function("einsum", |bench| {
            bench.iter(|| einsum!("ij,jk->ik", black_box(&a), black_box(&b)));
        });
        group.bench_function("hand loops", |bench| {
            bench.iter(|| hand_matmul(black_box(&a), black_box(&b)));
        });
        group.bench_function("ndarray dot", |bench| {
            bench.iter(|| black_box(&a).dot(black_box(&b)));
        });
        bench_vjp2!(group, "ij,jk->ik", a, b, matrix(n, p, 3));
        group.finish();
    }
    for n in [64, 256] {
        let mut group = c.benchmark_group(format!("matmul {n}x{n} {n}x{n}"));
        let (a, b) = (matrix(n, n, 1), matrix(n, n, 2));
        group.bench_function("einsum", |bench| {
            bench.iter(|| einsum!("ij,jk->ik", black_box(&a), black_box(&b)));
        });
        group.bench_function("ndarray dot", |bench| {
            bench.iter(|| black_box(&a).dot(black_box(&b)));
        });
        if n == 256 {
            bench_vjp2!(group, "ij,jk->ik", a, b, matrix(n, n, 3));
        }
        group.finish();
    }
}

/// Elementwise product `ij,ij->ij` of two 256x256 matrices.
fn hadamard(c: &mut Criterion) {
    let mut group = c.benchmark_group("hadamard 256x256");
    let (a, b) = (matrix(256, 256, 4), matrix(256, 256, 5));
    group.bench_function("einsum", |bench| {
        bench.iter(|| einsum!("ij,ij->ij", black_box(&a), black_box(&b)));
    });
    group.bench_function("ndarray &a * &b", |bench| {
        bench.iter(|| black_box(&a) * black_box(&b));
    });
    group.bench_function("hand loops", |bench| {
        bench.iter(|| hand_hadamard(black_box(&a), black_box(&b)));
    });
    let g = matrix(256, 256, 6);
    bench_vjp2!(group, "ij,ij->ij", a, b, g);
    // The same two gradients written by hand: what `einsum_vjp back` is measured against.
    group.bench_function("ndarray back by hand", |bench| {
        bench.iter(|| {
            let g = black_box(&g);
            (g * black_box(&b), g * black_box(&a))
        });
    });
    // The product and its two gradients written by hand, allocated and freed as `einsum_vjp
    // forward+back` allocates and frees them: what that row is measured against.
    group.bench_function("ndarray forward+back by hand", |bench| {
        bench.iter(|| {
            let (x, y, g) = (black_box(&a), black_box(&b), black_box(&g));
            (x * y, (g * y, g * x))
        });
    });
    group.finish();
}

/// Transpose `ij->ji` of a 256x256 matrix into a new array. `t().to_owned()` keeps the transposed
/// (column-major) memory order, so it is a plain copy; `as_standard_layout()` and `einsum!` return a
/// row-major array.
fn transpose(c: &mut Criterion) {
    let mut group = c.benchmark_group("transpose 256x256");
    let a = matrix(256, 256, 7);
    group.bench_function("einsum", |bench| {
        bench.iter(|| einsum!("ij->ji", black_box(&a)));
    });
    group.bench_function("ndarray t().to_owned()", |bench| {
        bench.iter(|| black_box(&a).t().to_owned());
    });
    group.bench_function("ndarray t().as_standard_layout()", |bench| {
        bench.iter(|| black_box(&a).t().as_standard_layout().into_owned());
    });
    group.bench_function("hand loops", |bench| {
        bench.iter(|| hand_transpose(black_box(&a)));
    });
    let g = matrix(256, 256, 8);
    group.bench_function("einsum_vjp forward+back", |bench| {
        bench.iter(|| {
            let x = black_box(&a);
            let (z, back) = einsum_vjp!("ij->ji", x);
            (z, back(black_box(&g)))
        });
    });
    let (_, back) = einsum_vjp!("ij->ji", a);
    group.bench_function("einsum_vjp back", |bench| {
        bench.iter(|| back(black_box(&g)));
    });
    group.finish();
}

/// Attention scores: a batched product over the last axis of both operands.
fn attention_scores(c: &mut Criterion) {
    let mut group = c.benchmark_group("attention bhqd,bhkd->bhqk 4x8x64x32");
    let (b, h, q, d) = (4, 8, 64, 32);
    let x = Array4::from_shape_fn((b, h, q, d), |(i, j, k, l)| {
        ((i + 3 * j + 5 * k + 7 * l) % 13) as f64 / 6.0 - 1.0
    });
    let y = x.mapv(|v| 0.5 - v);
    group.bench_function("einsum", |bench| {
        bench.iter(|| einsum!("bhqd,bhkd->bhqk", black_box(&x), black_box(&y)));
    });
    group.bench_function("per-head dot", |bench| {
        bench.iter(|| {
            let mut out = Array4::<f64>::zeros((b, h, q, q));
            for (mut o, (xb, yb)) in out.outer_iter_mut().zip(x.outer_iter().zip(y.outer_iter())) {
                for (mut oh, (xh, yh)) in
                    o.outer_iter_mut().zip(xb.outer_iter().zip(yb.outer_iter()))
                {
                    oh.assign(&xh.dot(&yh.t()));
                }
            }
            out
        });
    });
    group.finish();
}

/// Reductions and a chained contraction.
fn reductions(c: &mut Criterion) {
    let m = matrix(256, 256, 9);
    let mut group = c.benchmark_group("trace ii-> 256x256");
    group.bench_function("einsum", |bench| {
        bench.iter(|| einsum!("ii->", black_box(&m)));
    });
    group.bench_function("ndarray diag().sum()", |bench| {
        bench.iter(|| black_box(&m).diag().sum());
    });
    group.finish();

    let mut group = c.benchmark_group("column sums ij->j 256x256");
    group.bench_function("einsum", |bench| {
        bench.iter(|| einsum!("ij->j", black_box(&m)));
    });
    group.bench_function("ndarray sum_axis(0)", |bench| {
        bench.iter(|| black_box(&m).sum_axis(Axis(0)));
    });
    group.finish();

    // Row sums: each contiguous row summed as one lane. With short rows (four elements) the same
    // loops pay a lane call per row; that group shows the price.
    for (rows, cols) in [(256, 256), (4096, 4)] {
        let m = matrix(rows, cols, 12);
        let mut group = c.benchmark_group(format!("row sums ij->i {rows}x{cols}"));
        group.bench_function("einsum", |bench| {
            bench.iter(|| einsum!("ij->i", black_box(&m)));
        });
        group.bench_function("ndarray sum_axis(1)", |bench| {
            bench.iter(|| black_box(&m).sum_axis(Axis(1)));
        });
        group.finish();
    }

    let mut group = c.benchmark_group("dot i,i-> 65536");
    let v = Array1::from_shape_fn(1 << 16, |i| (i % 7) as f64);
    group.bench_function("einsum", |bench| {
        bench.iter(|| einsum!("i,i->", black_box(&v), black_box(&v)));
    });
    group.bench_function("ndarray dot", |bench| {
        bench.iter(|| black_box(&v).dot(black_box(&v)));
    });
    group.finish();

    let mut group = c.benchmark_group("chain ij,jk,k->i 200x300x100");
    let (a, b, v) = (
        matrix(200, 300, 10),
        matrix(300, 100, 11),
        Array1::from_elem(100, 0.5),
    );
    group.bench_function("einsum", |bench| {
        bench.iter(|| einsum!("ij,jk,k->i", black_box(&a), black_box(&b), black_box(&v)));
    });
    group.bench_function("ndarray a.dot(&b.dot(&v))", |bench| {
        bench.iter(|| black_box(&a).dot(&black_box(&b).dot(black_box(&v))));
    });
    group.finish();
}

/// Short runs (about 3 s per function): the ratios matter here, not the last percent. Command-line
/// options such as `--measurement-time` override these.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = matmul, hadamard, transpose, attention_scores, reductions
}
criterion_main!(benches);
