//! Shape, indexing, selection and masking ops on `Var`, `dropout`, the `init` module, and the error
//! forms of these ops.
//!
//! Each op gets (1) a hand-derived gradient, with the derivation in a comment, built by a route that
//! shares no code with the op's backward closure (explicit index arithmetic on small arrays), and
//! (2) a `gradcheck` against central finite differences at random inputs, through a weighted sum with
//! fixed random weights, so that every element of the op's output is seen with a different weight.
//! Random inputs and weights come from the suite's seeded generator (`common::rng`), so failures
//! reproduce; `dropout` and `init` draw from a seeded `StdRng`, as their API asks.

mod common;

use common::assert::{assert_close, Tol};
use common::autograd::{check32, check64, seeded_array, weighted, weighted32};
use common::panics::panic_location;
use einsum_runtime::rand::{rngs::StdRng, SeedableRng};
use einsum_runtime::{init, no_grad, OpError, Var};
use ndarray::{array, s, Array1, Array2, Array3, ArrayD, Axis, IxDyn, Slice};

// ---------------------------------------------------------------------------------------------------
// Helpers

/// The gradient of `sum(w ∘ op(x))` with respect to x, and `w`.
fn grad_with_weights(
    x0: &ArrayD<f64>,
    op: impl Fn(&Var<f64>) -> Var<f64>,
) -> (ArrayD<f64>, ArrayD<f64>) {
    let x = Var::new(x0.clone());
    let y = op(&x);
    let w = seeded_array(&y.shape(), 99);
    (&y * &w).sum().backward();
    (x.grad().expect("x is on the path"), w)
}

// ---------------------------------------------------------------------------------------------------
// reshape, slice, index_axis, select

#[test]
fn reshape_by_hand_and_gradcheck() {
    let x0 = seeded_array(&[2, 3], 1);
    let (g, w) = grad_with_weights(&x0, |x| x.reshape(&[3, 1, 2]));
    // y = x in a new shape, same row-major order: dy_k/dx_k = 1 for the flat index k, so the
    // gradient is w's elements in row-major order, laid out as x.
    let flat: Vec<f64> = w.iter().copied().collect();
    assert_eq!(g, ArrayD::from_shape_vec(IxDyn(&[2, 3]), flat).unwrap());
    // A transposed (non-contiguous) input is read in logical order too.
    let t = Var::new(array![[1.0, 2.0], [3.0, 4.0]]);
    let tt = Var::new(t.data().t().to_owned());
    assert_eq!(
        *tt.reshape(&[4]).data(),
        array![1.0, 3.0, 2.0, 4.0].into_dyn()
    );
    check64(
        |v| weighted(&v[0].reshape(&[6]), 2),
        std::slice::from_ref(&x0),
    );
    check64(|v| weighted(&v[0].reshape(&[3, 2]).tanh(), 3), &[x0]);
}

#[test]
fn slice_by_hand_and_gradcheck() {
    let x0 = seeded_array(&[3, 4], 4);
    // y = x[1.., ::2] picks rows 1, 2 and columns 0, 2: dy_ab/dx_ij = 1 iff i = a + 1, j = 2 b.
    let (g, w) = grad_with_weights(&x0, |x| x.slice(s![1.., ..;2]));
    let mut want = ArrayD::zeros(IxDyn(&[3, 4]));
    for a in 0..2 {
        for b in 0..2 {
            want[[a + 1, 2 * b]] = w[[a, b]];
        }
    }
    assert_eq!(g, want);
    // A negative step reverses; an index removes its axis; NewAxis adds one.
    let (g, w) = grad_with_weights(&x0, |x| x.slice(s![-1, ..;-1]));
    let mut want = ArrayD::zeros(IxDyn(&[3, 4]));
    for b in 0..4 {
        want[[2, 3 - b]] = w[[b]]; // y_b = x[2, 3 - b]
    }
    assert_eq!(g, want);
    let y = Var::new(x0.clone()).slice(s![.., ndarray::NewAxis, 0..1]);
    assert_eq!(y.shape(), vec![3, 1, 1]);
    check64(
        |v| weighted(&v[0].slice(s![..2, 1..;2]), 5),
        std::slice::from_ref(&x0),
    );
    check64(
        |v| weighted(&v[0].slice(s![-2.., 3]).exp(), 6),
        std::slice::from_ref(&x0),
    );
    check32(|v| weighted32(&v[0].slice(s![.., ..;-2]), 7), &[x0]);
}

