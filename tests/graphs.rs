//! Graph shapes for the autograd engine: an operand used twice, a diamond, a node reached by paths
//! of different lengths (where the seed post's breadth-first walk is wrong), constant branches,
//! `zero_grad` and repeated `backward`. Expected gradients are derived by hand in each test and, where
//! noted, also checked by central finite differences. Tolerances are relative to the largest
//! magnitude of the expected array (`Tol::rel(..).of_largest()`).

mod common;

use common::assert::{assert_close, Tol};
use common::finite_diff::central_difference;
use einsum_runtime::{einsum, Var};
use ndarray::{Array2, ArrayD, IxDyn};

fn mat(rows: usize, cols: usize, seed: usize) -> ArrayD<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        // Distinct, non-trivial values in [-1, 1] without an RNG.
        (((i * 7 + j * 13 + seed * 5) % 17) as f64 - 8.0) / 8.0 + 0.03 * seed as f64
    })
    .into_dyn()
}

/// The step of the central differences (of polynomials of values in [-1, 1]).
const H: f64 = 1e-6;

fn scalar(v: &Var<f64>) -> f64 {
    *v.data().first().expect("a one-element value")
}

#[test]
fn operand_used_twice_gets_both_contributions() {
    let x0 = mat(3, 4, 1);
    let x = Var::new(x0.clone());
    let loss = einsum!("ij,ij->", x, x); // sum of squares
    loss.backward();
    assert_close(
        "x used twice",
        &x.grad().unwrap(),
        &(&x0 * 2.0),
        Tol::rel(1e-15).of_largest(),
    );

    // The same through a reference and a clone of the handle: one node, still 2x.
    let y = Var::new(x0.clone());
    let y2 = y.clone();
    einsum!("ij,ij->", &y, y2).backward();
    assert_close(
        "y through a reference and a clone",
        &y.grad().unwrap(),
        &(&x0 * 2.0),
        Tol::rel(1e-15).of_largest(),
    );

    // x·x as a matrix product: d/dx sum(G ∘ (x x)) = G xᵀ + xᵀ G.
    let s0 = mat(3, 3, 2);
    let g0 = mat(3, 3, 3);
    let s = Var::new(s0.clone());
    einsum!("ij,jk->ik", s, s).backward_with(g0.clone());
    let s2 = s0.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
    let g2 = g0.into_dimensionality::<ndarray::Ix2>().unwrap();
    let want = (g2.dot(&s2.t()) + s2.t().dot(&g2)).into_dyn();
    assert_close(
        "s in a matrix product with itself",
        &s.grad().unwrap(),
        &want,
        Tol::rel(1e-14).of_largest(),
    );
}

#[test]
fn diamond_accumulates_both_paths() {
    // a = x w;  b = row sums of a;  c = column sums of a;  loss = sum_i sum_k b_i c_k = S², S = sum(a).
    // d loss / d x_ij = 2 S r_j with r_j = sum_k w_jk: S r_j from the path through b and the same
    // again through c.
    let x0 = mat(3, 4, 4);
    let w0 = mat(4, 2, 5);
    let x = Var::new(x0.clone());
    let w = Var::constant(w0.clone());
    let a = einsum!("ij,jk->ik", x, w);
    let b = einsum!("ik->i", a);
    let c = einsum!("ik->k", a);
    let loss = einsum!("i,k->", b, c);
    loss.backward();

    let s: f64 = a.data().sum();
    assert!((scalar(&loss) - s * s).abs() <= 1e-12 * (s * s).abs().max(1.0));
    let r: Vec<f64> = (0..4).map(|j| (0..2).map(|k| w0[[j, k]]).sum()).collect();
    let want = ArrayD::from_shape_fn(IxDyn(&[3, 4]), |ix| 2.0 * s * r[ix[1]]);
    assert_close(
        "diamond",
        &x.grad().unwrap(),
        &want,
        Tol::rel(1e-13).of_largest(),
    );
    assert!(w.grad().is_none(), "a constant gets no gradient");
    assert!(a.grad().is_none(), "intermediate nodes keep no gradient");

    // And by finite differences of the whole function.
    let fd = central_difference(&x0, H, |x| {
        let a = einsum!("ij,jk->ik", x, w0);
        let b = einsum!("ik->i", a);
        let c = einsum!("ik->k", a);
        einsum!("i,k->", b, c).into_scalar()
    });
    assert_close(
        "diamond vs finite differences",
        &x.grad().unwrap(),
        &fd,
        Tol::rel(1e-7).of_largest(),
    );
}

