//! Central finite differences: of any scalar function of one array, and of the einsum objective
//! `sum(G * reference(ops))` that the gradient checks differentiate.

use ndarray::{ArrayD, ArrayViewD};

use super::reference::{reference, views};

/// The step of the einsum objective's differences. The objective is linear in each operand element,
/// so central differences have no truncation error at any step; 1e-3 keeps their rounding small.
pub const STEP: f64 = 1e-3;

/// `(f(x + h e_i) - f(x - h e_i)) / 2h` for every element `i` of `x`.
pub fn central_difference(
    x: &ArrayD<f64>,
    h: f64,
    mut f: impl FnMut(&ArrayD<f64>) -> f64,
) -> ArrayD<f64> {
    let mut work = x.clone();
    let mut grad = ArrayD::zeros(x.raw_dim());
    for (idx, g) in grad.indexed_iter_mut() {
        let x0 = x[&idx];
        work[&idx] = x0 + h;
        let plus = f(&work);
        work[&idx] = x0 - h;
        let minus = f(&work);
        work[&idx] = x0;
        *g = (plus - minus) / (2.0 * h);
    }
    grad
}

/// `(f(x + h d) - f(x - h d)) / 2h`: the derivative of `f` at `x` in direction `d`.
pub fn directional_difference(
    x: &ArrayD<f64>,
    d: &ArrayD<f64>,
    h: f64,
    mut f: impl FnMut(&ArrayD<f64>) -> f64,
) -> f64 {
    let plus = f(&(x + &(d * h)));
    let minus = f(&(x - &(d * h)));
    (plus - minus) / (2.0 * h)
}

/// `sum(G * reference(ops))`.
pub fn objective(pattern: &str, ops: &[ArrayViewD<'_, f64>], g: &ArrayD<f64>) -> f64 {
    let z = reference(pattern, ops);
    assert_eq!(z.shape(), g.shape(), "objective: G's shape");
    z.iter().zip(g.iter()).map(|(a, b)| a * b).sum()
}

/// [`objective`] with operand `k` replaced by `x`.
fn objective_at(
    pattern: &str,
    ops: &[ArrayD<f64>],
    g: &ArrayD<f64>,
    k: usize,
    x: &ArrayD<f64>,
) -> f64 {
    let mut v = views(ops);
    v[k] = x.view();
    objective(pattern, &v, g)
}

/// Central differences (step [`STEP`]) of [`objective`] with respect to every element of operand `k`.
pub fn finite_difference(
    pattern: &str,
    ops: &[ArrayD<f64>],
    g: &ArrayD<f64>,
    k: usize,
) -> ArrayD<f64> {
    central_difference(&ops[k], STEP, |x| objective_at(pattern, ops, g, k, x))
}

/// The derivative of [`objective`] at `ops` in direction `d` of operand `k` (step [`STEP`]).
pub fn directional_finite_difference(
    pattern: &str,
    ops: &[ArrayD<f64>],
    g: &ArrayD<f64>,
    k: usize,
    d: &ArrayD<f64>,
) -> f64 {
    directional_difference(&ops[k], d, STEP, |x| objective_at(pattern, ops, g, k, x))
}

/// Per element of operand `k`, the sum of |G| * |products| that its gradient adds up: the rounding
/// scale of that gradient element (the objective is linear in each operand, so a unit step is exact).
pub fn gradient_scale(
    pattern: &str,
    ops: &[ArrayD<f64>],
    g: &ArrayD<f64>,
    k: usize,
) -> ArrayD<f64> {
    let mut work: Vec<ArrayD<f64>> = ops.iter().map(|a| a.mapv(f64::abs)).collect();
    let g = g.mapv(f64::abs);
    let base = objective(pattern, &views(&work), &g);
    let mut scale = ArrayD::zeros(ops[k].raw_dim());
    for idx in ndarray::indices(ops[k].raw_dim()) {
        let x = work[k][idx.clone()];
        work[k][idx.clone()] = x + 1.0;
        scale[idx.clone()] = objective(pattern, &views(&work), &g) - base;
        work[k][idx] = x;
    }
    scale
}
