//! Benchmarks of the code `einsum!` generates, each beside a second route to the same result:
//! ndarray's `dot` (BLAS-like, matrixmultiply) or a hand-written loop. Inputs are built outside the
//! timed closures. Run with `cargo bench --bench kernels`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use einsum_runtime::{einsum, einsum_vjp};
use ndarray::{Array1, Array2, Array4, Axis};

fn matrix(rows: usize, cols: usize, seed: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        ((i * 31 + j * 17 + seed) % 23) as f64 / 11.0 - 1.0
    })
}

fn matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("ij,jk->ik");
    for n in [16, 64, 256] {
        let (a, b) = (matrix(n, n, 1), matrix(n, n, 2));
        group.bench_with_input(BenchmarkId::new("einsum", n), &n, |bench, _| {
            bench.iter(|| einsum!("ij,jk->ik", black_box(&a), black_box(&b)));
        });
        group.bench_with_input(BenchmarkId::new("ndarray dot", n), &n, |bench, _| {
            bench.iter(|| black_box(&a).dot(black_box(&b)));
        });
    }
    group.finish();
}

fn attention_scores(c: &mut Criterion) {
    let mut group = c.benchmark_group("bhqd,bhkd->bhqk");
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

fn small_and_elementwise(c: &mut Criterion) {
    let mut group = c.benchmark_group("small");
    let m = matrix(256, 256, 3);
    group.bench_function("einsum ii-> (trace)", |bench| {
        bench.iter(|| einsum!("ii->", black_box(&m)));
    });
    group.bench_function("loop trace", |bench| {
        bench.iter(|| black_box(&m).diag().sum());
    });
    let v = Array1::from_shape_fn(1 << 16, |i| (i % 7) as f64);
    group.bench_function("einsum i,i-> (dot, 65536)", |bench| {
        bench.iter(|| einsum!("i,i->", black_box(&v), black_box(&v)));
    });
    group.bench_function("ndarray dot (65536)", |bench| {
        bench.iter(|| black_box(&v).dot(black_box(&v)));
    });
    group.bench_function("einsum ij,ij->ij (hadamard 256x256)", |bench| {
        bench.iter(|| einsum!("ij,ij->ij", black_box(&m), black_box(&m)));
    });
    group.bench_function("ndarray &m * &m", |bench| {
        bench.iter(|| black_box(&m) * black_box(&m));
    });
    group.bench_function("einsum ij->j (column sums)", |bench| {
        bench.iter(|| einsum!("ij->j", black_box(&m)));
    });
    group.bench_function("ndarray sum_axis(0)", |bench| {
        bench.iter(|| black_box(&m).sum_axis(Axis(0)));
    });
    group.finish();
}

fn chain_and_backward(c: &mut Criterion) {
    let mut group = c.benchmark_group("chain and backward");
    let (a, b, v) = (
        matrix(200, 300, 4),
        matrix(300, 100, 5),
        Array1::from_elem(100, 0.5),
    );
    group.bench_function("einsum ij,jk,k->i", |bench| {
        bench.iter(|| einsum!("ij,jk,k->i", black_box(&a), black_box(&b), black_box(&v)));
    });
    group.bench_function("dot a.(b.v)", |bench| {
        bench.iter(|| black_box(&a).dot(&black_box(&b).dot(black_box(&v))));
    });
    let (x, w) = (matrix(256, 256, 6), matrix(256, 256, 7));
    let (z, back) = einsum_vjp!("ij,jk->ik", x, w);
    let g = z.mapv(|t| t * 0.1);
    group.bench_function("einsum_vjp backward 256", |bench| {
        bench.iter(|| back(black_box(&g)));
    });
    group.bench_function("two dots (G.Wt, Xt.G) 256", |bench| {
        bench.iter(|| (black_box(&g).dot(&w.t()), x.t().dot(black_box(&g))));
    });
    group.finish();
}

criterion_group!(
    benches,
    matmul,
    attention_scores,
    small_and_elementwise,
    chain_and_backward
);
criterion_main!(benches);