#[test]
fn node_reached_by_paths_of_different_lengths() {
    // loss = f(g(h(x)), h(x)) with h = x w, g(h) = h ∘ h, f(g, h) = sum(g ∘ h) = sum(h³).
    // h is a parent of the loss (path length 1) and of g (path length 2). A breadth-first walk from
    // the loss runs h's backward as soon as it is first reached, before g's contribution arrives, and
    // loses the path through g. Correct: d loss / d h = 3 h², d loss / d x = 3 h² wᵀ.
    let x0 = mat(2, 3, 6);
    let w0 = mat(3, 4, 7);
    let x = Var::new(x0.clone());
    let w = Var::new(w0.clone());
    let h = einsum!("ij,jk->ik", x, w);
    let g = einsum!("ik,ik->ik", h, h);
    let loss = einsum!("ik,ik->", g, h);
    loss.backward();

    let h0 = h
        .data()
        .as_ref()
        .clone()
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap();
    let dh = h0.mapv(|v| 3.0 * v * v);
    let w2 = w0.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
    let x2 = x0.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
    assert_close(
        "x",
        &x.grad().unwrap(),
        &dh.dot(&w2.t()).into_dyn(),
        Tol::rel(1e-13).of_largest(),
    );
    assert_close(
        "w",
        &w.grad().unwrap(),
        &x2.t().dot(&dh).into_dyn(),
        Tol::rel(1e-13).of_largest(),
    );

    let loss_of = |x: &ArrayD<f64>, w: &ArrayD<f64>| {
        let h = einsum!("ij,jk->ik", x, w);
        let g = einsum!("ik,ik->ik", h, h);
        einsum!("ik,ik->", g, h).into_scalar()
    };
    assert_close(
        "x vs finite differences",
        &x.grad().unwrap(),
        &central_difference(&x0, H, |x| loss_of(x, &w0)),
        Tol::rel(1e-7).of_largest(),
    );
    assert_close(
        "w vs finite differences",
        &w.grad().unwrap(),
        &central_difference(&w0, H, |w| loss_of(&x0, w)),
        Tol::rel(1e-7).of_largest(),
    );

    // A leaf reached by paths of lengths 1 and 2: sum(x ∘ (x ∘ x)) = sum(x³) → 3x².
    let y = Var::new(x0.clone());
    let cube = einsum!("ij,ij->", y, einsum!("ij,ij->ij", y, y));
    cube.backward();
    assert_close(
        "x in sum(x ∘ (x ∘ x))",
        &y.grad().unwrap(),
        &x0.mapv(|v| 3.0 * v * v),
        Tol::rel(1e-14).of_largest(),
    );

    // A long chain beside a short one: A = sum(h), B = sum(k(k(k(h)))) with k(u) = 2u (a constant
    // scalar times u), loss = A·B = 8A². h reaches the loss in 2 steps and in 5; d loss / d h = 16A
    // everywhere, so d loss / d x_ij = 16 A r_j with r_j = sum_k w_jk.
    let z = Var::new(x0.clone());
    let two = Var::constant(ndarray::arr0(2.0).into_dyn());
    let hz = einsum!("ij,jk->ik", z, w0);
    let k1 = einsum!(",ik->ik", two, hz);
    let k2 = einsum!(",ik->ik", two, k1);
    let k3 = einsum!(",ik->ik", two, k2);
    let sum_a = einsum!("ik->", hz);
    let sum_b = einsum!("ik->", k3);
    let loss = einsum!(",->", sum_a, sum_b);
    loss.backward();
    let a_val = scalar(&sum_a);
    let r: Vec<f64> = (0..3).map(|j| (0..4).map(|k| w0[[j, k]]).sum()).collect();
    let want = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |ix| 16.0 * a_val * r[ix[1]]);
    assert_close("z", &z.grad().unwrap(), &want, Tol::rel(1e-13).of_largest());
}

