//! Zero extents: a free label of extent 0 gives an empty output, a summed label of extent 0 gives
//! zeros (an empty sum), in the forward pass and in the gradients (`einsum_vjp!` in f64 and f32, and
//! `Var`). Each case runs in every memory layout, with size-1 broadcasting, and is compared with
//! `common::reference` (the suite's own naive einsum, which shares no code with the library: its loop
//! over all index tuples simply runs zero times) and with finite differences; the results are also
//! checked directly to be empty or all zero.

mod common;

use common::{checks::*, elem::*, layouts::*, reference::*, rng::*, shapes::*};
use einsum_runtime::{einsum, einsum_vjp, try_einsum, Float, Var};
use ndarray::{Array0, Array1, Array2, Array3, ArrayD, ArrayViewD, IxDyn, LinalgScalar};

/// `name: "pattern" [operand indices] base-draw;` — the draw fixes some extents to 0 (and the others
/// are random); each case also runs with size-1 broadcasting.
macro_rules! zero_cases {
    ($($name:ident : $pat:literal [$($i:literal)*] $base:expr ;)*) => {
        $(
            mod $name {
                use super::*;

                fn forward<T: LinalgScalar>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
                    einsum!($pat, $(ops[$i]),*).into_dyn()
                }

                fn vjp<T: Float>(ops: &[ArrayViewD<'_, T>], g: &ArrayD<T>) -> (ArrayD<T>, Vec<ArrayD<T>>) {
                    let (z, back) = einsum_vjp!($pat, $(ops[$i]),*);
                    let grads = back(&same_dim(&z, g));
                    (z.into_dyn(), grads.into_grad_vec())
                }

                fn var(ops: &[ArrayD<f64>], g: &ArrayD<f64>) -> (ArrayD<f64>, Vec<Option<ArrayD<f64>>>) {
                    let vs: Vec<Var<f64>> = ops.iter().map(|op| Var::new(op.clone())).collect();
                    let z = einsum!($pat, $(vs[$i]),*);
                    let value = z.data().as_ref().clone();
                    z.backward_with(g.clone());
                    (value, vs.iter().map(Var::grad).collect())
                }

                fn draws() -> Vec<ShapeOpts> {
                    let base: ShapeOpts = $base;
                    vec![base.clone(), base.clone().broadcast(0.5), ShapeOpts { min: 2, ..base }]
                }

                #[test]
                fn forward_is_empty_or_zero() {
                    check_forward_with($pat, forward::<f64>, &draws(), LAYOUTS.len());
                    check_forward_with($pat, forward::<f32>, &draws(), 2);
                    check_forward_with($pat, forward::<i64>, &draws(), 2);
                    assert_empty_or_zero($pat, forward::<f64>, &draws());
                }

                #[test]
                fn gradients_are_empty_or_zero() {
                    check_gradients_with($pat, vjp::<f64>, vjp::<f32>, Some(var), &draws());
                    assert_gradients_empty_or_zero($pat, vjp::<f64>, &draws());
                }
            }
        )*
    };
}

/// With an extent of 0 somewhere, every sum is empty: the output is empty or all zeros, and its shape
/// is the reference's.
fn assert_empty_or_zero(pattern: &str, f: Fwd<f64>, draws: &[ShapeOpts]) {
    let mut rng = Rng::new(seed_of(pattern));
    for o in draws {
        let shapes = random_shapes(pattern, o, &mut rng);
        assert!(
            shapes.iter().flatten().any(|&n| n == 0),
            "{pattern}: the draw has no zero extent: {shapes:?}"
        );
        let ops: Vec<ArrayD<f64>> = random_arrays(&shapes, &mut rng);
        let laid = lay_out_all(&ops, rng.below(LAYOUTS.len()), &mut rng);
        let z = f(&laid_views(&laid));
        let want = reference(pattern, &views(&ops));
        assert_eq!(z.shape(), want.shape(), "{pattern} on {shapes:?}: shape");
        assert!(
            z.iter().all(|&x| x == 0.0),
            "{pattern} on {shapes:?}: an empty sum must be exactly 0, got {z}"
        );
    }
}

/// Gradients of an einsum with an empty sum are all zero, and shaped like their operands.
fn assert_gradients_empty_or_zero(pattern: &str, f: Vjp<f64>, draws: &[ShapeOpts]) {
    let mut rng = Rng::new(seed_of(pattern) ^ 1);
    for o in draws {
        let shapes = random_shapes(pattern, o, &mut rng);
        let ops: Vec<ArrayD<f64>> = random_arrays(&shapes, &mut rng);
        let out = reference(pattern, &views(&ops));
        let g: ArrayD<f64> = random_array(out.shape(), &mut rng);
        let (_, grads) = f(&views(&ops), &g);
        for (k, (gk, op)) in grads.iter().zip(&ops).enumerate() {
            assert_eq!(
                gk.shape(),
                op.shape(),
                "{pattern} on {shapes:?}: gradient {k} shape"
            );
            assert!(
                gk.iter().all(|&x| x == 0.0),
                "{pattern} on {shapes:?}: gradient {k} must be 0, got {gk}"
            );
        }
    }
}