#[test]
fn slice_axis_by_hand_and_gradcheck() {
    let x0 = seeded_array(&[2, 5], 8);
    // y = x[:, 1:4]: y_ab = x_a(b+1).
    let (g, w) = grad_with_weights(&x0, |x| x.slice_axis(1, 1..4));
    let mut want = ArrayD::zeros(IxDyn(&[2, 5]));
    for a in 0..2 {
        for b in 0..3 {
            want[[a, b + 1]] = w[[a, b]];
        }
    }
    assert_eq!(g, want);
    let v = Var::new(x0.clone());
    assert_eq!(
        *v.slice_axis(1, Slice::new(-2, None, 1)).data(),
        x0.slice(s![.., 3..]).to_owned().into_dyn()
    );
    check64(
        |v| weighted(&v[0].slice_axis(0, 1..), 9),
        std::slice::from_ref(&x0),
    );
    check64(
        |v| weighted(&v[0].slice_axis(1, Slice::new(0, None, 2)), 10),
        &[x0],
    );
}

#[test]
fn index_axis_by_hand_and_gradcheck() {
    let x0 = seeded_array(&[3, 2, 2], 11);
    // y = x[:, 1, :]: y_ac = x_a1c.
    let (g, w) = grad_with_weights(&x0, |x| x.index_axis(1, 1));
    let mut want = ArrayD::zeros(IxDyn(&[3, 2, 2]));
    for a in 0..3 {
        for c in 0..2 {
            want[[a, 1, c]] = w[[a, c]];
        }
    }
    assert_eq!(g, want);
    check64(
        |v| weighted(&v[0].index_axis(0, 2), 12),
        std::slice::from_ref(&x0),
    );
    check64(|v| weighted(&v[0].index_axis(2, 0).sigmoid(), 13), &[x0]);
}

#[test]
fn select_accumulates_repeated_indices() {
    let x0 = seeded_array(&[4, 3], 14);
    let idx = [3, 0, 3, 3, 1];
    // y_k = x[idx_k]: dL/dx_i = sum over k with idx_k = i of w_k; row 2 is never taken.
    let (g, w) = grad_with_weights(&x0, |x| x.select(0, &idx));
    let mut want = ArrayD::zeros(IxDyn(&[4, 3]));
    for (k, &i) in idx.iter().enumerate() {
        for j in 0..3 {
            want[[i, j]] += w[[k, j]];
        }
    }
    assert_close("select gradient", &g, &want, Tol::abs(1e-15));
    assert!(g.index_axis(Axis(0), 2).iter().all(|&v| v == 0.0));
    // Along axis 1, as an embedding lookup along the last axis.
    check64(
        |v| weighted(&v[0].select(1, &[2, 2, 0]), 15),
        std::slice::from_ref(&x0),
    );
    check64(
        |v| weighted(&v[0].select(0, &idx), 16),
        std::slice::from_ref(&x0),
    );
    check32(|v| weighted32(&v[0].select(0, &[1, 1]), 17), &[x0]);
}

// ---------------------------------------------------------------------------------------------------
// concat, stack, broadcast_to

#[test]
fn concat_by_hand_and_gradcheck() {
    let (a0, b0) = (seeded_array(&[2, 1], 18), seeded_array(&[2, 3], 19));
    let (a, b) = (Var::new(a0.clone()), Var::new(b0.clone()));
    let y = Var::concat(1, &[&a, &b, &a]); // columns: a | b | a
    assert_eq!(y.shape(), vec![2, 5]);
    assert_eq!(y.data().slice(s![.., 1..4]).into_dyn(), b0);
    let w = seeded_array(&[2, 5], 20);
    (&y * &w).sum().backward();
    // a appears at columns 0 and 4: its gradient is the sum of both columns of w.
    let wa = &w.slice(s![.., 0..1]) + &w.slice(s![.., 4..5]);
    assert_close(
        "concat gradient of a",
        &a.grad().unwrap(),
        &wa,
        Tol::abs(1e-15),
    );
    assert_eq!(
        b.grad().unwrap(),
        w.slice(s![.., 1..4]).to_owned().into_dyn()
    );
    check64(
        |v| weighted(&Var::concat(1, &[&v[0], &v[1], &v[0]]), 21),
        &[a0.clone(), b0.clone()],
    );
    check64(
        |v| weighted(&Var::concat(0, &[&v[1], &v[1]]).tanh(), 22),
        &[a0, b0],
    );
    // A constant part receives no gradient and does not block the others.
    let c = Var::constant(array![[1.0]]);
    let d = Var::new(array![[2.0]]);
    Var::concat(0, &[&c, &d]).sum().backward();
    assert!(c.grad().is_none());
    assert_eq!(d.grad().unwrap(), array![[1.0]].into_dyn());
}

