//! The autograd ops, losses, `gradcheck` and optimizers.
//!
//! Each op gets (1) a hand-derived expected gradient, with the derivation in a comment, computed by a
//! route independent of the op's backward code, and (2) a `gradcheck` against central finite
//! differences at random inputs, in f64 (tight) and for some ops in f32 (loose). Then: broadcasting
//! gradients summed back to each operand's shape, an operand used twice and a diamond graph, softmax
//! stability, cross-entropy by hand, and optimizers that fit a quadratic.

mod common;

use common::assert::{assert_close, Tol};
use common::autograd::{check32, check64, weighted, weighted32};
use common::rng::Rng;
use einsum_runtime::loss::{cross_entropy, mse, try_cross_entropy, try_mse};
use einsum_runtime::optim::{Adam, Sgd};
use einsum_runtime::{einsum, gradcheck, GradcheckError, IntoVar, OpError, Var};
use ndarray::{array, Array1, Array2, ArrayD, Axis, IxDyn};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------------
// Helpers
//
// Hand-derived values are compared with `Tol::new(t, t)`: an error of at most `t`, relative to
// |want| where |want| > 1 (the rule of `common::assert`).

/// Gradient of `sum(op(x))` w.r.t. x.
fn grad_of_sum(x0: &ArrayD<f64>, op: impl Fn(&Var<f64>) -> Var<f64>) -> ArrayD<f64> {
    let x = Var::new(x0.clone());
    op(&x).sum().backward();
    x.grad().expect("x is on the path")
}

// ---------------------------------------------------------------------------------------------------
// Elementwise ops: hand-derived gradients

#[test]
fn sigmoid_value_and_gradient_by_hand() {
    let x0 = array![-3.0, -0.5, 0.0, 0.5, 2.0].into_dyn();
    // s(x) = 1 / (1 + e^-x); ds/dx = e^-x / (1 + e^-x)^2 (quotient rule, written without s).
    let s = x0.mapv(|x: f64| 1.0 / (1.0 + (-x).exp()));
    let ds = x0.mapv(|x: f64| (-x).exp() / (1.0 + (-x).exp()).powi(2));
    assert_close(
        "sigmoid value",
        &Var::new(x0.clone()).sigmoid().data(),
        &s,
        Tol::new(1e-15, 1e-15),
    );
    assert_close(
        "sigmoid gradient",
        &grad_of_sum(&x0, Var::sigmoid),
        &ds,
        Tol::new(1e-14, 1e-14),
    );
    // Saturation: no overflow, no NaN.
    let big = Var::new(array![-1000.0, 1000.0].into_dyn());
    let y = big.sigmoid();
    assert_eq!(*y.data(), array![0.0, 1.0].into_dyn());
    y.sum().backward();
    assert_eq!(big.grad().unwrap(), array![0.0, 0.0].into_dyn());
}

#[test]
fn tanh_gradient_by_hand() {
    // d tanh(x)/dx = 1 / cosh(x)^2 (the same as 1 - tanh^2, by cosh^2 - sinh^2 = 1).
    let x0 = array![-2.0, -0.3, 0.0, 1.5].into_dyn();
    let want = x0.mapv(|x: f64| 1.0 / x.cosh().powi(2));
    assert_close(
        "tanh gradient",
        &grad_of_sum(&x0, Var::tanh),
        &want,
        Tol::new(1e-14, 1e-14),
    );
}

#[test]
fn relu_gradient_by_hand() {
    // relu(x) = max(x, 0); the derivative is 1 for x > 0 and 0 otherwise (0 at x = 0 by convention).
    let x0 = array![-2.0, 0.0, 1e-9, 3.0].into_dyn();
    assert_eq!(
        *Var::new(x0.clone()).relu().data(),
        array![0.0, 0.0, 1e-9, 3.0].into_dyn()
    );
    assert_eq!(
        grad_of_sum(&x0, Var::relu),
        array![0.0, 0.0, 1.0, 1.0].into_dyn()
    );
}

#[test]
fn exp_ln_neg_gradients_by_hand() {
    let x0 = array![0.25, 1.0, 3.0].into_dyn();
    // d e^x/dx = e^x.
    assert_close(
        "exp gradient",
        &grad_of_sum(&x0, Var::exp),
        &x0.mapv(f64::exp),
        Tol::new(1e-15, 1e-15),
    );
    // d ln(x)/dx = 1/x.
    assert_close(
        "ln gradient",
        &grad_of_sum(&x0, Var::ln),
        &array![4.0, 1.0, 1.0 / 3.0].into_dyn(),
        Tol::new(1e-15, 1e-15),
    );
    // d(-x)/dx = -1, by the method and by the operator.
    assert_eq!(
        grad_of_sum(&x0, Var::neg),
        array![-1.0, -1.0, -1.0].into_dyn()
    );
    assert_eq!(
        grad_of_sum(&x0, |x| -x),
        array![-1.0, -1.0, -1.0].into_dyn()
    );
    assert_eq!(
        grad_of_sum(&x0, |x| -x.clone()),
        array![-1.0, -1.0, -1.0].into_dyn()
    );
}

#[test]
fn powi_gradients_by_hand() {
    let x0 = array![-1.5, 0.5, 2.0].into_dyn();
    // y = x^2 so dy/dx = 2x.
    assert_close(
        "powi(2) gradient",
        &grad_of_sum(&x0, |x| x.powi(2)),
        &array![-3.0, 1.0, 4.0].into_dyn(),
        Tol::new(1e-15, 1e-15),
    );
    // y = x^3 so dy/dx = 3x^2.
    assert_close(
        "powi(3) gradient",
        &grad_of_sum(&x0, |x| x.powi(3)),
        &array![6.75, 0.75, 12.0].into_dyn(),
        Tol::new(1e-15, 1e-15),
    );
    // y = x^-1 so dy/dx = -x^-2.
    assert_close(
        "powi(-1) gradient",
        &grad_of_sum(&x0, |x| x.powi(-1)),
        &array![-1.0 / 2.25, -4.0, -0.25].into_dyn(),
        Tol::new(1e-15, 1e-15),
    );
    // y = x^1 so dy/dx = 1; y = x^0 = 1 so dy/dx = 0 (even at x = 0, where n x^(n-1) is 0 * inf).
    assert_eq!(
        grad_of_sum(&x0, |x| x.powi(1)),
        array![1.0, 1.0, 1.0].into_dyn()
    );
    let z0 = array![0.0, 2.0].into_dyn();
    assert_eq!(grad_of_sum(&z0, |x| x.powi(0)), array![0.0, 0.0].into_dyn());
}

#[test]
fn sqrt_gradient_by_hand() {
    // y = x^(1/2) so dy/dx = 1 / (2 x^(1/2)).
    let x0 = array![0.25, 1.0, 9.0].into_dyn();
    assert_close(
        "sqrt gradient",
        &grad_of_sum(&x0, Var::sqrt),
        &array![1.0, 0.5, 1.0 / 6.0].into_dyn(),
        Tol::new(1e-15, 1e-15),
    );
}