fn zeros(spec: &str) -> ShapeOpts {
    ShapeOpts::new(1, 4).fixed(spec)
}

zero_cases! {
    matmul_summed_zero: "ij,jk->ik" [0 1] zeros("j=0");
    matmul_free_zero: "ij,jk->ik" [0 1] zeros("i=0");
    matmul_all_zero: "ij,jk->ik" [0 1] zeros("i=0 j=0 k=0");
    matmul_large_summed_zero: "ij,jk->ik" [0 1] zeros("i=40 j=0 k=40");
    matmul_large_free_zero: "ij,jk->ik" [0 1] zeros("i=0 j=40 k=40");
    matmul_transposed_summed_zero: "ji,kj->ki" [0 1] zeros("j=0");
    trace_zero: "ii->" [0] zeros("i=0");
    diagonal_zero: "ii->i" [0] zeros("i=0");
    partial_diagonal_zero: "iij->j" [0] zeros("i=0");
    partial_diagonal_free_zero: "iij->ij" [0] zeros("j=0");
    sum_zero: "ij->" [0] zeros("i=0");
    row_sum_zero: "ij->i" [0] zeros("j=0");
    transpose_zero: "ij->ji" [0] zeros("i=0");
    outer_zero: "i,j->ij" [0 1] zeros("i=0");
    dot_zero: "i,i->" [0 1] zeros("i=0");
    hadamard_zero: "ij,ij->ij" [0 1] zeros("j=0");
    scalar_times_empty: ",ij->ij" [0 1] zeros("i=0");
    scalar_times_empty_sum: ",ij->" [0 1] zeros("j=0");
    private_label_zero: "ij,k->ik" [0 1] zeros("j=0");
    private_label_free_zero: "ij,k->ik" [0 1] zeros("k=0");
    private_labels_summed_zero: "ij,kl->" [0 1] zeros("l=0");
    bmm_batch_zero: "bij,bjk->bik" [0 1] zeros("b=0");
    bmm_summed_zero: "bij,bjk->bik" [0 1] zeros("j=0");
    bmm_large_summed_zero: "bij,bjk->bik" [0 1] zeros("b=2 i=32 j=0 k=32");
    attention_zero_keys: "bhqd,bhkd->bhqk" [0 1] zeros("k=0");
    attention_zero_depth: "bhqd,bhkd->bhqk" [0 1] zeros("d=0");
    diagonal_then_matmul_zero: "iij,jk->ik" [0 1] zeros("j=0");
    chain3_middle_zero: "ij,jk,kl->il" [0 1 2] zeros("k=0");
    chain3_free_zero: "ij,jk,kl->il" [0 1 2] zeros("i=0");
    chain4_zero: "ij,jk,kl,lm->im" [0 1 2 3] zeros("l=0");
    seven_vectors_zero: "a,b,c,d,e,f,g->" [0 1 2 3 4 5 6] zeros("d=0");
    seven_outer_zero: "a,b,c,d,e,f,g->abcdefg" [0 1 2 3 4 5 6] zeros("g=0");
    implicit_zero: "ij,jk" [0 1] zeros("j=0");
    upper_zero: "Ij,jK->IK" [0 1] zeros("j=0");
    ellipsis_zero_batch: "...ij,...jk->...ik" [0 1] zeros("").ellipsis_extents(&[0]);
    ellipsis_zero_outer_batch: "...ij,...jk->...ik" [0 1] zeros("").ellipsis_extents(&[0, 3]).ellipsis_ranks(&[2, 1]);
    ellipsis_zero_inner_batch: "...ij,...jk->...ik" [0 1] zeros("").ellipsis_extents(&[3, 0]).ellipsis_ranks(&[1, 2]);
    ellipsis_zero_summed: "...ij,...jk->ik" [0 1] zeros("").ellipsis_extents(&[2, 0]);
    ellipsis_sum_all_zero: "...->" [0] zeros("").ellipsis_extents(&[3, 0]);
    ellipsis_dot_zero: "...i,...i->..." [0 1] zeros("i=0");
    ellipsis_scale_zero: "...,->..." [0 1] zeros("").ellipsis_extents(&[0, 2]);
}

// ---------------------------------------------------------------------------------------------
// Direct checks with static types
// ---------------------------------------------------------------------------------------------