#[test]
fn stack_by_hand_and_gradcheck() {
    let (a0, b0) = (seeded_array(&[2, 3], 23), seeded_array(&[2, 3], 24));
    let (a, b) = (Var::new(a0.clone()), Var::new(b0.clone()));
    let y = Var::stack(2, &[&a, &b]); // y_ijk = (a, b)_k [i, j]
    assert_eq!(y.shape(), vec![2, 3, 2]);
    let w = seeded_array(&[2, 3, 2], 25);
    (&y * &w).sum().backward();
    assert_eq!(a.grad().unwrap(), w.index_axis(Axis(2), 0).to_owned());
    assert_eq!(b.grad().unwrap(), w.index_axis(Axis(2), 1).to_owned());
    check64(
        |v| weighted(&Var::stack(0, &[&v[0], &v[1], &v[0]]), 26),
        &[a0.clone(), b0.clone()],
    );
    check32(
        |v| weighted32(&Var::stack(1, &[&v[0], &v[1]]), 27),
        &[a0, b0],
    );
}

#[test]
fn broadcast_to_sums_back_by_hand_and_gradcheck() {
    let x0 = seeded_array(&[3, 1], 28);
    // y_abc = x_b0: dL/dx_b0 = sum_ac w_abc.
    let (g, w) = grad_with_weights(&x0, |x| x.broadcast_to(&[2, 3, 4]));
    let mut want = ArrayD::zeros(IxDyn(&[3, 1]));
    for ((_, b, _), &wv) in w
        .view()
        .into_dimensionality::<ndarray::Ix3>()
        .unwrap()
        .indexed_iter()
    {
        want[[b, 0]] += wv;
    }
    assert_close("broadcast_to gradient", &g, &want, Tol::abs(1e-14));
    check64(
        |v| weighted(&v[0].broadcast_to(&[2, 3, 5]), 29),
        std::slice::from_ref(&x0),
    );
    check64(|v| weighted(&v[0].broadcast_to(&[3, 1]), 30), &[x0]);
}

// ---------------------------------------------------------------------------------------------------
// Reductions with keepdim, max/min, argmax

#[test]
fn keepdim_reductions_by_hand_and_gradcheck() {
    let x0 = seeded_array(&[2, 3, 4], 31);
    // s_i0k = sum_j x_ijk: ds_i0k/dx_ijk = 1, so dL/dx_ijk = w_i0k.
    let (g, w) = grad_with_weights(&x0, |x| x.sum_axes_keepdim(&[1]));
    assert_eq!(w.shape(), &[2, 1, 4]);
    assert_eq!(g, w.broadcast(IxDyn(&[2, 3, 4])).unwrap().to_owned());
    // m_00k = mean_ij x_ijk: dm/dx = 1/6.
    let (g, w) = grad_with_weights(&x0, |x| x.mean_axes_keepdim(&[0, 1]));
    assert_eq!(w.shape(), &[1, 1, 4]);
    assert_close(
        "mean_axes_keepdim gradient",
        &g,
        &w.broadcast(IxDyn(&[2, 3, 4])).unwrap().mapv(|v| v / 6.0),
        Tol::abs(1e-15),
    );
    // LayerNorm over the last axis, as the issue asks: centring broadcasts against x.
    let layer_norm = |x: &Var<f64>| {
        let centred = x - &x.mean_axes_keepdim(&[2]);
        let var = centred.powi(2).mean_axes_keepdim(&[2]);
        &centred / &(var + 1e-5).sqrt()
    };
    let y = layer_norm(&Var::new(x0.clone()));
    let means = y.data().mean_axis(Axis(2)).unwrap();
    assert!(means.iter().all(|m| m.abs() < 1e-12));
    check64(
        |v| weighted(&layer_norm(&v[0]), 32),
        std::slice::from_ref(&x0),
    );
    check64(
        |v| weighted(&v[0].sum_axes_keepdim(&[0, 2]), 33),
        std::slice::from_ref(&x0),
    );
    check32(|v| weighted32(&v[0].mean_axes_keepdim(&[1]), 34), &[x0]);
}