// ---------------------------------------------------------------------------------------------------
// Elementwise ops: gradcheck at random inputs

#[test]
fn unary_ops_pass_gradcheck_f64() {
    let mut rng = Rng::new(1);
    let any = rng.array(&[3, 4], -2.0, 2.0);
    let pos = rng.array(&[3, 4], 0.3, 3.0);
    // relu is not differentiable at 0; random inputs in [-2, 2] stay farther than eps from it.
    type Op = fn(&Var<f64>) -> Var<f64>;
    let on_any: [(&str, Op); 8] = [
        ("sigmoid", Var::sigmoid),
        ("tanh", Var::tanh),
        ("relu", Var::relu),
        ("exp", Var::exp),
        ("neg", Var::neg),
        ("powi(2)", |x| x.powi(2)),
        ("powi(3)", |x| x.powi(3)),
        ("powi(0)", |x| x.powi(0)),
    ];
    for (k, (name, op)) in on_any.into_iter().enumerate() {
        let r = gradcheck(
            |v| weighted(&op(&v[0]), k as u64),
            std::slice::from_ref(&any),
            1e-6,
            1e-6,
        );
        assert!(r.is_ok(), "{name}: {}", r.unwrap_err());
    }
    let on_pos: [(&str, Op); 3] = [
        ("ln", Var::ln),
        ("sqrt", Var::sqrt),
        ("powi(-2)", |x| x.powi(-2)),
    ];
    for (k, (name, op)) in on_pos.into_iter().enumerate() {
        let r = gradcheck(
            |v| weighted(&op(&v[0]), k as u64),
            std::slice::from_ref(&pos),
            1e-6,
            1e-6,
        );
        assert!(r.is_ok(), "{name}: {}", r.unwrap_err());
    }
}

#[test]
fn unary_ops_pass_gradcheck_f32() {
    let mut rng = Rng::new(2);
    let any = rng.array(&[2, 3], -2.0, 2.0);
    let pos = rng.array(&[2, 3], 0.5, 3.0);
    check32(
        |v| weighted32(&v[0].sigmoid(), 1),
        std::slice::from_ref(&any),
    );
    check32(|v| weighted32(&v[0].tanh(), 2), std::slice::from_ref(&any));
    check32(|v| weighted32(&v[0].exp(), 3), std::slice::from_ref(&any));
    check32(|v| weighted32(&v[0].powi(3), 4), std::slice::from_ref(&any));
    check32(|v| weighted32(&v[0].ln(), 5), std::slice::from_ref(&pos));
    check32(|v| weighted32(&v[0].sqrt(), 6), std::slice::from_ref(&pos));
}

// ---------------------------------------------------------------------------------------------------
// Arithmetic and broadcasting

#[test]
fn arithmetic_same_shape_by_hand() {
    let a0 = array![1.0, -2.0, 4.0].into_dyn();
    let b0 = array![0.5, 3.0, -2.0].into_dyn();
    let run = |f: fn(&Var<f64>, &Var<f64>) -> Var<f64>| {
        let (a, b) = (Var::new(a0.clone()), Var::new(b0.clone()));
        f(&a, &b).sum().backward();
        (a.grad().unwrap(), b.grad().unwrap())
    };
    let ones = ArrayD::ones(IxDyn(&[3]));
    // y = a + b: dy/da = dy/db = 1.
    assert_eq!(run(|a, b| a + b), (ones.clone(), ones.clone()));
    // y = a - b: dy/da = 1, dy/db = -1.
    assert_eq!(run(|a, b| a - b), (ones.clone(), -&ones));
    // y = a b: dy/da = b, dy/db = a.
    assert_eq!(run(|a, b| a * b), (b0.clone(), a0.clone()));
    // y = a / b: dy/da = 1/b, dy/db = -a/b^2.
    let (ga, gb) = run(|a, b| a / b);
    assert_close(
        "d(a / b)/da",
        &ga,
        &b0.mapv(|b| 1.0 / b),
        Tol::new(1e-15, 1e-15),
    );
    assert_close(
        "d(a / b)/db",
        &gb,
        &(-&a0 / (&b0 * &b0)),
        Tol::new(1e-15, 1e-15),
    );
}

#[test]
fn broadcasting_gradients_are_summed_back_by_hand() {
    // a: (2, 3), b: (3,) broadcasts along a new leading axis of extent 2.
    // y = sum(a * b) = sum_ij a_ij b_j: dy/da_ij = b_j; dy/db_j = sum_i a_ij (the column sums).
    let a0 = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].into_dyn();
    let b0 = array![10.0, 20.0, 30.0].into_dyn();
    let (a, b) = (Var::new(a0.clone()), Var::new(b0.clone()));
    let y = &a * &b;
    assert_eq!(y.shape(), vec![2, 3]);
    y.sum().backward();
    assert_eq!(
        a.grad().unwrap(),
        array![[10.0, 20.0, 30.0], [10.0, 20.0, 30.0]].into_dyn()
    );
    assert_eq!(b.grad().unwrap(), array![5.0, 7.0, 9.0].into_dyn());

    // c: (2, 1) and d: (1, 3) broadcast to (2, 3) (an outer sum). y = sum_ij (c_i - d_j):
    // dy/dc_i = 3 (one per column), dy/dd_j = -2 (one per row).
    let (c, d) = (
        Var::new(array![[1.0], [2.0]].into_dyn()),
        Var::new(array![[1.0, 2.0, 3.0]].into_dyn()),
    );
    let y = &c - &d;
    assert_eq!(
        *y.data(),
        array![[0.0, -1.0, -2.0], [1.0, 0.0, -1.0]].into_dyn()
    );
    y.sum().backward();
    assert_eq!(c.grad().unwrap(), array![[3.0], [3.0]].into_dyn());
    assert_eq!(d.grad().unwrap(), array![[-2.0, -2.0, -2.0]].into_dyn());

    // A 0-d Var against a (2, 2) one: y = sum_ij x_ij / s, dy/ds = -sum(x) / s^2.
    let s = Var::new(ndarray::arr0(2.0).into_dyn());
    let x = Var::new(array![[1.0, 2.0], [3.0, 4.0]].into_dyn());
    (&x / &s).sum().backward();
    assert_eq!(s.grad().unwrap(), ndarray::arr0(-2.5).into_dyn());
    assert_eq!(x.grad().unwrap(), ArrayD::from_elem(IxDyn(&[2, 2]), 0.5));
}