#[test]
fn constant_branches_get_no_gradient() {
    let x0 = mat(2, 3, 8);
    let c0 = mat(2, 3, 9);
    let x = Var::new(x0.clone());
    let c = Var::constant(c0.clone());
    // A branch made only of constants records nothing and is itself a constant.
    let k = einsum!("ij,ij->ij", c, c);
    assert!(!k.requires_grad());
    let loss = einsum!("ij,ij->", x, k);
    loss.backward();
    assert_close(
        "x beside a constant branch",
        &x.grad().unwrap(),
        &(&c0 * &c0),
        Tol::rel(1e-15).of_largest(),
    );
    assert!(c.grad().is_none());
    assert!(k.grad().is_none());

    // Arrays passed beside a Var are constants too.
    let y = Var::new(x0.clone());
    einsum!("ij,ij->", y, c0).backward();
    assert_close(
        "y beside an array",
        &y.grad().unwrap(),
        &c0,
        Tol::rel(1e-15).of_largest(),
    );

    // A detached copy is a constant: sum(x ∘ detach(x)) has gradient x, not 2x.
    let z = Var::new(x0.clone());
    let d = z.detach();
    einsum!("ij,ij->", z, d).backward();
    assert_close(
        "z beside its detached copy",
        &z.grad().unwrap(),
        &x0,
        Tol::rel(1e-15).of_largest(),
    );
    assert!(d.grad().is_none());

    // backward from a constant does nothing and does not panic.
    let only_constants = einsum!("ij->", c);
    only_constants.backward();
    assert!(c.grad().is_none());

    // A leaf that tracks a gradient but is not on the path to the loss keeps None.
    let unused = Var::new(x0.clone());
    let _side = einsum!("ij->", unused);
    let w = Var::new(x0);
    einsum!("ij->", w).backward();
    assert!(unused.grad().is_none());
}

#[test]
fn zero_grad_clears_and_backward_twice_accumulates() {
    let x0 = mat(3, 2, 10);
    let w0 = mat(2, 2, 11);
    let x = Var::new(x0.clone());
    let w = Var::new(w0);
    let loss = einsum!("ik->", einsum!("ij,jk->ik", x, w));

    loss.backward();
    let once_x = x.grad().unwrap();
    let once_w = w.grad().unwrap();

    // Same graph again: gradients add up.
    loss.backward();
    assert_close(
        "x after two passes",
        &x.grad().unwrap(),
        &(&once_x * 2.0),
        Tol::rel(1e-15).of_largest(),
    );
    assert_close(
        "w after two passes",
        &w.grad().unwrap(),
        &(&once_w * 2.0),
        Tol::rel(1e-15).of_largest(),
    );

    x.zero_grad();
    assert!(x.grad().is_none());
    assert_close(
        "w after zero_grad of x",
        &w.grad().unwrap(),
        &(&once_w * 2.0),
        Tol::rel(1e-15).of_largest(),
    );

    loss.backward();
    assert_close(
        "x after zero_grad and a third pass",
        &x.grad().unwrap(),
        &once_x,
        Tol::rel(1e-15).of_largest(),
    );
    assert_close(
        "w after three passes",
        &w.grad().unwrap(),
        &(&once_w * 3.0),
        Tol::rel(1e-15).of_largest(),
    );
}