#[test]
fn max_min_route_the_gradient_to_the_first_extremum() {
    let x0 = array![[1.0, 3.0, 3.0, -1.0], [2.0, 0.0, 2.0, 0.0]].into_dyn();
    let (g, w) = grad_with_weights(&x0, |x| x.max_axis(1));
    // Row 0: max 3 at columns 1 and 2 (tie: the first); row 1: max 2 at columns 0 and 2.
    let want = array![[0.0, w[[0]], 0.0, 0.0], [w[[1]], 0.0, 0.0, 0.0]].into_dyn();
    assert_eq!(g, want);
    let (g, w) = grad_with_weights(&x0, |x| x.min_axis(1));
    let want = array![[0.0, 0.0, 0.0, w[[0]]], [0.0, w[[1]], 0.0, 0.0]].into_dyn();
    assert_eq!(g, want);
    let x = Var::new(x0.clone());
    assert_eq!(*x.max_axis(0).data(), array![2.0, 3.0, 3.0, 0.0].into_dyn());
    assert_eq!(x.argmax(1), array![1, 0].into_dyn());
    assert_eq!(x.argmin(1), array![3, 1].into_dyn());
    assert_eq!(x.argmax(0), array![1, 0, 0, 1].into_dyn());
    // NaN wins, as in numpy and PyTorch.
    let n = Var::new(array![1.0, f64::NAN, 5.0, f64::NAN]);
    assert!(n.max_axis(0).item().is_nan() && n.min_axis(0).item().is_nan());
    assert_eq!(n.argmax(0)[[]], 1);
    // Random inputs have distinct entries, so max is differentiable there.
    let r = seeded_array(&[3, 4, 2], 35);
    check64(
        |v| weighted(&v[0].max_axis(1), 36),
        std::slice::from_ref(&r),
    );
    check64(
        |v| weighted(&v[0].min_axis(2), 37),
        std::slice::from_ref(&r),
    );
    check32(|v| weighted32(&v[0].max_axis(0), 38), &[r]);
}

// ---------------------------------------------------------------------------------------------------
// where_, masked_fill

#[test]
fn where_by_hand_and_gradcheck() {
    let (x0, y0) = (seeded_array(&[2, 3], 39), seeded_array(&[3], 40));
    let mask = array![[true, false, true], [false, false, true]];
    let (x, y) = (Var::new(x0.clone()), Var::new(y0.clone()));
    let z = x.where_(&mask, &y);
    let w = seeded_array(&[2, 3], 41);
    (&z * &w).sum().backward();
    // z_ij = x_ij if m_ij else y_j: dL/dx_ij = m_ij w_ij; dL/dy_j = sum_i (1 - m_ij) w_ij.
    let gx = ArrayD::from_shape_fn(
        IxDyn(&[2, 3]),
        |i| if mask[[i[0], i[1]]] { w[&i] } else { 0.0 },
    );
    let gy = ArrayD::from_shape_fn(IxDyn(&[3]), |j| {
        (0..2)
            .filter(|&i| !mask[[i, j[0]]])
            .map(|i| w[[i, j[0]]])
            .sum()
    });
    assert_eq!(x.grad().unwrap(), gx);
    assert_close(
        "where gradient of y",
        &y.grad().unwrap(),
        &gy,
        Tol::abs(1e-15),
    );
    // The mask broadcasts too (a column mask), and `other` may be a scalar.
    let col = array![[true], [false]];
    assert_eq!(
        *Var::new(array![[1.0, 2.0], [3.0, 4.0]])
            .where_(&col, 0.0)
            .data(),
        array![[1.0, 2.0], [0.0, 0.0]].into_dyn()
    );
    check64(
        |v| weighted(&v[0].where_(&mask, &v[1]), 42),
        &[x0.clone(), y0.clone()],
    );
    check64(|v| weighted(&v[1].where_(&col, &v[0]), 43), &[x0, y0]);
}