#[test]
fn broadcasting_arithmetic_passes_gradcheck() {
    let mut rng = Rng::new(3);
    let shapes: [(&[usize], &[usize]); 6] = [
        (&[2, 3], &[3]),
        (&[2, 1], &[1, 3]),
        (&[4, 1, 3], &[2, 1]),
        (&[], &[2, 2]),
        (&[3], &[2, 3]),
        (&[2, 3], &[2, 3]),
    ];
    for (k, (sa, sb)) in shapes.into_iter().enumerate() {
        let a = rng.array(sa, -2.0, 2.0);
        // Keep divisors away from 0.
        let b = rng.array(sb, 0.5, 2.0);
        let seed = 10 + k as u64;
        check64(
            |v| weighted(&(&v[0] + &v[1]), seed),
            &[a.clone(), b.clone()],
        );
        check64(
            |v| weighted(&(&v[0] - &v[1]), seed),
            &[a.clone(), b.clone()],
        );
        check64(
            |v| weighted(&(&v[0] * &v[1]), seed),
            &[a.clone(), b.clone()],
        );
        check64(
            |v| weighted(&(&v[0] / &v[1]), seed),
            &[a.clone(), b.clone()],
        );
        check64(
            |v| weighted(&(&v[1] / &v[0].exp()), seed),
            &[a.clone(), b.clone()],
        );
        check32(
            |v| weighted32(&(&v[0] * &v[1]), seed),
            &[a.clone(), b.clone()],
        );
        check32(|v| weighted32(&(&v[0] / &v[1]), seed), &[a, b]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Random broadcast-compatible shapes: each of up to 3 result axes is dropped or set to 1 in either
    /// operand; gradcheck passes for every operator and the result has the broadcast shape.
    #[test]
    fn broadcasting_gradcheck_random_shapes(
        full in prop::collection::vec(1usize..4, 0..4),
        mask_a in prop::collection::vec(any::<bool>(), 4),
        mask_b in prop::collection::vec(any::<bool>(), 4),
        drop_a in 0usize..3,
        seed in any::<u64>(),
    ) {
        let sa: Vec<usize> = full
            .iter()
            .zip(&mask_a)
            .map(|(&n, &one)| if one { 1 } else { n })
            .skip(drop_a.min(full.len()))
            .collect();
        let sb: Vec<usize> = full.iter().zip(&mask_b).map(|(&n, &one)| if one { 1 } else { n }).collect();
        let mut rng = Rng::new(seed);
        let a = rng.array(&sa, -2.0, 2.0);
        let b = rng.array(&sb, 0.5, 2.0);
        let (va, vb) = (Var::new(a.clone()), Var::new(b.clone()));
        let expected: Vec<usize> = (&a + &b).shape().to_vec(); // ndarray's own co-broadcasting
        prop_assert_eq!((&va * &vb).shape(), expected);
        for op in [0, 1, 2, 3] {
            let f = |v: &[Var<f64>]| {
                let y = match op {
                    0 => &v[0] + &v[1],
                    1 => &v[0] - &v[1],
                    2 => &v[0] * &v[1],
                    _ => &v[0] / &v[1],
                };
                weighted(&y, seed)
            };
            let r = gradcheck(f, &[a.clone(), b.clone()], 1e-6, 1e-6);
            prop_assert!(r.is_ok(), "op {} shapes {:?} {:?}: {}", op, sa, sb, r.unwrap_err());
        }
    }
}

#[test]
fn operators_accept_vars_arrays_and_scalars() {
    let x0 = array![[1.0, 2.0], [3.0, 4.0]];
    let x = Var::new(x0.clone().into_dyn());
    let row = array![10.0, 20.0];
    // Every form of right operand.
    let forms: Vec<Var<f64>> = vec![
        &x + &x,
        &x + x.clone(),
        x.clone() + &x,
        &x + row.clone(),             // Array1, owned
        &x + &row,                    // &Array1
        &x + row.view(),              // a view
        &x + &row.clone().into_dyn(), // &ArrayD
        &x + x0.clone().into_dyn(),   // ArrayD
        &x + 1.0,                     // scalar
        x.clone() * 2.0,
        &x - 1.0,
        &x / 4.0,
        1.0 + &x, // scalars on the left
        1.0 - x.clone(),
        2.0 * &x,
        8.0 / &x,
    ];
    let want = [
        &x0 * 2.0,
        &x0 * 2.0,
        &x0 * 2.0,
        &x0 + &row,
        &x0 + &row,
        &x0 + &row,
        &x0 + &row,
        &x0 * 2.0,
        &x0 + 1.0,
        &x0 * 2.0,
        &x0 - 1.0,
        &x0 / 4.0,
        &x0 + 1.0,
        1.0 - &x0,
        &x0 * 2.0,
        8.0 / &x0,
    ];
    for (k, (got, want)) in forms.iter().zip(want).enumerate() {
        assert_close(
            &format!("form {k}"),
            &got.data(),
            &want.into_dyn(),
            Tol::new(1e-15, 1e-15),
        );
        assert!(got.requires_grad(), "form {k}");
    }
    // Arrays and scalars are constants: all of the gradient goes to x. y = sum(8/x + 2x):
    // dy/dx = -8/x^2 + 2.
    (8.0 / &x + &x * 2.0).sum().backward();
    assert_close(
        "gradient of 8/x + 2x",
        &x.grad().unwrap(),
        &x0.mapv(|v| -8.0 / (v * v) + 2.0).into_dyn(),
        Tol::new(1e-15, 1e-15),
    );

    // f32 as well.
    let y = Var::new(array![1.0f32, 2.0].into_dyn());
    let z = 2.0f32 * &y - 1.0f32 + array![0.5f32, 0.5];
    assert_eq!(*z.data(), array![1.5f32, 3.5].into_dyn());
    (z / 2.0f32).sum().backward();
    assert_eq!(y.grad().unwrap(), array![1.0f32, 1.0].into_dyn());
}

#[test]
fn ops_on_constants_record_nothing() {
    let c = Var::constant(array![1.0, 2.0].into_dyn());
    for v in [
        c.sigmoid(),
        c.exp(),
        c.relu(),
        c.powi(2),
        &c + &c,
        c.sum(),
        c.softmax(0),
        c.log_softmax(0),
        mse(&c, array![0.0, 0.0]),
    ] {
        assert!(!v.requires_grad());
    }
    let c: Var<f64> = array![1.0].into_var();
    assert!(!c.requires_grad());
}

#[test]
fn try_methods_report_shape_errors() {
    let a = Var::new(Array2::<f64>::zeros((2, 3)).into_dyn());
    let b = Var::new(Array2::<f64>::zeros((3, 2)).into_dyn());
    for (op, r) in [
        ("add", a.try_add(&b)),
        ("sub", a.try_sub(&b)),
        ("mul", a.try_mul(&b)),
        ("div", a.try_div(&b)),
    ] {
        let e = r.unwrap_err();
        assert_eq!(
            e,
            OpError::Broadcast {
                op,
                lhs: vec![2, 3],
                rhs: vec![3, 2]
            }
        );
        assert_eq!(
            e.to_string(),
            format!(
                "{op}: shapes [2, 3] and [3, 2] do not broadcast: extent 3 (axis 1 of the left operand) vs 2 (axis 1 of the right operand)"
            )
        );
    }
    assert!(a.try_add(Array1::<f64>::zeros(3)).is_ok());
}

#[test]
#[should_panic(
    expected = "mul: shapes [2, 3] and [4] do not broadcast: extent 3 (axis 1 of the left operand) vs 4 (axis 0 of the right operand)"
)]
fn operator_panics_name_both_shapes() {
    let a = Var::new(Array2::<f64>::zeros((2, 3)).into_dyn());
    let _ = &a * Array1::<f64>::zeros(4);
}

