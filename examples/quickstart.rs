//! A tour of `einsum!`: each result is checked against a second route (ndarray's own methods or a
//! plain loop) and the program fails loudly if any check fails.
//!
//! Run with `cargo run --release --example quickstart`.

use einsum_runtime::{einsum, einsum_vjp, try_einsum, Var};
use ndarray::{array, s, Array, Array2, Array3, ArrayD, Axis};

fn check(name: &str, ok: bool) {
    println!("{:<48} {}", name, if ok { "ok" } else { "MISMATCH" });
    assert!(ok, "{name}: einsum disagrees with the second route");
}

fn close<D: ndarray::Dimension>(a: &Array<f64, D>, b: &Array<f64, D>) -> bool {
    a.shape() == b.shape()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-9 * (1.0 + y.abs()))
}

fn main() {
    let a = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64 * 0.5 - 2.0);
    let b = Array2::from_shape_fn((4, 5), |(i, j)| ((i + 2 * j) % 7) as f64 - 3.0);

    let c: Array2<f64> = einsum!("ij,jk->ik", a, b);
    check(
        "matrix product  ij,jk->ik  vs  a.dot(&b)",
        close(&c, &a.dot(&b)),
    );

    let t = einsum!("ij->ji", a);
    check("transpose  ij->ji  vs  a.t()", close(&t, &a.t().to_owned()));

    let m = Array2::from_shape_fn((4, 4), |(i, j)| (i as f64) - 2.0 * j as f64);
    let tr = einsum!("ii->", m);
    check(
        "trace  ii->  vs  diag().sum()",
        (tr.into_scalar() - m.diag().sum()).abs() < 1e-12,
    );

    let d = einsum!("ii->i", m);
    check(
        "diagonal  ii->i  vs  diag()",
        close(&d, &m.diag().to_owned()),
    );

    let x: Array3<f64> = Array3::from_shape_fn((2, 3, 4), |(b, i, j)| (b + i * j) as f64);
    let y: Array3<f64> = Array3::from_shape_fn((2, 4, 2), |(b, j, k)| (b * j) as f64 - k as f64);
    let z = einsum!("bij,bjk->bik", x, y);
    let mut expected = Array3::zeros((2, 3, 2));
    for bi in 0..2 {
        expected
            .index_axis_mut(Axis(0), bi)
            .assign(&x.index_axis(Axis(0), bi).dot(&y.index_axis(Axis(0), bi)));
    }
    check(
        "batched product  bij,bjk->bik  vs  per-batch dot",
        close(&z, &expected),
    );

    let e: ArrayD<f64> = einsum!("...ij,...jk->...ik", x, y);
    check(
        "ellipsis  ...ij,...jk->...ik  vs  the same",
        close(&e, &expected.into_dyn()),
    );

    let v = array![1.0, 2.0, 3.0];
    let w = array![4.0, 5.0];
    let outer = einsum!("i,j->ij", v, w);
    let looped = Array2::from_shape_fn((3, 2), |(i, j)| v[i] * w[j]);
    check("outer product  i,j->ij  vs  a loop", close(&outer, &looped));

    let implicit = einsum!("ij,jk", a, b);
    check(
        "implicit output  ij,jk  vs  ij,jk->ik",
        close(&implicit, &c),
    );

    let chain = einsum!("ij,jk,kl->il", a, b, b.t());
    check(
        "three operands  ij,jk,kl->il  vs  dot chain",
        close(&chain, &a.dot(&b).dot(&b.t())),
    );

    let stepped = einsum!("ij,jk->ik", a.slice(s![..;-1, ..;2]), b.slice(s![..;2, ..]));
    let by_dot = a.slice(s![..;-1, ..;2]).dot(&b.slice(s![..;2, ..]));
    check(
        "negative and stepped strides  vs  dot",
        close(&stepped, &by_dot),
    );

    let err = try_einsum!("ij,jk->ik", a, a).unwrap_err();
    println!("a mismatch is an error, not a wrong answer:\n  {err}");

    let (z, back) = einsum_vjp!("ij,jk->ik", a, b);
    let g = Array2::ones(z.raw_dim());
    let (ga, gb) = back(&g);
    check(
        "einsum_vjp! gradients  vs  G·Bᵀ and Aᵀ·G",
        close(&ga, &g.dot(&b.t())) && close(&gb, &a.t().dot(&g)),
    );

    let xv = Var::new(a.clone().into_dyn());
    let wv = Var::new(b.clone().into_dyn());
    let loss = einsum!("ik->", einsum!("ij,jk->ik", xv, wv));
    loss.backward();
    let ones = Array2::<f64>::ones((3, 5));
    check(
        "Var::backward through two einsums  vs  by hand",
        close(&xv.grad().unwrap(), &ones.dot(&b.t()).into_dyn()),
    );
    println!("all checks passed");
}