#[test]
fn masked_fill_for_causal_attention() {
    // Scores (batch 2, 3 queries, 3 keys) with a causal mask: key j is hidden from query i if j > i.
    let s0 = seeded_array(&[2, 3, 3], 44);
    let future = Array2::from_shape_fn((3, 3), |(i, j)| j > i);
    let attention = |s: &Var<f64>| s.masked_fill(&future, f64::NEG_INFINITY).softmax(2);
    let a = attention(&Var::new(s0.clone()));
    for ((_, i, j), &v) in a
        .data()
        .view()
        .into_dimensionality::<ndarray::Ix3>()
        .unwrap()
        .indexed_iter()
    {
        if j > i {
            assert_eq!(v, 0.0);
        }
    }
    // Query 0 sees only key 0: weight exactly 1.
    assert_eq!(a.data()[[1, 0, 0]], 1.0);
    // The masked scores get no gradient: d/ds of a constant fill is 0 (and softmax sends 0 there).
    let (g, w) = grad_with_weights(&s0, |s| s.masked_fill(&future, 7.0));
    let want = ArrayD::from_shape_fn(IxDyn(&[2, 3, 3]), |i| if i[2] > i[1] { 0.0 } else { w[&i] });
    assert_eq!(g, want);
    check64(
        |v| weighted(&attention(&v[0]), 45),
        std::slice::from_ref(&s0),
    );
    check32(
        |v| weighted32(&v[0].masked_fill(&future, f32::NEG_INFINITY).softmax(2), 46),
        &[s0],
    );
}

// ---------------------------------------------------------------------------------------------------
// dropout

#[test]
fn dropout_scales_kept_elements_and_is_reproducible() {
    let x = Var::new(Array1::<f64>::from_elem(20_000, 2.0));
    let p = 0.3;
    let y = x.dropout(p, &mut StdRng::seed_from_u64(1), true);
    let kept = y.data().iter().filter(|&&v| v != 0.0).count();
    // Each element is kept with probability 0.7 and becomes 2 / 0.7.
    assert!(y
        .data()
        .iter()
        .all(|&v| v == 0.0 || (v - 2.0 / 0.7).abs() < 1e-12));
    // Kept count ~ Binomial(20000, 0.7): sd ~ 65, so 6 sd is about 390.
    assert!((kept as f64 - 14_000.0).abs() < 400.0, "kept {kept}");
    // The mean is preserved in expectation (inverted dropout).
    assert!((y.data().mean().unwrap() - 2.0).abs() < 0.06);
    // Same seed, same mask; another seed, another mask.
    let again = x.dropout(p, &mut StdRng::seed_from_u64(1), true);
    assert_eq!(again.data(), y.data());
    assert_ne!(
        x.dropout(p, &mut StdRng::seed_from_u64(2), true).data(),
        y.data()
    );
    // Gradient: 1 / (1 - p) where kept, 0 where dropped, i.e. y / x here.
    y.sum().backward();
    assert_close(
        "dropout gradient",
        &x.grad().unwrap(),
        &y.data().mapv(|v| v / 2.0),
        Tol::abs(1e-12),
    );
    // Eval mode and p = 0 are the identity, p = 1 drops everything.
    let mut rng = StdRng::seed_from_u64(3);
    assert_eq!(x.dropout(p, &mut rng, false).data(), x.data());
    assert_eq!(x.dropout(0.0, &mut rng, true).data(), x.data());
    assert!(x
        .dropout(1.0, &mut rng, true)
        .data()
        .iter()
        .all(|&v| v == 0.0));
    // With the generator re-seeded in each evaluation, the mask is fixed and gradcheck applies.
    let r = seeded_array(&[4, 5], 47);
    check64(
        |v| weighted(&v[0].dropout(0.5, &mut StdRng::seed_from_u64(9), true), 48),
        &[r],
    );
}

// ---------------------------------------------------------------------------------------------------
// no_grad with the new ops

