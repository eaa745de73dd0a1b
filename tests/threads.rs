//! Large steps use every rayon thread (one big product split into bands of rows or columns, or
//! along a long sum, one part per thread; the batch split across threads for many products): the results equal the
//! single-threaded ones up to the order of summation, and both equal ndarray's products.

mod common;

use common::assert::{assert_close, Tol};
use common::rng::Rng;
use einsum_runtime::{einsum, einsum_vjp};
use ndarray::{Array2, Array3, Axis};

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
}

/// Values uniform in [-0.5, 0.5).
fn filled(shape: &[usize], seed: u64) -> ndarray::ArrayD<f64> {
    Rng::new(seed).array(shape, -0.5, 0.5)
}

/// Sums of 256 products of values in [-0.5, 0.5]: rounding differences stay near 1e-13.
const TOL: Tol<'static> = Tol::abs(1e-11);

/// Sums of 3999 such products.
const LONG: Tol<'static> = Tol::abs(1e-10);

#[test]
fn one_large_product_on_two_threads_equals_one_thread() {
    let a: Array2<f64> = filled(&[256, 256], 1).into_dimensionality().unwrap();
    let b: Array2<f64> = filled(&[256, 256], 2).into_dimensionality().unwrap();
    let one = pool(1).install(|| einsum!("ij,jk->ik", a, b)).into_dyn();
    let two = pool(2).install(|| einsum!("ij,jk->ik", a, b)).into_dyn();
    assert_close("matmul 256, 1 vs 2 threads", &one, &two, TOL);
    assert_close("matmul 256 vs dot", &two, &a.dot(&b).into_dyn(), TOL);
}

#[test]
fn a_large_batch_on_two_threads_equals_one_thread() {
    let x: Array3<f64> = filled(&[16, 64, 64], 3).into_dimensionality().unwrap();
    let y: Array3<f64> = filled(&[16, 64, 64], 4).into_dimensionality().unwrap();
    let one = pool(1).install(|| einsum!("bij,bjk->bik", x, y)).into_dyn();
    let two = pool(2).install(|| einsum!("bij,bjk->bik", x, y)).into_dyn();
    assert_close("batched, 1 vs 2 threads", &one, &two, TOL);
    for (t, got) in two.axis_iter(Axis(0)).enumerate() {
        let want = x.index_axis(Axis(0), t).dot(&y.index_axis(Axis(0), t));
        assert_close("batched vs dot", &got, &want, TOL);
    }
    // The gradients take the same path.
    let g = filled(&[16, 64, 64], 5);
    let grads = |threads: usize| {
        pool(threads).install(|| {
            let (_, back) = einsum_vjp!("bij,bjk->bik", x, y);
            let (gx, gy) = back(&g.clone().into_dimensionality().unwrap());
            (gx.into_dyn(), gy.into_dyn())
        })
    };
    let (one, two) = (grads(1), grads(2));
    assert_close("batched dX, 1 vs 2 threads", &one.0, &two.0, TOL);
    assert_close("batched dY, 1 vs 2 threads", &one.1, &two.1, TOL);
}

#[test]
fn products_split_into_bands_equal_one_thread() {
    // Bands of rows (more rows than columns, an odd count split unevenly), of columns, with a
    // transposed operand, and a batch smaller than the pool (each product split in three).
    let a: Array2<f64> = filled(&[301, 150], 6).into_dimensionality().unwrap();
    let b: Array2<f64> = filled(&[150, 90], 7).into_dimensionality().unwrap();
    let c: Array2<f64> = filled(&[40, 200], 8).into_dimensionality().unwrap();
    let d: Array2<f64> = filled(&[200, 501], 9).into_dimensionality().unwrap();
    let bt = b.t().as_standard_layout().into_owned();
    let rows = |t| pool(t).install(|| einsum!("ij,jk->ik", a, b)).into_dyn();
    let cols = |t| pool(t).install(|| einsum!("ij,jk->ik", c, d)).into_dyn();
    let transposed = |t| pool(t).install(|| einsum!("ij,kj->ik", a, bt)).into_dyn();
    for (what, run, want) in [
        ("rows", &rows as &dyn Fn(usize) -> _, a.dot(&b)),
        ("columns", &cols, c.dot(&d)),
        ("transposed b", &transposed, a.dot(&b)),
    ] {
        let (one, two) = (run(1), run(2));
        assert_close(&format!("{what}, 1 vs 2 threads"), &one, &two, TOL);
        assert_close(&format!("{what} vs dot"), &two, &want.into_dyn(), TOL);
    }
    // A sum much longer than the sides is split along the sum: parts of 2000 and 1999 (two
    // threads) or three parts (three threads), each added into the result.
    let (p, q) = (filled(&[24, 3999], 12), filled(&[3999, 26], 13));
    let (p, q): (Array2<f64>, Array2<f64>) = (
        p.into_dimensionality().unwrap(),
        q.into_dimensionality().unwrap(),
    );
    let long = |t| pool(t).install(|| einsum!("ij,jk->ik", p, q)).into_dyn();
    let one = long(1);
    for threads in [2, 3] {
        assert_close(
            &format!("long sum, 1 vs {threads} threads"),
            &one,
            &long(threads),
            LONG,
        );
    }
    assert_close("long sum vs dot", &one, &p.dot(&q).into_dyn(), LONG);
    let x: Array3<f64> = filled(&[2, 200, 100], 10).into_dimensionality().unwrap();
    let y: Array3<f64> = filled(&[2, 100, 120], 11).into_dimensionality().unwrap();
    let one = pool(1).install(|| einsum!("bij,bjk->bik", x, y)).into_dyn();
    let three = pool(3).install(|| einsum!("bij,bjk->bik", x, y)).into_dyn();
    assert_close("batch of 2, 1 vs 3 threads", &one, &three, TOL);
    for (t, got) in three.axis_iter(Axis(0)).enumerate() {
        let want = x.index_axis(Axis(0), t).dot(&y.index_axis(Axis(0), t));
        assert_close("batch of 2 vs dot", &got, &want, TOL);
    }
}
