//! `gradcheck` at the suite's settings, and the weighted sums that let it see a whole Jacobian, for
//! the tests of `Var` ops (`autograd_ops`, `shape_ops`).

use einsum_runtime::{gradcheck, Var};
use ndarray::ArrayD;

use super::rng::Rng;

/// `gradcheck` in f64 with tight settings (step 1e-6, tolerance 1e-6), checking at least one element.
#[track_caller]
pub fn check64(f: impl Fn(&[Var<f64>]) -> Var<f64>, inputs: &[ArrayD<f64>]) {
    match gradcheck(f, inputs, 1e-6, 1e-6) {
        Ok(r) => assert!(r.max_error <= 1e-6 && r.checked > 0, "{r:?}"),
        Err(e) => panic!("{e}"),
    }
}

/// `gradcheck` in f32 with loose settings (step and tolerance 1e-2: central differences in single
/// precision), on the f64 inputs rounded to f32.
#[track_caller]
pub fn check32(f: impl Fn(&[Var<f32>]) -> Var<f32>, inputs: &[ArrayD<f64>]) {
    let inputs: Vec<ArrayD<f32>> = inputs.iter().map(|a| a.mapv(|x| x as f32)).collect();
    if let Err(e) = gradcheck(f, &inputs, 1e-2, 1e-2) {
        panic!("{e}");
    }
}

/// An array of `shape` uniform in [-1, 1), drawn from a generator seeded with `seed`.
pub fn seeded_array(shape: &[usize], seed: u64) -> ArrayD<f64> {
    Rng::new(seed).array(shape, -1.0, 1.0)
}

/// `sum(w ∘ y)` with the fixed weights `w = seeded_array(y.shape(), seed)`: unlike a plain sum, it
/// depends on every element of y in a different way, so gradcheck sees the whole Jacobian-vector
/// product.
pub fn weighted(y: &Var<f64>, seed: u64) -> Var<f64> {
    (y * seeded_array(&y.shape(), seed)).sum()
}

/// [`weighted`] in f32 (the same weights, rounded).
pub fn weighted32(y: &Var<f32>, seed: u64) -> Var<f32> {
    (y * seeded_array(&y.shape(), seed).mapv(|x| x as f32)).sum()
}