#[test]
fn new_ops_record_nothing_inside_no_grad() {
    let x = Var::new(array![[1.0, 2.0], [3.0, 4.0]]);
    let outs = no_grad(|| {
        vec![
            x.reshape(&[4]),
            x.slice(s![.., 0]),
            x.select(0, &[1, 1]),
            Var::concat(0, &[&x, &x]),
            x.max_axis(0),
            x.masked_fill(&array![true, false], 0.0),
            x.broadcast_to(&[2, 2, 2]),
        ]
    });
    assert!(outs.iter().all(|o| !o.requires_grad()));
    for o in &outs {
        o.sum().backward();
    }
    assert!(x.grad().is_none());
    assert!(x.reshape(&[4]).requires_grad());
}

// ---------------------------------------------------------------------------------------------------
// Errors and panics

#[test]
fn try_forms_report_errors() {
    let x = Var::new(Array3::<f64>::zeros((2, 3, 4)));
    assert_eq!(
        x.try_reshape(&[5, 5]).unwrap_err().to_string(),
        "reshape: cannot reshape an operand of shape [2, 3, 4] (24 elements) to shape [5, 5] (25 elements)"
    );
    assert!(matches!(
        x.try_reshape(&[usize::MAX, 2]),
        Err(OpError::ReshapeSize { .. })
    ));
    assert_eq!(
        x.try_slice(s![.., -4.., ..]).unwrap_err(),
        OpError::IndexOutOfRange {
            op: "slice",
            axis: 1,
            index: -4,
            extent: 3
        }
    );
    assert_eq!(
        x.try_slice(s![.., .., 4]).unwrap_err().to_string(),
        "slice: index 4 is out of range for axis 2 of extent 4"
    );
    assert_eq!(
        x.try_slice_axis(
            0,
            Slice {
                start: 0,
                end: None,
                step: 0
            }
        )
        .unwrap_err(),
        OpError::ZeroStep {
            op: "slice_axis",
            axis: 0
        }
    );
    assert!(matches!(
        x.try_index_axis(3, 0),
        Err(OpError::AxisOutOfRange {
            axis: 3,
            ndim: 3,
            ..
        })
    ));
    assert!(matches!(
        x.try_select(2, &[0, 4]),
        Err(OpError::IndexOutOfRange { index: 4, .. })
    ));
    let y = Var::new(Array3::<f64>::zeros((2, 5, 4)));
    assert!(Var::try_concat(1, &[&x, &y]).is_ok());
    assert_eq!(
        Var::try_concat(2, &[&x, &y]).unwrap_err().to_string(),
        "concat: operand 1 has shape [2, 5, 4], which does not fit the first operand's shape [2, 3, 4]"
    );
    assert_eq!(
        Var::<f64>::try_stack(0, &[]).unwrap_err().to_string(),
        "stack: needs at least one operand"
    );
    assert!(matches!(
        x.try_broadcast_to(&[3, 4]),
        Err(OpError::BroadcastTo { .. })
    ));
    assert!(matches!(
        x.try_sum_axes_keepdim(&[1, 1]),
        Err(OpError::RepeatedAxis { axis: 1, .. })
    ));
    let empty = Var::new(Array2::<f64>::zeros((3, 0)));
    assert_eq!(
        empty.try_min_axis(1).unwrap_err().to_string(),
        "min_axis: axis 1 is empty, so it has no extremum"
    );
    assert!(matches!(
        x.try_where_(&array![true, false], 0.0),
        Err(OpError::Broadcast { op: "where_", .. })
    ));
    assert!(matches!(
        x.try_masked_fill(&Array3::from_elem((3, 1, 1), true), 0.0),
        Err(OpError::BroadcastTo { .. })
    ));
    let mut rng = StdRng::seed_from_u64(0);
    assert!(matches!(
        x.try_dropout(f64::NAN, &mut rng, true),
        Err(OpError::Probability { .. })
    ));
    assert!(x.try_dropout(-0.1, &mut rng, false).is_err());
}