#[test]
fn summed_extent_zero_gives_zeros_of_the_free_shape() {
    let a = Array2::<f64>::ones((3, 0));
    let b = Array2::<f64>::ones((0, 4));
    let c: Array2<f64> = einsum!("ij,jk->ik", a, b);
    assert_eq!(c, Array2::zeros((3, 4)));
    // Empty operands still have their extents checked: (0, 3) and (4, 0) disagree on j.
    assert!(try_einsum!("ij,jk->ik", a.t(), b.t()).is_err());
    let t: Array0<f64> = einsum!("ii->", Array2::<f64>::zeros((0, 0)));
    assert_eq!(t.into_scalar(), 0.0);
    let d: Array1<f64> = einsum!("ii->i", Array2::<f64>::zeros((0, 0)));
    assert_eq!(d.shape(), [0]);
    let big: Array2<f64> = einsum!(
        "ij,jk->ik",
        Array2::<f64>::ones((40, 0)),
        Array2::<f64>::ones((0, 40))
    );
    assert_eq!(big, Array2::zeros((40, 40)));
    let i: Array2<i32> = einsum!(
        "ij,jk->ik",
        Array2::<i32>::ones((2, 0)),
        Array2::<i32>::ones((0, 5))
    );
    assert_eq!(i, Array2::zeros((2, 5)));
}

#[test]
fn free_extent_zero_gives_an_empty_output() {
    let a = Array2::<f64>::ones((0, 3));
    let b = Array2::<f64>::ones((3, 4));
    let c: Array2<f64> = einsum!("ij,jk->ik", a, b);
    assert_eq!(c.shape(), [0, 4]);
    let o: Array2<f64> = einsum!("i,j->ij", Array1::<f64>::zeros(0), Array1::<f64>::ones(5));
    assert_eq!(o.shape(), [0, 5]);
    let x = ArrayD::<f64>::ones(IxDyn(&[2, 0, 3, 4]));
    let y = ArrayD::<f64>::ones(IxDyn(&[4, 5]));
    let e: ArrayD<f64> = einsum!("...ij,jk->...ik", x, y);
    assert_eq!(e.shape(), [2, 0, 3, 5]);
    let s: Array0<f64> = einsum!("...->", x);
    assert_eq!(s.into_scalar(), 0.0);
    let t: Array3<f64> = einsum!(
        "bij,bjk->bik",
        Array3::<f64>::ones((0, 2, 3)),
        Array3::<f64>::ones((0, 3, 2))
    );
    assert_eq!(t.shape(), [0, 2, 2]);
}

#[test]
fn gradients_with_zero_extents() {
    // j = 0: the value is zeros (3, 4) and both gradients are empty.
    let a = Array2::<f64>::ones((3, 0));
    let b = Array2::<f64>::ones((0, 4));
    let (z, back) = einsum_vjp!("ij,jk->ik", a, b);
    assert_eq!(z, Array2::zeros((3, 4)));
    let (ga, gb) = back(&Array2::ones((3, 4)));
    assert_eq!(
        (ga.shape(), gb.shape()),
        ([3, 0].as_slice(), [0, 4].as_slice())
    );

    // i = 0: the value is empty and b's gradient is zeros (an empty sum over i).
    let a = Array2::<f64>::ones((0, 3));
    let b = Array2::<f64>::from_elem((3, 4), 2.0);
    let (z, back) = einsum_vjp!("ij,jk->ik", a, b);
    assert_eq!(z.shape(), [0, 4]);
    let (ga, gb) = back(&Array2::zeros((0, 4)));
    assert_eq!(ga.shape(), [0, 3]);
    assert_eq!(gb, Array2::zeros((3, 4)));

    // A label only in one operand, of extent 0: the other operand's gradient is zero.
    let a = Array2::<f32>::ones((3, 0));
    let b = Array1::<f32>::ones(2);
    let (z, back) = einsum_vjp!("ij,k->ik", a, b);
    assert_eq!(z, Array2::zeros((3, 2)));
    let (_, gb) = back(&Array2::ones((3, 2)));
    assert_eq!(gb, Array1::zeros(2));

    // Var: a 0-d output that is an empty sum; backward() still reaches every leaf.
    let x = Var::new(ArrayD::<f64>::ones(IxDyn(&[0, 3])));
    let w = Var::new(ArrayD::<f64>::ones(IxDyn(&[3, 2])));
    let loss = einsum!("ij,jk->", x, w);
    assert_eq!(loss.data()[[]], 0.0);
    loss.backward();
    assert_eq!(x.grad().unwrap().shape(), [0, 3]);
    assert_eq!(w.grad().unwrap(), ArrayD::zeros(IxDyn(&[3, 2])));
}