#[test]
#[should_panic(expected = "div: shapes [2] and [3] do not broadcast")]
fn operator_panics_for_scalar_left_too() {
    let a = Var::new(Array1::<f32>::zeros(2).into_dyn());
    let b = Var::new(Array1::<f32>::zeros(3).into_dyn());
    let _ = 1.0f32 / &a / b;
}

// ---------------------------------------------------------------------------------------------------
// Graphs: reuse and diamonds

#[test]
fn same_var_twice_accumulates() {
    // y = sum(x * x) so dy/dx = 2x: both operands of the product contribute x.
    let x0 = array![1.0, -2.0, 3.0].into_dyn();
    let x = Var::new(x0.clone());
    (&x * &x).sum().backward();
    assert_eq!(x.grad().unwrap(), &x0 * 2.0);

    // y = sum(x / x) = n so dy/dx = 1/x - x/x^2 = 0.
    let x = Var::new(x0.clone());
    (&x / &x).sum().backward();
    assert_close(
        "gradient of x/x",
        &x.grad().unwrap(),
        &ArrayD::zeros(IxDyn(&[3])),
        Tol::new(1e-15, 1e-15),
    );

    // y = sum(x + x + x) so dy/dx = 3.
    let x = Var::new(x0.clone());
    (&x + &x + &x).sum().backward();
    assert_eq!(x.grad().unwrap(), ArrayD::from_elem(IxDyn(&[3]), 3.0));
}

#[test]
fn diamond_accumulates_both_paths() {
    // a = e^x; b = a^2; c = sigmoid(a); loss = sum(b + c).
    // dloss/da = 2a + s(a)(1 - s(a)); dloss/dx = dloss/da * e^x (chain rule through a = e^x).
    let x0 = array![-1.0, 0.0, 0.5].into_dyn();
    let x = Var::new(x0.clone());
    let a = x.exp();
    let b = a.powi(2);
    let c = a.sigmoid();
    (&b + &c).sum().backward();
    let want = x0.mapv(|x: f64| {
        let a = x.exp();
        let s = 1.0 / (1.0 + (-a).exp());
        (2.0 * a + s * (1.0 - s)) * a
    });
    assert_close(
        "diamond gradient",
        &x.grad().unwrap(),
        &want,
        Tol::new(1e-14, 1e-14),
    );

    // A similar diamond, checked numerically, with an einsum on one branch and a longer other branch
    // (inputs away from 0, where |a| = sqrt(a^2) has no derivative).
    let w = Rng::new(4).array(&[3, 2], -1.0, 1.0);
    check64(
        |v| {
            let a = v[0].tanh();
            let b = einsum!("i,ij->j", a, v[1]).sigmoid();
            let c = a.powi(2).exp().ln().sqrt(); // |a|, by a longer path
            b.sum() * c.mean()
        },
        &[array![-1.0, 0.2, 0.5].into_dyn(), w],
    );
}

#[test]
fn gradients_accumulate_across_backward_calls() {
    // Two backward passes of y = sum(3x) add up to 6 per element until zero_grad.
    let x = Var::new(array![1.0, 2.0].into_dyn());
    (&x * 3.0).sum().backward();
    (&x * 3.0).sum().backward();
    assert_eq!(x.grad().unwrap(), array![6.0, 6.0].into_dyn());
    x.zero_grad();
    (&x * 3.0).sum().backward();
    assert_eq!(x.grad().unwrap(), array![3.0, 3.0].into_dyn());
}

// ---------------------------------------------------------------------------------------------------
// Reductions