#[test]
fn panics_report_the_callers_line() {
    let x = Var::new(Array2::<f64>::zeros((2, 3)));
    let (m1, m2, ones) = (array![true], array![true, false], array![1.0, 2.0]);
    let (inf, mut r1, mut r2, mut r3) = (
        f64::INFINITY,
        StdRng::seed_from_u64(0),
        StdRng::seed_from_u64(1),
        StdRng::seed_from_u64(2),
    );
    // Each case keeps its `line!()` on the line of its call, so rustfmt must not split them.
    #[rustfmt::skip]
    let cases: Vec<(u32, Box<dyn FnOnce()>)> = vec![
        (line!(), Box::new(|| drop(x.reshape(&[4])))),
        (line!(), Box::new(|| drop(x.slice(s![.., 5..])))),
        (line!(), Box::new(|| drop(x.slice_axis(2, ..)))),
        (line!(), Box::new(|| drop(x.index_axis(0, 2)))),
        (line!(), Box::new(|| drop(x.select(1, &[3])))),
        (line!(), Box::new(|| drop(Var::<f64>::concat(0, &[])))),
        (line!(), Box::new(|| drop(Var::stack(3, &[&x])))),
        (line!(), Box::new(|| drop(x.broadcast_to(&[3])))),
        (line!(), Box::new(|| drop(x.sum_axes_keepdim(&[2])))),
        (line!(), Box::new(|| drop(x.mean_axes_keepdim(&[0, 0])))),
        (line!(), Box::new(|| drop(x.max_axis(2)))),
        (line!(), Box::new(|| drop(x.min_axis(2)))),
        (line!(), Box::new(|| drop(x.argmax(2)))),
        (line!(), Box::new(|| drop(x.argmin(2)))),
        (line!(), Box::new(|| drop(x.where_(&m1, &ones)))),
        (line!(), Box::new(|| drop(x.masked_fill(&m2, 0.0)))),
        (line!(), Box::new(|| drop(x.dropout(2.0, &mut r1, true)))),
        (line!(), Box::new(|| drop(init::uniform(&[2], 1.0, 0.0, &mut r2)))),
        (line!(), Box::new(|| drop(init::normal(&[2], 0.0, inf, &mut r3)))),
    ];
    for (line, case) in cases {
        let (file, at) = panic_location("", case);
        assert_eq!((file.as_str(), at), (file!(), line), "case at line {line}");
    }
}

// ---------------------------------------------------------------------------------------------------
// init

/// The sample mean and (population) variance.
fn moments(a: &ArrayD<f64>) -> (f64, f64) {
    let n = a.len() as f64;
    let mean = a.sum() / n;
    (mean, a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n)
}

#[test]
fn initializers_have_the_documented_shape_mean_and_variance() {
    // 200 x 300 = 60000 samples: the sample mean has sd sigma / 245 and the sample variance a relative
    // sd of about 0.6% (normal) or 0.4% (uniform); the bounds below are 5 sd or more.
    let shape = [200, 300];
    let (fan_in, fan_out) = (200.0, 300.0);
    type Init = fn(&[usize], &mut StdRng) -> ArrayD<f64>;
    let cases: [(&str, Init, f64, Option<f64>); 4] = [
        // (name, initializer, variance, uniform bound)
        (
            "xavier_uniform",
            init::xavier_uniform,
            2.0 / (fan_in + fan_out),
            Some((6.0 / (fan_in + fan_out)).sqrt()),
        ),
        (
            "xavier_normal",
            init::xavier_normal,
            2.0 / (fan_in + fan_out),
            None,
        ),
        (
            "he_uniform",
            init::he_uniform,
            2.0 / fan_in,
            Some((6.0 / fan_in).sqrt()),
        ),
        ("he_normal", init::he_normal, 2.0 / fan_in, None),
    ];
    for (name, f, variance, bound) in cases {
        let a = f(&shape, &mut StdRng::seed_from_u64(7));
        assert_eq!(a.shape(), &shape, "{name}");
        let (mean, var) = moments(&a);
        let sd = variance.sqrt();
        assert!(mean.abs() < 5.0 * sd / 245.0, "{name}: mean {mean}");
        assert!(
            (var / variance - 1.0).abs() < 0.04,
            "{name}: variance {var}, want {variance}"
        );
        if let Some(b) = bound {
            assert!(a.iter().all(|v| v.abs() <= b), "{name}");
            // The extremes come close to the bound (a uniform, not a narrower distribution).
            assert!(a.iter().any(|v| v.abs() > 0.99 * b), "{name}");
        } else {
            // A normal has tails: some values beyond 3 sd (expected ~160 of 60000).
            let beyond = a.iter().filter(|v| v.abs() > 3.0 * sd).count();
            assert!((60..300).contains(&beyond), "{name}: {beyond} beyond 3 sd");
        }
        // Seeded: reproducible; another seed differs.
        assert_eq!(a, f(&shape, &mut StdRng::seed_from_u64(7)), "{name}");
        assert_ne!(a, f(&shape, &mut StdRng::seed_from_u64(8)), "{name}");
    }
    let u = init::uniform(&[100_000], 2.0, 4.0, &mut StdRng::seed_from_u64(1));
    let (mean, var) = moments(&u);
    assert!((mean - 3.0).abs() < 0.01 && (var - 4.0 / 12.0).abs() < 0.01);
    assert!(u.iter().all(|&v| (2.0..4.0).contains(&v)));
    let n = init::normal(&[100_000], -1.0, 0.5, &mut StdRng::seed_from_u64(2));
    let (mean, var) = moments(&n);
    assert!((mean + 1.0).abs() < 0.01 && (var - 0.25).abs() < 0.01);
    // f32 and higher-rank shapes: fans include the receptive field.
    let k = init::he_normal::<f32, _>(&[8, 4, 3, 3], &mut StdRng::seed_from_u64(3));
    assert_eq!(k.shape(), &[8, 4, 3, 3]);
    assert_eq!(init::fans(&[8, 4, 3, 3]), (72, 36));
}

