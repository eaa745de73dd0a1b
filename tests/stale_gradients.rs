//! A backward pass uses exactly the values its forward pass ran on, even when a leaf's value is
//! replaced (by `set_data`, as every optimizer step does) between the two.
//!
//! For every op kind the test builds `loss = Σ w ⊙ f(x, ...)` with a fixed weight `w`, replaces every
//! leaf's value, runs `backward`, and compares the gradients with those of a second graph built at the
//! original values and never touched (the gradient the forward pass promised). A stale read would
//! compute part of the gradient at the new values, which differ from the old ones everywhere.

mod common;

use common::rng::{seed_of, Rng};
use einsum_runtime::loss::{cross_entropy, mse};
use einsum_runtime::optim::{Adam, Sgd};
use einsum_runtime::{einsum, Var};
use ndarray::{array, ArrayD};

type Op = fn(&[Var<f64>]) -> Var<f64>;

/// The gradients of every leaf of `op` at `values`; when `moved` is given, each leaf's value is
/// replaced by it after the forward pass and before the backward pass.
fn grads(op: Op, values: &[ArrayD<f64>], moved: Option<&[ArrayD<f64>]>) -> Vec<ArrayD<f64>> {
    let leaves: Vec<Var<f64>> = values.iter().map(|v| Var::new(v.clone())).collect();
    let y = op(&leaves);
    let mut rng = Rng::new(7);
    let w = rng.array(&y.shape(), -0.5, 0.5);
    let loss = (&y * &w).sum();
    if let Some(moved) = moved {
        for (leaf, v) in leaves.iter().zip(moved) {
            leaf.set_data(v.clone());
        }
    }
    loss.backward();
    leaves
        .iter()
        .map(|l| l.grad().expect("a leaf of the loss"))
        .collect()
}

fn check(name: &str, op: Op, shapes: &[&[usize]]) {
    let mut rng = Rng::new(seed_of(name));
    // Positive values away from 0 so that `ln`, `sqrt` and `div` are smooth everywhere.
    let old: Vec<ArrayD<f64>> = shapes.iter().map(|s| rng.array(s, 0.5, 1.5)).collect();
    let new: Vec<ArrayD<f64>> = shapes.iter().map(|s| rng.array(s, 3.0, 4.0)).collect();
    let want = grads(op, &old, None);
    let got = grads(op, &old, Some(&new));
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g, w,
            "{name}: gradient of leaf {k} was computed from replaced values"
        );
    }
    // The check can fail: at the new values the gradients differ.
    let at_new = grads(op, &new, None);
    assert!(
        at_new.iter().zip(&want).any(|(a, b)| a != b),
        "{name}: the gradient does not depend on the values, so this case tests nothing"
    );
}

#[test]
fn the_issue_example() {
    let w = Var::new(array![1.0, 2.0].into_dyn());
    let y = (&w * &w).sum();
    w.set_data(array![10.0, 20.0].into_dyn());
    y.backward();
    // d/dw Σ w² = 2w at the forward's w = [1, 2].
    assert_eq!(w.grad().unwrap(), array![2.0, 4.0].into_dyn());
}

#[test]
fn elementwise_ops() {
    let s: &[&[usize]] = &[&[2, 3]];
    check("sigmoid", |v| v[0].sigmoid(), s);
    check("tanh", |v| v[0].tanh(), s);
    check("relu", |v| (&v[0] * &v[0]).relu(), s);
    check("exp", |v| v[0].exp(), s);
    check("ln", |v| v[0].ln(), s);
    check("neg", |v| (&v[0] * &v[0]).neg(), s);
    check("powi", |v| v[0].powi(3), s);
    check("sqrt", |v| v[0].sqrt(), s);
}

#[test]
fn arithmetic_ops_with_broadcasting() {
    let s: &[&[usize]] = &[&[2, 3], &[3]];
    check("add", |v| &(&v[0] + &v[1]) * &v[0], s);
    check("sub", |v| &(&v[0] - &v[1]) * &v[1], s);
    check("mul", |v| &v[0] * &v[1], s);
    check("div", |v| &v[0] / &v[1], s);
}

#[test]
fn reductions_and_softmax() {
    let s: &[&[usize]] = &[&[2, 3]];
    check("sum", |v| (&v[0] * &v[0]).sum(), s);
    check("mean", |v| (&v[0] * &v[0]).mean(), s);
    check("sum_axes", |v| (&v[0] * &v[0]).sum_axes(&[1]), s);
    check("mean_axes", |v| (&v[0] * &v[0]).mean_axes(&[0]), s);
    check("softmax", |v| v[0].softmax(1), s);
    check("log_softmax", |v| v[0].log_softmax(0), s);
}

#[test]
fn losses() {
    check("mse", |v| mse(&v[0], &v[1]), &[&[2, 3], &[2, 3]]);
    check(
        "cross_entropy",
        |v| cross_entropy(&v[0], &[2, 0]),
        &[&[2, 3]],
    );
}

#[test]
fn einsum_with_each_operand_replaced() {
    check(
        "einsum ij,jk->",
        |v| einsum!("ij,jk->", v[0], v[1]),
        &[&[2, 3], &[3, 4]],
    );
    check(
        "einsum ij,jk->ik",
        |v| einsum!("ij,jk->ik", v[0], v[1]),
        &[&[2, 3], &[3, 4]],
    );
    check(
        "einsum ii,ij->j",
        |v| einsum!("ii,ij->j", v[0], v[1]),
        &[&[3, 3], &[3, 2]],
    );
    check(
        "einsum three operands",
        |v| einsum!("ij,jk,kl->il", v[0], v[1], v[2]),
        &[&[2, 3], &[3, 4], &[4, 2]],
    );
    check(
        "einsum ellipsis",
        |v| einsum!("...ij,jk->...ik", v[0], v[1]),
        &[&[2, 2, 3], &[3, 2]],
    );
    // An operand used twice: both contributions at the old value.
    check(
        "einsum ij,ij->",
        |v| einsum!("ij,ij->", v[0], v[0]),
        &[&[2, 3]],
    );
}

/// An optimizer step between forward and backward: the gradient is the one at the values the
/// forward pass saw, and holding a value across the step is allowed and keeps the old value.
#[test]
fn optimizer_step_between_forward_and_backward() {
    for use_adam in [false, true] {
        let x = array![[1.0, 2.0], [3.0, 4.0]];
        let w0 = array![[0.5, -1.0], [2.0, 0.25]];
        let w = Var::new(w0.clone().into_dyn());
        let y = einsum!("ij,jk->", x, w);
        // A first backward and step, then the old graph's backward again.
        y.backward();
        let first = w.grad().unwrap();
        let held = w.data();
        if use_adam {
            let mut opt = Adam::new(vec![w.clone()], 0.1);
            opt.step();
        } else {
            let mut opt = Sgd::new(vec![w.clone()], 0.1);
            opt.step();
        }
        assert_eq!(*held, w0.clone().into_dyn(), "a held value never changes");
        assert_ne!(
            *w.data(),
            w0.clone().into_dyn(),
            "the step changed the parameter"
        );
        w.zero_grad();
        y.backward();
        assert_eq!(w.grad().unwrap(), first);
        // d/dw Σ_ik (x w)_ik = Σ_i x_ij for every k.
        assert_eq!(first, array![[4.0, 4.0], [6.0, 6.0]].into_dyn());
    }
}