#[test]
fn reductions_by_hand() {
    let x0 = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].into_dyn();
    let x = Var::new(x0.clone());
    // sum: dy/dx_ij = 1 for every element.
    assert_eq!(x.sum().item(), 21.0);
    assert_eq!(grad_of_sum(&x0, |x| x.sum()), ArrayD::ones(IxDyn(&[2, 3])));
    // mean over 6 elements: dy/dx_ij = 1/6.
    assert_eq!(x.mean().item(), 3.5);
    assert_close(
        "mean gradient",
        &grad_of_sum(&x0, Var::mean),
        &ArrayD::from_elem(IxDyn(&[2, 3]), 1.0 / 6.0),
        Tol::new(1e-15, 1e-15),
    );
    // sum over axis 0 with upstream gradient g = (1, 10, 100): dx_ij = g_j.
    let s0 = x.sum_axes(&[0]);
    assert_eq!(*s0.data(), array![5.0, 7.0, 9.0].into_dyn());
    s0.backward_with(array![1.0, 10.0, 100.0].into_dyn());
    assert_eq!(
        x.grad().unwrap(),
        array![[1.0, 10.0, 100.0], [1.0, 10.0, 100.0]].into_dyn()
    );
    // mean over axis 1 with g = (1, 2): dx_ij = g_i / 3.
    let x = Var::new(x0.clone());
    let m1 = x.mean_axes(&[1]);
    assert_eq!(*m1.data(), array![2.0, 5.0].into_dyn());
    m1.backward_with(array![1.0, 2.0].into_dyn());
    assert_close(
        "mean over axis 1, gradient",
        &x.grad().unwrap(),
        &array![[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
            .into_dyn()
            .mapv(|v| v / 3.0),
        Tol::new(1e-15, 1e-15),
    );
    // Both axes in either order is the full sum; no axes is the identity.
    assert_eq!(x.sum_axes(&[1, 0]).item(), 21.0);
    assert_eq!(*x.sum_axes(&[]).data(), x0);
}

#[test]
fn reductions_pass_gradcheck() {
    let x = Rng::new(5).array(&[2, 3, 4], -1.0, 1.0);
    check64(|v| v[0].sum().powi(2), std::slice::from_ref(&x));
    check64(|v| v[0].mean().exp(), std::slice::from_ref(&x));
    for axes in [&[0][..], &[1], &[2], &[0, 2], &[2, 0], &[1, 2, 0]] {
        check64(
            |v| weighted(&v[0].sum_axes(axes).powi(2), 7),
            std::slice::from_ref(&x),
        );
        check64(
            |v| weighted(&v[0].mean_axes(axes).powi(2), 8),
            std::slice::from_ref(&x),
        );
    }
    check32(
        |v| weighted32(&v[0].sum_axes(&[1]).powi(2), 9),
        std::slice::from_ref(&x),
    );
}

#[test]
#[should_panic(expected = "sum_axes: axis 2 is out of range for an operand with 2 axes")]
fn sum_axes_out_of_range_panics() {
    Var::new(Array2::<f64>::zeros((2, 3)).into_dyn()).sum_axes(&[2]);
}

#[test]
#[should_panic(expected = "mean_axes: axis 0 is listed twice")]
fn mean_axes_repeated_axis_panics() {
    Var::new(Array2::<f64>::zeros((2, 3)).into_dyn()).mean_axes(&[0, 1, 0]);
}

// ---------------------------------------------------------------------------------------------------
// Softmax

#[test]
fn softmax_rows_sum_to_one_and_are_stable() {
    let x = Var::<f64>::new(
        array![
            [1000.0, 1000.0, 999.0],
            [-1000.0, 0.0, 1000.0],
            [1.0, 2.0, 3.0]
        ]
        .into_dyn(),
    );
    let y = x.softmax(1);
    assert!(y.data().iter().all(|v| v.is_finite()));
    for row in y.data().axis_iter(Axis(0)) {
        assert!((row.sum() - 1.0).abs() < 1e-15, "{row}");
    }
    // Row 0: e^0, e^0, e^-1 over their sum (the shift by the maximum changes nothing).
    let z = 2.0 + (-1f64).exp();
    assert_close(
        "softmax row 0",
        &y.data().index_axis(Axis(0), 0).to_owned(),
        &array![1.0 / z, 1.0 / z, (-1f64).exp() / z].into_dyn(),
        Tol::new(1e-15, 1e-15),
    );
    // Row 1 saturates to one-hot, row 2 is the textbook softmax.
    assert_eq!(
        y.data().index_axis(Axis(0), 1).to_owned(),
        array![0.0, 0.0, 1.0].into_dyn()
    );
    let e = array![1f64.exp(), 2f64.exp(), 3f64.exp()];
    assert_close(
        "softmax row 2",
        &y.data().index_axis(Axis(0), 2).to_owned(),
        &(&e / e.sum()).into_dyn(),
        Tol::new(1e-15, 1e-15),
    );
    // Along axis 0 the columns sum to 1.
    for col in x.softmax(0).data().axis_iter(Axis(1)) {
        assert!((col.sum() - 1.0).abs() < 1e-15);
    }
    // The log-softmax at 1000 is finite and exact: ln(1 / z) and ln(e^-1 / z).
    let l = x.log_softmax(1);
    assert!(l.data().iter().all(|v| v.is_finite()));
    assert!((l.data()[[0, 0]] + z.ln()).abs() < 1e-12);
    assert!((l.data()[[0, 2]] + 1.0 + z.ln()).abs() < 1e-12);
    // f32 too.
    let y32 = Var::new(array![[1000.0f32, 999.0], [-1000.0, 1000.0]].into_dyn()).softmax(1);
    assert!(y32.data().iter().all(|v| v.is_finite()));
}

#[test]
fn softmax_gradient_by_hand() {
    // Two classes: y_0 = s(x_0 - x_1) (the sigmoid of the difference), so
    // dy_0/dx_0 = y_0 y_1 and dy_0/dx_1 = -y_0 y_1.
    let x = Var::new(array![0.3, -0.4].into_dyn());
    let y = x.softmax(0);
    let (y0, y1) = (y.data()[0], y.data()[1]);
    assert!((y0 - 1.0 / (1.0 + (-0.7f64).exp())).abs() < 1e-15);
    y.backward_with(array![1.0, 0.0].into_dyn());
    assert_close(
        "two-class softmax gradient",
        &x.grad().unwrap(),
        &array![y0 * y1, -y0 * y1].into_dyn(),
        Tol::new(1e-15, 1e-15),
    );

    // log_softmax: y_i = x_i - ln(sum e^x), dy_0/dx_k = [k == 0] - softmax_k.
    let x = Var::new(array![0.3, -0.4, 1.0].into_dyn());
    let p = x.softmax(0).data().as_ref().clone();
    x.log_softmax(0)
        .backward_with(array![1.0, 0.0, 0.0].into_dyn());
    assert_close(
        "log_softmax gradient",
        &x.grad().unwrap(),
        &array![1.0 - p[0], -p[1], -p[2]].into_dyn(),
        Tol::new(1e-15, 1e-15),
    );
}

#[test]
fn softmax_passes_gradcheck() {
    let x = Rng::new(6).array(&[3, 4, 2], -3.0, 3.0);
    for axis in 0..3 {
        check64(
            |v| weighted(&v[0].softmax(axis), 20 + axis as u64),
            std::slice::from_ref(&x),
        );
        check64(
            |v| weighted(&v[0].log_softmax(axis), 30 + axis as u64),
            std::slice::from_ref(&x),
        );
        check32(
            |v| weighted32(&v[0].softmax(axis), 40 + axis as u64),
            std::slice::from_ref(&x),
        );
        check32(
            |v| weighted32(&v[0].log_softmax(axis), 50 + axis as u64),
            std::slice::from_ref(&x),
        );
    }
    // Large inputs: the gradient is still right (shifted by 1000 changes nothing).
    let big = x.mapv(|v| v + 1000.0);
    check64(|v| weighted(&v[0].log_softmax(1), 60), &[big]);
}

#[test]
#[should_panic(expected = "softmax: axis 1 is out of range for an operand with 1 axes")]
fn softmax_axis_out_of_range_panics() {
    Var::new(array![1.0, 2.0].into_dyn()).softmax(1);
}

// ---------------------------------------------------------------------------------------------------
// Losses

#[test]
fn mse_by_hand() {
    // mse = mean((p - t)^2) = ((1-0)^2 + (2-4)^2 + (3-3)^2 + (0-1)^2) / 4 = 6/4;
    // dmse/dp = 2 (p - t) / 4 = (p - t) / 2.
    let p0 = array![[1.0, 2.0], [3.0, 0.0]].into_dyn();
    let t0 = array![[0.0, 4.0], [3.0, 1.0]];
    let p = Var::new(p0.clone());
    let l = mse(&p, &t0);
    assert_eq!(l.shape(), Vec::<usize>::new());
    assert_eq!(l.item(), 1.5);
    l.backward();
    assert_eq!(
        p.grad().unwrap(),
        array![[0.5, -1.0], [0.0, -0.5]].into_dyn()
    );

    // Against a Var target, gradients go to both.
    let mut rng = Rng::new(7);
    check64(
        |v| mse(&v[0], &v[1]),
        &[rng.array(&[3, 2], -1.0, 1.0), rng.array(&[3, 2], -1.0, 1.0)],
    );
    check32(
        |v| mse(&v[0], &v[1]),
        &[rng.array(&[4], -1.0, 1.0), rng.array(&[4], -1.0, 1.0)],
    );
    // Shapes must match exactly.
    assert!(matches!(
        try_mse(&p, array![1.0, 2.0]),
        Err(OpError::ShapeMismatch { .. })
    ));
}

#[test]
#[should_panic(
    expected = "mse: shapes differ: the first operand has shape [3, 1] but the second has shape [3]"
)]
fn mse_shape_mismatch_panics() {
    let p = Var::new(Array2::<f64>::zeros((3, 1)).into_dyn());
    mse(&p, Array1::<f64>::zeros(3));
}

