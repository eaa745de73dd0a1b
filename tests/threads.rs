//! Large steps use every rayon thread (the `gemm` crate's own parallelism for one big product, the
//! batch split across threads for many): the results equal the single-threaded ones up to the order
//! of summation, and both equal ndarray's products.

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