#[test]
fn a_tiny_network_trains_with_init_dropout_and_adam() {
    // Fit y = x0 - x1 with a 2-16-1 ReLU network, dropout in training, no_grad for evaluation.
    let mut rng = StdRng::seed_from_u64(11);
    let x = init::uniform::<f64, _>(&[64, 2], -1.0, 1.0, &mut rng);
    let y = (&x.index_axis(Axis(1), 0) - &x.index_axis(Axis(1), 1)).insert_axis(Axis(1));
    let w1 = Var::new(init::he_uniform::<f64, _>(&[2, 16], &mut rng));
    let b1 = Var::new(Array1::<f64>::zeros(16));
    let w2 = Var::new(init::xavier_uniform::<f64, _>(&[16, 1], &mut rng));
    let mut opt = einsum_runtime::optim::Adam::new([&w1, &b1, &w2], 0.02);
    let forward = |train: bool, rng: &mut StdRng| {
        let h = (einsum_runtime::einsum!("ij,jk->ik", x, w1) + &b1).relu();
        let h = h.dropout(0.1, rng, train);
        einsum_runtime::einsum!("ij,jk->ik", h, w2)
    };
    let eval =
        |rng: &mut StdRng| no_grad(|| einsum_runtime::loss::mse(&forward(false, rng), &y).item());
    let first = eval(&mut rng);
    for _ in 0..300 {
        opt.zero_grad();
        einsum_runtime::loss::mse(&forward(true, &mut rng), &y).backward();
        opt.step();
    }
    let last = eval(&mut rng);
    assert!(last < 0.05 * first, "loss {first} -> {last}");
}

#[test]
fn backward_uses_the_values_recorded_at_forward_time() {
    // Replace x's value (even its shape) between forward and backward: every op's backward works on
    // what it recorded, so the gradients are those at the old value.
    let x = Var::new(array![[3.0, 1.0], [2.0, 5.0]]);
    let y = Var::concat(
        0,
        &[
            &x.max_axis(1).reshape(&[1, 2]),
            &x.select(1, &[1, 1]).slice(s![0..1, ..]),
            &x.masked_fill(&array![true, false], 0.0)
                .index_axis(0, 1)
                .broadcast_to(&[1, 2]),
        ],
    );
    x.set_data(array![[0.0, 9.0, 9.0]].into_dyn());
    y.sum().backward();
    // max rows: (0,0) and (1,1); select picks column 1 twice from row 0; masked_fill keeps column 1
    // of row 1.
    assert_eq!(x.grad().unwrap(), array![[1.0, 2.0], [0.0, 2.0]].into_dyn());
}