#[test]
fn cross_entropy_by_hand() {
    // Row 0: logits (1, 2, 3), label 2: -ln(e^3 / (e^1 + e^2 + e^3)).
    // Row 1: logits (0, 0, 0), label 0: -ln(1/3) = ln 3. The loss is the mean of the two.
    let logits0 = array![[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]];
    let z0 = 1f64.exp() + 2f64.exp() + 3f64.exp();
    let want = (-(3f64.exp() / z0).ln() + 3f64.ln()) / 2.0;
    let logits = Var::new(logits0.clone().into_dyn());
    let l = cross_entropy(&logits, &[2, 0]);
    assert!((l.item() - want).abs() < 1e-15, "{} vs {want}", l.item());
    // dloss/dlogits_bk = (softmax_bk - [k == label_b]) / batch.
    l.backward();
    let p0 = array![1f64.exp() / z0, 2f64.exp() / z0, 3f64.exp() / z0];
    let want_grad = array![
        [p0[0] / 2.0, p0[1] / 2.0, (p0[2] - 1.0) / 2.0],
        [(1.0 / 3.0 - 1.0) / 2.0, 1.0 / 6.0, 1.0 / 6.0]
    ];
    assert_close(
        "cross_entropy gradient",
        &logits.grad().unwrap(),
        &want_grad.into_dyn(),
        Tol::new(1e-15, 1e-15),
    );

    // Agrees with the composition of the ops it fuses: -mean(log_softmax picked by one-hot).
    let logits = Var::new(logits0.into_dyn());
    let one_hot = array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]];
    let composed = -(logits.log_softmax(1) * &one_hot).sum() / 2.0;
    assert!((composed.item() - want).abs() < 1e-15);

    // Stable for large logits: logits (1000, 0) with label 1 lose 1000 (-ln(e^-1000 / (1 + e^-1000)))
    // and those with label 0 lose ln(1 + e^-1000) = 0.
    let big = Var::<f64>::new(array![[1000.0, 0.0], [1000.0, 0.0]].into_dyn());
    assert!((cross_entropy(&big, &[1, 0]).item() - 500.0).abs() < 1e-9);
}

#[test]
fn cross_entropy_passes_gradcheck() {
    let mut rng = Rng::new(8);
    let logits = rng.array(&[4, 5], -3.0, 3.0);
    let labels = [0, 4, 2, 2];
    check64(
        |v| cross_entropy(&v[0], &labels),
        std::slice::from_ref(&logits),
    );
    check32(
        |v| cross_entropy(&v[0], &labels),
        std::slice::from_ref(&logits),
    );
    // Inside a small network: logits = tanh(x w) + b.
    let (x, w, b) = (
        rng.array(&[4, 3], -1.0, 1.0),
        rng.array(&[3, 5], -1.0, 1.0),
        rng.array(&[5], -1.0, 1.0),
    );
    check64(
        |v| cross_entropy(&(einsum!("ij,jk->ik", v[0], v[1]).tanh() + &v[2]), &labels),
        &[x.clone(), w.clone(), b.clone()],
    );
    check32(
        |v| cross_entropy(&(einsum!("ij,jk->ik", v[0], v[1]).tanh() + &v[2]), &labels),
        &[x, w, b],
    );
}

#[test]
fn cross_entropy_errors() {
    let logits = Var::new(Array2::<f64>::zeros((2, 3)).into_dyn());
    assert_eq!(
        try_cross_entropy(&logits, &[0, 7]).unwrap_err(),
        OpError::LabelOutOfRange {
            op: "cross_entropy",
            sample: 1,
            label: 7,
            classes: 3
        }
    );
    assert_eq!(
        try_cross_entropy(&logits, &[0, 1, 2])
            .unwrap_err()
            .to_string(),
        "cross_entropy: 3 labels were given for a batch of 2 samples"
    );
    let flat = Var::new(Array1::<f64>::zeros(3).into_dyn());
    assert_eq!(
        try_cross_entropy(&flat, &[0]).unwrap_err().to_string(),
        "cross_entropy: expected an operand with 2 axes, but its shape is [3]"
    );
}

#[test]
#[should_panic(expected = "cross_entropy: label 3 of sample 0 is out of range for 3 classes")]
fn cross_entropy_label_out_of_range_panics() {
    let logits = Var::new(Array2::<f64>::zeros((1, 3)).into_dyn());
    cross_entropy(&logits, &[3]);
}

// ---------------------------------------------------------------------------------------------------
// gradcheck itself

