//! Gradient tests: for every pattern of the shared table (`common/patterns.rs`), `einsum_vjp!` in f64
//! and f32 is checked against central finite differences of `f(ops) = sum(G * reference(ops))` for a
//! random `G`, where `reference` is the test suite's own naive einsum (`common::reference`, which
//! shares no code with the library). Einsum is linear in each operand, so central differences are
//! exact up to rounding. The operands rotate through the memory layouts and include size-1
//! broadcasting and ellipsis dimensions of different ranks. The `Var` path (`einsum!` on `Var`s, then
//! `backward_with`) is compared with the vjp for every pattern.
//!
//! Also here: targeted cases (diagonal-only gradients of repeated labels, gradients summed back to
//! size-1 axes, broadcast gradients of labels only one operand has, 0-d operands, an operand passed
//! twice), mixed `Var`/array calls, static gradient types, and large operands on the GEMM path
//! (directional finite differences).

mod common;

use common::{assert::*, checks::*, elem::*, finite_diff::*, reference::*, rng::*, shapes::*};
use einsum_runtime::{einsum, einsum_vjp, Float, Var};
use ndarray::{arr0, Array0, Array1, Array2, Array3, ArrayD, ArrayViewD, Ix2, IxDyn};

include!("common/patterns.rs");

macro_rules! gradient_cases {
    ($($name:ident : $pat:literal [$($i:literal)*] $(big $big:literal)? ;)*) => {
        $(
            mod $name {
                use super::*;

                fn vjp<T: Float>(ops: &[ArrayViewD<'_, T>], g: &ArrayD<T>) -> (ArrayD<T>, Vec<ArrayD<T>>) {
                    let (z, back) = einsum_vjp!($pat, $(ops[$i]),*);
                    let grads = back(&same_dim(&z, g));
                    (z.into_dyn(), grads.into_grad_vec())
                }

                fn var(ops: &[ArrayD<f64>], g: &ArrayD<f64>) -> (ArrayD<f64>, Vec<Option<ArrayD<f64>>>) {
                    let vs: Vec<Var<f64>> = ops.iter().map(|op| Var::new(op.clone().into_dyn())).collect();
                    let z = einsum!($pat, $(vs[$i]),*);
                    let value = z.data().as_ref().clone();
                    z.backward_with(g.clone());
                    (value, vs.iter().map(Var::grad).collect())
                }

                #[test]
                fn gradients() {
                    let ops = small_operands($pat);
                    let z = reference($pat, &views(&ops));
                    let g = ArrayD::ones(z.raw_dim());
                    assert_path($pat, || vjp::<f64>(&views(&ops), &g));
                    assert_path($pat, || var(&ops, &g));
                    check_gradients_with($pat, vjp::<f64>, vjp::<f32>, Some(var), &gradient_draws());
                    check_gradients_directional($pat, vjp::<f64>, &big_opts(&[$($big)?]));
                }
            }
        )*

        /// Every pattern of the table.
        const PATTERNS: &[&str] = &[$($pat),*];
    };
}

with_patterns!(gradient_cases);

#[test]
fn every_pattern_of_the_table_is_checked() {
    assert!(PATTERNS.len() >= 150);
}

// ---------------------------------------------------------------------------------------------
// Targeted cases, with explicit expectations on top of the finite differences
// ---------------------------------------------------------------------------------------------

fn rand2(rows: usize, cols: usize, rng: &mut Rng) -> Array2<f64> {
    random_array::<f64>(&[rows, cols], rng)
        .into_dimensionality::<Ix2>()
        .unwrap()
}

fn assert_all_close(what: &str, got: &ArrayD<f64>, want: &ArrayD<f64>) {
    assert_close(what, got, want, Tol::new(1e-12, 1e-12));
}

#[test]
fn repeated_labels_put_the_gradient_on_the_diagonal_only() {
    let mut rng = Rng::new(1);
    let m = rand2(4, 4, &mut rng);
    let (_, back) = einsum_vjp!("ii->", m);
    let (gm,): (Array2<f64>,) = back(&arr0(2.5));
    assert_eq!(gm, Array2::eye(4) * 2.5);

    let g = Array1::from_vec(vec![1.0, -2.0, 3.0, 0.5]);
    let (_, back) = einsum_vjp!("ii->i", m);
    let (gm,) = back(&g);
    assert_eq!(gm, Array2::from_diag(&g));

    // iij,jk->ik: d/dA[i,i,j] = sum_k G[i,k] B[j,k]; zero off the (0,1) diagonal.
    let a = random_array::<f64>(&[3, 3, 2], &mut rng);
    let b = rand2(2, 5, &mut rng);
    let gz = rand2(3, 5, &mut rng);
    let (_, back) = einsum_vjp!("iij,jk->ik", a, b);
    let (ga, _) = back(&gz);
    let gb = gz.dot(&b.t());
    for ((i, i2, j), &x) in ga
        .clone()
        .into_dimensionality::<ndarray::Ix3>()
        .unwrap()
        .indexed_iter()
    {
        let want = if i == i2 { gb[[i, j]] } else { 0.0 };
        assert!((x - want).abs() < 1e-12, "({i},{i2},{j}): {x} vs {want}");
    }

    // iii-> : the main diagonal of a cube.
    let c = random_array::<f64>(&[3, 3, 3], &mut rng);
    let (_, back) = einsum_vjp!("iii->", c);
    let (gc,) = back(&arr0(1.0));
    for ((i, j, k), &x) in gc
        .into_dimensionality::<ndarray::Ix3>()
        .unwrap()
        .indexed_iter()
    {
        assert_eq!(x, if i == j && j == k { 1.0 } else { 0.0 });
    }
}

#[test]
fn size_one_axes_get_the_summed_gradient() {
    let mut rng = Rng::new(2);
    let row = rand2(1, 4, &mut rng);
    let w = rand2(3, 4, &mut rng);
    let g = rand2(3, 4, &mut rng);
    let (z, back) = einsum_vjp!("ij,ij->ij", row, w);
    assert_eq!(z.shape(), [3, 4]);
    let (grow, gw) = back(&g);
    assert_eq!(grow.shape(), [1, 4]);
    let want_row = (&g * &w)
        .sum_axis(ndarray::Axis(0))
        .insert_axis(ndarray::Axis(0));
    assert_all_close("row", &grow.into_dyn(), &want_row.into_dyn());
    let want_w = &g * &row;
    assert_all_close("w", &gw.into_dyn(), &want_w.into_dyn());

    // Ellipsis dimensions broadcast from 1 and missing leading dimensions.
    let x = random_array::<f64>(&[2, 1, 3], &mut rng);
    let y = random_array::<f64>(&[4, 3], &mut rng);
    let gz = random_array::<f64>(&[2, 4], &mut rng);
    let (z, back) = einsum_vjp!("...i,...i->...", x, y);
    assert_eq!(z.shape(), [2, 4]);
    let (gx, gy) = back(&gz);
    assert_eq!(gx.shape(), [2, 1, 3]);
    assert_eq!(gy.shape(), [4, 3]);
    let ops = [x.clone(), y.clone()];
    let fx = finite_difference("...i,...i->...", &ops, &gz, 0);
    let fy = finite_difference("...i,...i->...", &ops, &gz, 1);
    assert_close("x", &gx, &fx, Tol::new(1e-8, 1e-8));
    assert_close("y", &gy, &fy, Tol::new(1e-8, 1e-8));
}

#[test]
fn labels_of_one_operand_get_a_broadcast_gradient() {
    // ij,k->ik: dA[i,j] = sum_k G[i,k] b[k], the same for every j.
    let mut rng = Rng::new(3);
    let a = rand2(3, 4, &mut rng);
    let b = Array1::from_vec(vec![0.5, -1.0]);
    let g = rand2(3, 2, &mut rng);
    let (_, back) = einsum_vjp!("ij,k->ik", a, b);
    let (ga, gb) = back(&g);
    let per_row = g.dot(&b);
    for ((i, _), &x) in ga.indexed_iter() {
        assert!((x - per_row[i]).abs() < 1e-12);
    }
    let want_b = g.t().dot(&a.sum_axis(ndarray::Axis(1)));
    assert_all_close("b", &gb.into_dyn(), &want_b.into_dyn());
}

#[test]
fn zero_dimensional_operands() {
    let mut rng = Rng::new(4);
    let s = arr0(1.5);
    let m = rand2(2, 3, &mut rng);
    let g = rand2(2, 3, &mut rng);
    let (z, back) = einsum_vjp!(",ij->ij", s, m);
    assert_all_close("value", &z.clone().into_dyn(), &(&m * 1.5).into_dyn());
    let (gs, gm): (Array0<f64>, Array2<f64>) = back(&g);
    assert!((gs.into_scalar() - (&g * &m).sum()).abs() < 1e-12);
    assert_all_close("matrix", &gm.into_dyn(), &(&g * 1.5).into_dyn());
    let (p, q) = (arr0(2.0), arr0(-3.0));
    let (z, back) = einsum_vjp!(",->", p, q);
    assert_eq!(z.into_scalar(), -6.0);
    let (ga, gb) = back(&arr0(0.5));
    assert_eq!((ga.into_scalar(), gb.into_scalar()), (-1.5, 1.0));
}

#[test]
fn an_operand_passed_twice() {
    let mut rng = Rng::new(5);
    let a = rand2(3, 4, &mut rng);
    let g = arr0(0.75);
    // einsum_vjp!: each gradient is that operand's own contribution.
    let (z, back) = einsum_vjp!("ij,ij->", a, a);
    assert!((z.into_scalar() - (&a * &a).sum()).abs() < 1e-12);
    let (g0, g1) = back(&g);
    assert_all_close("first", &g0.clone().into_dyn(), &(&a * 0.75).into_dyn());
    assert_all_close("second", &g1.into_dyn(), &(&a * 0.75).into_dyn());
    let at = a.t();
    let (_, back) = einsum_vjp!("ij,jk->ik", a, at);
    let gz = rand2(3, 3, &mut rng);
    let (g0, g1) = back(&gz);
    assert_all_close("left", &g0.into_dyn(), &gz.dot(&a).into_dyn());
    assert_all_close("right", &g1.into_dyn(), &a.t().dot(&gz).into_dyn());
    // Var: both uses accumulate into the one leaf.
    let x = Var::new(a.clone().into_dyn());
    let z = einsum!("ij,ij->", x, x);
    z.backward_with(g.clone());
    assert_all_close("Var", &x.grad().unwrap(), &(&a * 1.5).into_dyn());
    let x = Var::new(a.clone().into_dyn());
    einsum!("ij,ij,ij->", x, &x, x).backward();
    assert_all_close("Var x3", &x.grad().unwrap(), &(&a * &a * 3.0).into_dyn());
}

#[test]
fn mixed_var_and_array_operands() {
    let mut rng = Rng::new(6);
    let a = rand2(3, 4, &mut rng);
    let b = rand2(4, 5, &mut rng);
    let c = rand2(5, 2, &mut rng);
    let g = rand2(3, 5, &mut rng);

    let x = Var::new(a.clone().into_dyn());
    let z = einsum!("ij,jk->ik", x, b);
    assert_all_close("value", &z.data(), &a.dot(&b).into_dyn());
    z.backward_with(g.clone());
    assert_all_close(
        "x (Var, Array)",
        &x.grad().unwrap(),
        &g.dot(&b.t()).into_dyn(),
    );

    let w = Var::new(b.clone().into_dyn());
    let z = einsum!("ij,jk->ik", a.view(), &w);
    z.backward_with(g.clone());
    assert_all_close(
        "w (ArrayView, &Var)",
        &w.grad().unwrap(),
        &a.t().dot(&g).into_dyn(),
    );

    // Three operands, the middle one a Var; the constants get no gradient.
    let w = Var::new(b.clone().into_dyn());
    let k = Var::constant(c.clone().into_dyn());
    let z = einsum!("ij,jk,kl->il", a.to_shared(), w, k);
    let gz = rand2(3, 2, &mut rng);
    z.backward_with(gz.clone());
    assert!(k.grad().is_none());
    assert_all_close(
        "w (ArcArray, Var, constant Var)",
        &w.grad().unwrap(),
        &a.t().dot(&gz).dot(&c.t()).into_dyn(),
    );

    // A dynamic-rank array with an ellipsis next to a Var.
    let x = Var::new(random_array::<f64>(&[2, 3, 4], &mut rng));
    let m = random_array::<f64>(&[4, 2], &mut rng);
    let z = einsum!("...ij,jk->...ik", x, m);
    let gz = random_array::<f64>(&[2, 3, 2], &mut rng);
    z.backward_with(gz.clone());
    let x0 = x.data().as_ref().clone();
    let (_, back) = einsum_vjp!("...ij,jk->...ik", x0, m);
    let (gx, _) = back(&gz);
    assert_all_close("x (Var with ellipsis)", &x.grad().unwrap(), &gx);

    // Gradients accumulate over two calls.
    let x = Var::new(a.clone().into_dyn());
    einsum!("ij->", x).backward();
    einsum!("ij,ij->", x, a).backward();
    assert_all_close("accumulated", &x.grad().unwrap(), &(&a + 1.0).into_dyn());
}

#[test]
fn f32_vars() {
    let mut rng = Rng::new(7);
    let a: ArrayD<f32> = random_array(&[3, 4], &mut rng);
    let b: ArrayD<f32> = random_array(&[4, 2], &mut rng);
    let x = Var::new(a.clone());
    let w = Var::new(b.clone());
    einsum!("ij,jk->", x, w).backward();
    let gx: ArrayD<f32> = x.grad().unwrap();
    let want = b.sum_axis(ndarray::Axis(1));
    for ((_, j), &v) in gx.into_dimensionality::<Ix2>().unwrap().indexed_iter() {
        assert!((v - want[j]).abs() < 1e-5);
    }
}

#[test]
fn static_gradient_types() {
    let mut rng = Rng::new(8);
    let a = rand2(2, 3, &mut rng);
    let b = rand2(3, 4, &mut rng);
    let (z, back) = einsum_vjp!("ij,jk->ik", a, b);
    let g: Array2<f64> = Array2::ones(z.raw_dim());
    let (ga, gb): (Array2<f64>, Array2<f64>) = back(&g);
    assert_eq!(
        (ga.shape(), gb.shape()),
        ([2, 3].as_slice(), [3, 4].as_slice())
    );
    let t = Array3::<f64>::ones((2, 3, 4));
    let bt = b.t();
    let (z, back) = einsum_vjp!("...ij,jk->...ik", t, bt);
    let gz: ArrayD<f64> = ArrayD::ones(IxDyn(z.shape()));
    let (gt, gbt): (Array3<f64>, Array2<f64>) = back(&gz);
    assert_eq!(
        (gt.shape(), gbt.shape()),
        ([2, 3, 4].as_slice(), [4, 3].as_slice())
    );
    let v = Array1::<f32>::ones(3);
    let (z, back) = einsum_vjp!("i,i->", v, v);
    let z: Array0<f32> = z;
    let (g0, g1): (Array1<f32>, Array1<f32>) = back(&z);
    assert_eq!(g0, Array1::from_elem(3, 3.0));
    assert_eq!(g1, Array1::from_elem(3, 3.0));
}

// ---------------------------------------------------------------------------------------------
// Zero strides (broadcast views as operands): one gradient element per view element
// ---------------------------------------------------------------------------------------------

macro_rules! zero_stride_cases {
    ($($pat:literal [$($i:literal)*];)*) => {
        #[test]
        fn zero_stride_operands() {
            $({
                fn forward(ops: &[ArrayViewD<'_, f64>]) -> ArrayD<f64> {
                    einsum!($pat, $(ops[$i]),*).into_dyn()
                }
                fn vjp(ops: &[ArrayViewD<'_, f64>], g: &ArrayD<f64>) -> (ArrayD<f64>, Vec<ArrayD<f64>>) {
                    let (z, back) = einsum_vjp!($pat, $(ops[$i]),*);
                    let grads = back(&same_dim(&z, g));
                    (z.into_dyn(), grads.into_grad_vec())
                }
                check_zero_strides($pat, forward, Some(vjp));
            })*
        }
    };
}

zero_stride_cases! {
    "ij,jk->ik" [0 1];
    "ii->i" [0];
    "ij,ij->ij" [0 1];
    "...i,...i->..." [0 1];
    "iij,jk->ik" [0 1];
    "ij,jk,kl->il" [0 1 2];
}

/// `pattern` through `vjp` on random operands of `shapes` (and a random upstream gradient): the
/// value against the reference einsum, each gradient's shape against its operand's and its values
/// against finite differences.
fn check_on_shapes(pattern: &str, vjp: Vjp<f64>, shapes: &[&[usize]]) {
    let mut rng = Rng::new(seed_of(pattern));
    let shapes: Vec<Vec<usize>> = shapes.iter().map(|s| s.to_vec()).collect();
    let ops: Vec<ArrayD<f64>> = random_arrays(&shapes, &mut rng);
    let want = reference(pattern, &views(&ops));
    let g: ArrayD<f64> = random_array(want.shape(), &mut rng);
    let (z, grads) = vjp(&views(&ops), &g);
    let what = format!("{pattern} on {shapes:?}");
    assert_close(&what, &z, &want, Tol::new(1e-12, 1e-12));
    for (k, gk) in grads.iter().enumerate() {
        assert_eq!(gk.shape(), ops[k].shape(), "{what}: gradient {k}");
        let fd = finite_difference(pattern, &ops, &g, k);
        assert_close(
            &format!("{what}: gradient {k}"),
            gk,
            &fd,
            Tol::new(1e-8, 1e-8),
        );
    }
}

#[test]
fn size_one_axes_inside_a_repeated_label() {
    // A repeated label whose axes have extents 1 and n: the 1 broadcasts like anywhere else, so
    // `ii,i->i` with a (1, 1) matrix reads its one element for every i, and its gradient sums.
    fn diag_vec(ops: &[ArrayViewD<'_, f64>], g: &ArrayD<f64>) -> (ArrayD<f64>, Vec<ArrayD<f64>>) {
        let (z, back) = einsum_vjp!("ii,i->i", ops[0], ops[1]);
        let grads = back(&same_dim(&z, g)).into_grad_vec();
        (z.into_dyn(), grads)
    }
    fn diag(ops: &[ArrayViewD<'_, f64>], g: &ArrayD<f64>) -> (ArrayD<f64>, Vec<ArrayD<f64>>) {
        let (z, back) = einsum_vjp!("ii->i", ops[0]);
        let grads = back(&same_dim(&z, g)).into_grad_vec();
        (z.into_dyn(), grads)
    }
    check_on_shapes("ii,i->i", diag_vec, &[&[1, 1], &[3]]);
    check_on_shapes("ii,i->i", diag_vec, &[&[1, 3], &[3]]);
    check_on_shapes("ii,i->i", diag_vec, &[&[3, 1], &[1]]);
    check_on_shapes("ii->i", diag, &[&[1, 4]]);
}

/// A gradient that is the forward einsum under other names runs the forward kernel (see
/// `einsum-macro`'s `ForwardForm`), passing it the extents of the gradient's labels. A label that
/// the gradient's other inputs have only as a broadcast axis of length 1 (`j` of `ij,jk->ik` with
/// `a` of shape (3, 1), in `b`'s gradient `aᵀ · g`) must keep its extent from the forward call (4
/// here), not 1: had the forward kernel bound its extents from those inputs, it would be 1.
#[test]
fn forward_form_gradients_keep_broadcast_extents() {
    fn matmul(ops: &[ArrayViewD<'_, f64>], g: &ArrayD<f64>) -> (ArrayD<f64>, Vec<ArrayD<f64>>) {
        let (z, back) = einsum_vjp!("ij,jk->ik", ops[0], ops[1]);
        let grads = back(&same_dim(&z, g)).into_grad_vec();
        (z.into_dyn(), grads)
    }
    fn batched(ops: &[ArrayViewD<'_, f64>], g: &ArrayD<f64>) -> (ArrayD<f64>, Vec<ArrayD<f64>>) {
        let (z, back) = einsum_vjp!("bij,bjk->bik", ops[0], ops[1]);
        let grads = back(&same_dim(&z, g)).into_grad_vec();
        (z.into_dyn(), grads)
    }
    fn chain(ops: &[ArrayViewD<'_, f64>], g: &ArrayD<f64>) -> (ArrayD<f64>, Vec<ArrayD<f64>>) {
        let (z, back) = einsum_vjp!("ij,jk,kl->il", ops[0], ops[1], ops[2]);
        let grads = back(&same_dim(&z, g)).into_grad_vec();
        (z.into_dyn(), grads)
    }
    check_on_shapes("ij,jk->ik", matmul, &[&[3, 1], &[4, 5]]);
    check_on_shapes("ij,jk->ik", matmul, &[&[3, 4], &[1, 5]]);
    check_on_shapes("ij,jk->ik", matmul, &[&[1, 4], &[4, 1]]);
    check_on_shapes("bij,bjk->bik", batched, &[&[1, 3, 2], &[4, 2, 5]]);
    check_on_shapes("bij,bjk->bik", batched, &[&[2, 3, 1], &[2, 4, 5]]);
    check_on_shapes("ij,jk,kl->il", chain, &[&[3, 1], &[4, 1], &[5, 2]]);
}

/// Operands written as borrows (`&a`, `&&a`) give the same value and gradients as the arrays
/// themselves, and the closure may be called after the statement that made it: the borrow is of
/// the array, not of a temporary reference to it.
#[test]
fn borrowed_operands_outlive_the_statement() {
    let mut rng = Rng::new(7);
    let (a, b) = (rand2(3, 4, &mut rng), rand2(4, 2, &mut rng));
    let g = rand2(3, 2, &mut rng);
    let (z, back) = einsum_vjp!("ij,jk->ik", a, b);
    let (ga, gb) = back(&g);
    let (z_ref, back_ref) = einsum_vjp!("ij,jk->ik", &a, &&b);
    let (ga_ref, gb_ref) = back_ref(&g);
    assert_eq!(z_ref, z);
    assert_eq!((ga_ref, gb_ref), (ga.clone(), gb.clone()));
    assert_eq!(ga, g.dot(&b.t()));
    assert_eq!(gb, a.t().dot(&g));
}