#[test]
fn gradcheck_reports_and_catches_errors() {
    let x = array![1.0, 2.0, 3.0].into_dyn();
    let r = gradcheck(|v| v[0].powi(2).sum(), std::slice::from_ref(&x), 1e-6, 1e-6).unwrap();
    assert_eq!(r.checked, 3);
    assert!(r.max_error < 1e-8);

    // An input the function does not use has gradient zero, which is right.
    let r = gradcheck(|v| v[0].sum(), &[x.clone(), x.clone()], 1e-6, 1e-6).unwrap();
    assert_eq!(r.checked, 6);

    // A deliberately wrong backward (claims d/dx e^x = 2 e^x) is caught at the first element.
    let wrong = |v: &[Var<f64>]| {
        let y = v[0].data().mapv(f64::exp);
        Var::from_op(y, vec![v[0].clone()], |g, p| {
            vec![Some(g * &p[0].data().mapv(|x| 2.0 * x.exp()))]
        })
        .sum()
    };
    match gradcheck(wrong, std::slice::from_ref(&x), 1e-6, 1e-6) {
        Err(GradcheckError::Mismatch {
            input,
            index,
            analytic,
            numeric,
            ..
        }) => {
            assert_eq!((input, index), (0, vec![0]));
            assert!((analytic - 2.0 * 1f64.exp()).abs() < 1e-12);
            assert!((numeric - 1f64.exp()).abs() < 1e-6);
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }

    // A non-scalar function is an error, not a panic.
    assert_eq!(
        gradcheck(|v| v[0].exp(), std::slice::from_ref(&x), 1e-6, 1e-6).unwrap_err(),
        GradcheckError::NotScalar { shape: vec![3] }
    );
    // A NaN gradient fails.
    assert!(gradcheck(
        |v| v[0].sqrt().sum(),
        &[array![-1.0].into_dyn()],
        1e-6,
        1e-6
    )
    .is_err());
}

// ---------------------------------------------------------------------------------------------------
// Optimizers

/// loss(w) = ||A w - y||^2 / n for a fixed well-conditioned A, minimized at w* = (1, -2, 0.5).
fn quadratic() -> (ArrayD<f64>, impl Fn(&Var<f64>) -> Var<f64>) {
    let a = array![
        [2.0, 0.5, 0.0],
        [0.5, 1.5, 0.2],
        [0.0, 0.2, 1.0],
        [1.0, 0.0, 1.0]
    ]
    .into_dyn();
    let w_star = array![1.0, -2.0, 0.5].into_dyn();
    let y = einsum!("ij,j->i", a, w_star);
    let loss = move |w: &Var<f64>| mse(&einsum!("ij,j->i", a, w), &y);
    (w_star, loss)
}

#[test]
fn sgd_reduces_a_quadratic_loss() {
    for momentum in [0.0, 0.9] {
        let (w_star, loss) = quadratic();
        let w = Var::new(ArrayD::zeros(IxDyn(&[3])));
        let mut opt = Sgd::new(vec![w.clone()], 0.1).with_momentum(momentum);
        let first = loss(&w).item();
        let mut last = first;
        for _ in 0..100 {
            opt.zero_grad();
            let l = loss(&w);
            last = l.item();
            l.backward();
            opt.step();
        }
        assert!(
            last < 1e-3 * first,
            "momentum {momentum}: {first} -> {last}"
        );
        assert_close(
            &format!("momentum {momentum}: w"),
            &w.data(),
            &w_star,
            Tol::new(0.05, 0.05),
        );
    }
}

#[test]
fn sgd_step_by_hand() {
    // One plain step on loss = sum(w^2): g = 2w, w' = w - lr 2w = 0.8 w for lr = 0.1.
    let w = Var::new(array![1.0, -2.0].into_dyn());
    let mut opt = Sgd::new(vec![w.clone()], 0.1);
    w.powi(2).sum().backward();
    opt.step();
    assert_close(
        "one SGD step",
        &w.data(),
        &array![0.8, -1.6].into_dyn(),
        Tol::new(1e-15, 1e-15),
    );
    // Momentum 0.5, two steps on loss = sum(w) (g = 1): v1 = 1, w -= 0.1; v2 = 0.5 + 1, w -= 0.15.
    let w = Var::new(array![0.0].into_dyn());
    let mut opt = Sgd::new(vec![w.clone()], 0.1).with_momentum(0.5);
    for _ in 0..2 {
        opt.zero_grad();
        w.sum().backward();
        opt.step();
    }
    assert_close(
        "two SGD steps with momentum",
        &w.data(),
        &array![-0.25].into_dyn(),
        Tol::new(1e-15, 1e-15),
    );
    // A parameter without a gradient is left alone.
    let unused = Var::new(array![5.0].into_dyn());
    let mut opt = Sgd::new(vec![unused.clone()], 0.1);
    opt.step();
    assert_eq!(unused.item(), 5.0);
    assert_eq!(opt.params().len(), 1);
}

#[test]
fn adam_reduces_a_quadratic_loss() {
    let (_, loss) = quadratic();
    let w = Var::new(ArrayD::zeros(IxDyn(&[3])));
    let mut opt = Adam::new(vec![w.clone()], 0.1);
    let first = loss(&w).item();
    let mut last = first;
    for _ in 0..100 {
        opt.zero_grad();
        let l = loss(&w);
        last = l.item();
        l.backward();
        opt.step();
    }
    assert!(last < 1e-2 * first, "{first} -> {last}");
}

#[test]
fn adam_first_step_by_hand() {
    // At t = 1 the bias corrections make m_hat = g and v_hat = g^2, so the step is
    // lr g / (|g| + eps) = lr sign(g) (up to eps): w' = w - 0.1 sign(2w).
    let w = Var::new(array![3.0, -0.001].into_dyn());
    let mut opt = Adam::new(vec![w.clone()], 0.1);
    w.powi(2).sum().backward();
    opt.step();
    assert_close(
        "Adam's first step",
        &w.data(),
        &array![2.9, 0.099].into_dyn(),
        Tol::new(1e-6, 1e-6),
    );
}

#[test]
fn adam_trains_a_tiny_classifier() {
    // Two linearly separable clusters (uniform noise around (1.5, -1.5) and (-1.5, 1.5)); logits = x W + b; the loss must fall.
    let mut rng = Rng::new(9);
    let n = 16;
    let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let x = Array2::from_shape_fn((n, 2), |(i, j)| {
        let centre = if labels[i] == j { 1.5 } else { -1.5 };
        centre + rng.between(-0.5, 0.5)
    })
    .into_dyn();
    let w = Var::new(Rng::new(10).array(&[2, 2], -0.1, 0.1));
    let b = Var::new(ArrayD::zeros(IxDyn(&[2])));
    let mut opt = Adam::new(vec![w.clone(), b.clone()], 0.05);
    let loss =
        |w: &Var<f64>, b: &Var<f64>| cross_entropy(&(einsum!("ij,jk->ik", x, w) + b), &labels);
    let first = loss(&w, &b).item();
    for _ in 0..100 {
        opt.zero_grad();
        loss(&w, &b).backward();
        opt.step();
    }
    let last = loss(&w, &b).item();
    assert!(last < 0.1 * first, "{first} -> {last}");
}

#[test]
fn optimizers_work_in_f32() {
    let target = array![1.0f32, -1.0].into_dyn();
    let w = Var::new(ArrayD::<f32>::zeros(IxDyn(&[2])));
    let mut sgd = Sgd::new(vec![w.clone()], 0.1f32);
    let v = Var::new(ArrayD::<f32>::zeros(IxDyn(&[2])));
    let mut adam = Adam::new(vec![v.clone()], 0.1f32);
    for _ in 0..100 {
        sgd.zero_grad();
        mse(&w, &target).backward();
        sgd.step();
        adam.zero_grad();
        mse(&v, &target).backward();
        adam.step();
    }
    assert!(mse(&w, &target).item() < 1e-6);
    assert!(mse(&v, &target).item() < 1e-2);
}

// ---------------------------------------------------------------------------------------------------
// Constructors, no_grad, fully masked softmax

#[test]
fn constructors_take_arrays_of_any_dimension() {
    // Static-dimension arrays are converted with into_dyn; ArrayD call sites still compile.
    let a = Var::new(array![1.0, 2.0]);
    let b = Var::new(Array2::<f64>::ones((2, 2)));
    let c = Var::constant(array![[[3.0f32]]]);
    let d = Var::new(array![5.0].into_dyn());
    assert_eq!(
        (a.shape(), b.shape(), c.shape()),
        (vec![2], vec![2, 2], vec![1, 1, 1])
    );
    assert!(a.requires_grad() && !c.requires_grad() && d.requires_grad());
    // y = sum(a_j * b_ij) = sum_j a_j (b_0j + b_1j): dy/da_j = 2 with b all ones.
    (&b * &a).sum().backward();
    assert_eq!(a.grad().unwrap(), array![2.0, 2.0].into_dyn());
}

#[test]
fn no_grad_records_nothing_and_recording_resumes() {
    let w = Var::new(array![1.0, -2.0]);
    let inside = einsum_runtime::no_grad(|| {
        assert!(!einsum_runtime::is_grad_enabled());
        let y = (&w * &w).sigmoid().softmax(0);
        assert!(!y.requires_grad());
        (&w * 2.0, einsum!("i,i->", w, w))
    });
    assert!(einsum_runtime::is_grad_enabled());
    assert!(!inside.0.requires_grad() && !inside.1.requires_grad());
    // Backward through values computed inside no_grad reaches no leaf.
    inside.0.sum().backward();
    inside.1.backward();
    assert!(w.grad().is_none());
    // y = sum(c * w) with c = 2 w computed without recording: dy/dw = c = 2 w, not 4 w.
    (&inside.0 * &w).sum().backward();
    assert_eq!(w.grad().unwrap(), array![2.0, -4.0].into_dyn());
    // Nested scopes restore the state they found.
    einsum_runtime::no_grad(|| {
        einsum_runtime::no_grad(|| {});
        assert!(!einsum_runtime::is_grad_enabled());
    });
    assert!(einsum_runtime::is_grad_enabled());
}

#[test]
fn no_grad_resumes_recording_after_a_panic() {
    let caught = std::panic::catch_unwind(|| einsum_runtime::no_grad(|| panic!("inside no_grad")));
    assert!(caught.is_err());
    assert!(einsum_runtime::is_grad_enabled());
    let w = Var::new(array![3.0]);
    let y = (&w * &w).sum();
    assert!(y.requires_grad());
    y.backward();
    assert_eq!(w.grad().unwrap(), array![6.0].into_dyn()); // d w^2 / dw = 2 w
}

#[test]
fn softmax_of_a_fully_masked_row_is_nan() {
    // Row 0 is all -inf: 0 / 0 -> NaN, as PyTorch gives. Row 1 keeps one finite entry: [0, 1].
    let inf = f64::NEG_INFINITY;
    let x = Var::new(array![[inf, inf], [inf, 0.0]]);
    let y = x.softmax(1);
    let y = y.data();
    assert!(y.index_axis(Axis(0), 0).iter().all(|v| v.is_nan()));
    assert_eq!(
        y.index_axis(Axis(0), 1).iter().copied().collect::<Vec<_>>(),
        vec![0.0, 1.0]
    );
    let ly = x.log_softmax(1);
    assert!(ly.data().index_axis(Axis(0), 0).iter().all(|v| v.is_nan()));
    assert_eq!(ly.data()[[1, 1]], 0.0);
    // The gradient of a NaN row is NaN; the other row's is finite (softmax sums to 1: gradient 0).
    x.softmax(1).sum().backward();
    let g = x.grad().unwrap();
    assert!(g.index_axis(Axis(0), 0).iter().all(|v| v.is_nan()));
    assert_eq!(
        g.index_axis(Axis(0), 1).iter().copied().collect::<Vec<_>>(),
        vec![0.0, 0.0]
    );
}

#[test]
fn optimizers_take_references_or_values() {
    // Loss sum((w - 1)^2) + b^2: gradients 2 (w - 1) and 2 b.
    let (w, b) = (Var::new(array![3.0, -1.0]), Var::new(array![2.0]));
    let run = |opt: &mut dyn FnMut()| {
        w.set_data(array![3.0, -1.0].into_dyn());
        b.set_data(array![2.0].into_dyn());
        w.zero_grad();
        b.zero_grad();
        ((&w - 1.0).powi(2).sum() + b.powi(2).sum()).backward();
        opt();
        (w.data(), b.data())
    };
    let mut by_ref = Sgd::new([&w, &b], 0.25);
    let mut by_vec = Sgd::new(vec![w.clone(), b.clone()], 0.25);
    let r1 = run(&mut || by_ref.step());
    let r2 = run(&mut || by_vec.step());
    // w - 0.25 * 2 (w - 1) = (3 - 1, -1 + 1); b - 0.25 * 2 b = 1.
    assert_eq!(*r1.0, array![2.0, 0.0].into_dyn());
    assert_eq!(*r1.1, array![1.0].into_dyn());
    assert_eq!(r1, r2);
    let params = [w.clone(), b.clone()];
    let mut adam = Adam::new(params.iter(), 0.5);
    let r3 = run(&mut || adam.step());
    // Adam's first step moves every element by lr against the sign of its gradient.
    assert_close(
        "Adam step by reference: w",
        &r3.0,
        &array![2.5, -0.5].into_dyn(),
        Tol::new(1e-7, 1e-7),
    );
    assert_close(
        "Adam step by reference: b",
        &r3.1,
        &array![1.5].into_dyn(),
        Tol::new(1e-7, 1e-7),
    );
}

// ---------------------------------------------------------------------------------------------------
// Panic locations

/// Every panicking op reports the line of the user's call (`#[track_caller]` all the way down to the
/// one helper that panics), not a line inside einsum-runtime: operators and methods from each file of
/// `ops/` (arithmetic, reductions, softmax; the elementwise functions cannot fail), the losses, and
/// `item`/`backward` on `Var` itself.
#[test]
fn op_panics_report_the_callers_line() {
    let x = Var::new(Array2::<f64>::zeros((2, 3)));
    let y = Var::new(array![1.0, 2.0]);
    let row = array![1.0, 2.0];
    // Each case keeps its `line!()` on the line of its call, so rustfmt must not split them.
    #[rustfmt::skip]
    let cases: Vec<(u32, Box<dyn FnOnce()>)> = vec![
        (line!(), Box::new(|| drop(&x + &y))),
        (line!(), Box::new(|| drop(x.clone() - &y))),
        (line!(), Box::new(|| drop(&x * &row))),
        (line!(), Box::new(|| drop(x.clone() / row.clone()))),
        (line!(), Box::new(|| drop(x.sum_axes(&[2])))),
        (line!(), Box::new(|| drop(x.mean_axes(&[1, 1])))),
        (line!(), Box::new(|| drop(x.sum_axes_keepdim(&[5])))),
        (line!(), Box::new(|| drop(x.mean_axes_keepdim(&[0, 0])))),
        (line!(), Box::new(|| drop(x.softmax(2)))),
        (line!(), Box::new(|| drop(x.log_softmax(2)))),
        (line!(), Box::new(|| drop(mse(&x, &row)))),
        (line!(), Box::new(|| drop(cross_entropy(&x, &[0])))),
        (line!(), Box::new(|| drop(cross_entropy(&x, &[0, 3])))),
        (line!(), Box::new(|| { x.item(); })),
        (line!(), Box::new(|| x.backward())),
        (line!(), Box::new(|| x.backward_with(Array1::zeros(6)))),
    ];
    for (line, case) in cases {
        let (file, at) = common::panics::panic_location("", case);
        assert_eq!((file.as_str(), at), (file!(), line), "case at line {line}");
    }
}
