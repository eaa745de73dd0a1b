//! Numeric tests of `einsum!`: every pattern of the shared table (`common/patterns.rs`, 150+
//! patterns with 1 to 7 operands) runs on random shapes and values, with every operand cycling through
//! six memory layouts (C, Fortran, transposed in memory, stepped, negative strides, negative steps)
//! and with size-1 broadcasting, in f64, f32 and i64, plus large extents that take the GEMM path.
//! Results are compared with `common::reference`, a deliberately naive einsum that parses the pattern
//! itself at run time and loops over every index tuple; it shares no code with the library, so it
//! cannot inherit the library's planning or kernel mistakes.
//!
//! Also here: static output types, static-rank operands, every kind of operand (Array, ArrayView,
//! references, ArcArray, CowArray), and integer element types.

mod common;

use common::{assert::*, checks::*, elem::*, layouts::*, reference::*, rng::*, shapes::*};
use einsum_runtime::{einsum, try_einsum};
use ndarray::{
    Array0, Array1, Array2, Array3, Array4, Array6, ArrayD, ArrayViewD, CowArray, Ix0, Ix1, Ix2,
    Ix3, Ix4, Ix5, Ix6, IxDyn, LinalgScalar,
};

include!("common/patterns.rs");

macro_rules! numeric_cases {
    ($($name:ident : $pat:literal [$($i:literal)*] $(big $big:literal)? ;)*) => {
        $(
            mod $name {
                use super::*;

                fn forward<T: LinalgScalar>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
                    einsum!($pat, $(ops[$i]),*).into_dyn()
                }

                #[test]
                fn numeric() {
                    check_forward($pat, forward::<f64>, forward::<f32>, forward::<i64>, &[$($big)?]);
                }
            }
        )*

        /// Every pattern of the table.
        const PATTERNS: &[&str] = &[$($pat),*];
    };
}

with_patterns!(numeric_cases);

#[test]
fn table_has_at_least_150_distinct_patterns() {
    let distinct: std::collections::BTreeSet<&str> = PATTERNS.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        PATTERNS.len(),
        "duplicate patterns in the table"
    );
    assert!(PATTERNS.len() >= 150, "only {} patterns", PATTERNS.len());
    let operands = |p: &str| p.split("->").next().unwrap().split(',').count();
    assert_eq!(PATTERNS.iter().map(|p| operands(p)).max(), Some(7));
}

// ---------------------------------------------------------------------------------------------
// The helpers themselves
// ---------------------------------------------------------------------------------------------

#[test]
fn layouts_keep_values_and_have_their_strides() {
    let mut rng = Rng::new(7);
    let a: ArrayD<f64> = random_array(&[3, 4, 5], &mut rng);
    for layout in LAYOUTS {
        let laid = lay_out(&a, layout, &mut rng);
        let v = laid.view();
        assert_eq!(v, a.view(), "{layout:?}");
        let s = v.strides().to_vec();
        match layout {
            Layout::C => assert_eq!(s, [20, 5, 1]),
            Layout::F => assert_eq!(s, [1, 3, 12]),
            Layout::Transposed => assert!(s.iter().all(|&x| x > 0)),
            Layout::Stepped => assert_eq!(s, [160, 20, 2]),
            Layout::Negative => assert_eq!(s, [-20, -5, -1]),
            Layout::NegativeStepped => assert_eq!(s, [-160, -20, -2]),
        }
    }
}

#[test]
fn random_shapes_cover_broadcasting_and_ellipsis_ranks() {
    // The draws that `check_forward` uses do produce size-1 broadcasting and unequal ellipsis ranks.
    let mut rng = Rng::new(3);
    let opts = ShapeOpts::new(1, 5).broadcast(0.35);
    let mut broadcast = false;
    let mut ranks = std::collections::BTreeSet::new();
    for _ in 0..50 {
        let s = random_shapes("ij,ij->ij", &opts, &mut rng);
        broadcast |= s[0] != s[1];
        let s = random_shapes("...ij,...jk->...ik", &ShapeOpts::new(1, 5), &mut rng);
        ranks.insert((s[0].len(), s[1].len()));
        // Shapes always bind (the reference asserts consistency).
        let _ = bind(
            &parse("...ij,...jk->...ik"),
            &[s[0].as_slice(), s[1].as_slice()],
        );
    }
    assert!(broadcast);
    assert!(ranks.contains(&(4, 2)) && ranks.contains(&(2, 4)) && ranks.contains(&(3, 3)));
}

#[test]
fn reference_agrees_with_ndarray() {
    let mut rng = Rng::new(11);
    let a: ArrayD<f64> = random_array(&[3, 4], &mut rng);
    let b: ArrayD<f64> = random_array(&[4, 5], &mut rng);
    let a2 = a.clone().into_dimensionality::<Ix2>().unwrap();
    let b2 = b.clone().into_dimensionality::<Ix2>().unwrap();
    let tol = Tol::abs(1e-12);
    let c = reference("ij,jk->ik", &[a.view(), b.view()]);
    assert_close("matmul", &c, &a2.dot(&b2), tol);
    // Implicit output: sorted, upper case first.
    let c = reference("ij,jk", &[a.view(), b.view()]);
    assert_close("implicit matmul", &c, &a2.dot(&b2), tol);
    let x: ArrayD<f64> = random_array(&[2, 3], &mut rng);
    let y: ArrayD<f64> = random_array(&[3, 4], &mut rng);
    assert_eq!(reference("ab,bC", &[x.view(), y.view()]).shape(), [4, 2]);
    assert_eq!(reference("ba", &[x.view()]), x.t().into_dyn());
    let m: ArrayD<f64> = random_array(&[4, 4], &mut rng);
    let m2 = m.clone().into_dimensionality::<Ix2>().unwrap();
    let t = reference("ii->", &[m.view()])[[]];
    assert!((t - m2.diag().sum()).abs() < 1e-12);
    assert_eq!(
        reference("ii->i", &[m.view()]),
        m2.diag().to_owned().into_dyn()
    );
    // Ellipsis: right-aligned broadcasting of ranks 3 and 1, summed when the output lacks `...`.
    let x: ArrayD<f64> = random_array(&[2, 3, 4], &mut rng);
    let y: ArrayD<f64> = random_array(&[4], &mut rng);
    let z = reference("...,...->...", &[x.view(), y.view()]);
    assert_close("ellipsis product", &z, &(&x * &y), tol);
    let s = reference("...,...->", &[x.view(), y.view()])[[]];
    assert!((s - (&x * &y).sum()).abs() < 1e-12);
    // Size-1 broadcasting of a label.
    let r: ArrayD<f64> = random_array(&[1, 4], &mut rng);
    let w: ArrayD<f64> = random_array(&[3, 4], &mut rng);
    assert_close(
        "size-1 broadcasting",
        &reference("ij,ij->ij", &[r.view(), w.view()]),
        &(&r * &w),
        tol,
    );
}

// ---------------------------------------------------------------------------------------------
// Static output types and static-rank operands
// ---------------------------------------------------------------------------------------------

fn static_draws(ranks: Option<&[usize]>) -> Vec<ShapeOpts> {
    let mut draws = vec![
        ShapeOpts::new(1, 5),
        ShapeOpts::new(1, 5).broadcast(0.4),
        ShapeOpts::new(2, 4),
    ];
    if let Some(r) = ranks {
        draws = draws.into_iter().map(|o| o.ellipsis_ranks(r)).collect();
    }
    draws
}

/// `name: "pattern" [operand: static dimension, ...] -> output type`, optionally with the ellipsis
/// ranks of the operands (`ell [2 1]`) and a large draw (`big "i=40 ..."`).
macro_rules! static_case {
    ($name:ident : $pat:literal [$($i:literal : $d:ident),*] -> $out:ty
        $(, ell [$($r:literal)*])? $(, big $big:literal)?) => {
        #[test]
        fn $name() {
            fn forward(ops: &[ArrayViewD<'_, f64>]) -> ArrayD<f64> {
                let out: $out = einsum!(
                    $pat,
                    $(ops[$i].clone().into_dimensionality::<$d>().expect("rank")),*
                );
                out.into_dyn()
            }
            let ranks: Option<&[usize]> = None $(.or(Some(&[$($r),*])))?;
            check_forward_with($pat, forward, &static_draws(ranks), LAYOUTS.len());
            check_forward_with($pat, forward, &big_opts(&[$($big)?]), 3);
        }
    };
}

static_case!(static_matmul: "ij,jk->ik" [0: Ix2, 1: Ix2] -> Array2<f64>, big "i=40 j=40 k=40");
static_case!(static_matmul_implicit: "ij,jk" [0: Ix2, 1: Ix2] -> Array2<f64>);
static_case!(static_trace: "ii->" [0: Ix2] -> Array0<f64>);
static_case!(static_diagonal: "ii->i" [0: Ix2] -> Array1<f64>);
static_case!(static_dot: "i,i->" [0: Ix1, 1: Ix1] -> Array0<f64>);
static_case!(static_outer: "i,j->ij" [0: Ix1, 1: Ix1] -> Array2<f64>);
static_case!(static_scalar_times_matrix: ",ij->ij" [0: Ix0, 1: Ix2] -> Array2<f64>);
static_case!(static_bmm: "bij,bjk->bik" [0: Ix3, 1: Ix3] -> Array3<f64>, big "b=2 i=32 j=32 k=32");
static_case!(static_attention: "bhqd,bhkd->bhqk" [0: Ix4, 1: Ix4] -> Array4<f64>);
static_case!(static_chain: "ij,jk,kl->il" [0: Ix2, 1: Ix2, 2: Ix2] -> Array2<f64>);
static_case!(static_rank5: "abcde,edcba->ab" [0: Ix5, 1: Ix5] -> Array2<f64>);
static_case!(static_rank6: "abcdef->fedcba" [0: Ix6] -> Array6<f64>);
static_case!(static_seven_outputs: "a,b,c,d,e,f,g->abcdefg"
    [0: Ix1, 1: Ix1, 2: Ix1, 3: Ix1, 4: Ix1, 5: Ix1, 6: Ix1] -> ArrayD<f64>);
static_case!(static_mixed_dyn: "ij,jk->ik" [0: Ix2, 1: IxDyn] -> Array2<f64>);
static_case!(static_ellipsis_matmul: "...ij,...jk->...ik" [0: Ix4, 1: Ix3] -> ArrayD<f64>, ell [2 1]);
static_case!(static_ellipsis_summed: "...ij,...jk->ik" [0: Ix3, 1: Ix4] -> Array2<f64>, ell [1 2]);
static_case!(static_ellipsis_vector: "...i,i->..." [0: Ix3, 1: Ix1] -> ArrayD<f64>, ell [2]);
static_case!(static_ellipsis_empty: "...ij->...ji" [0: Ix2] -> ArrayD<f64>, ell [0]);

#[test]
fn output_shapes() {
    let a = Array2::<f64>::ones((2, 3));
    let b = Array2::<f64>::ones((3, 4));
    let c: Array2<f64> = einsum!("ij,jk->ik", a, b);
    assert_eq!(c.shape(), [2, 4]);
    let c: Array2<f64> = einsum!("ij,jk->ki", a, b);
    assert_eq!(c.shape(), [4, 2]);
    let t: Array3<f64> = einsum!("ij,jk->jik", a, b);
    assert_eq!(t.shape(), [3, 2, 4]);
    let s: Array0<f64> = einsum!("ij,jk->", a, b);
    assert_eq!(s.into_scalar(), 24.0);
    let x = ArrayD::<f64>::ones(IxDyn(&[5, 1, 2, 3]));
    let y = ArrayD::<f64>::ones(IxDyn(&[4, 3, 4]));
    let e: ArrayD<f64> = einsum!("...ij,...jk->...ik", x, y);
    assert_eq!(e.shape(), [5, 4, 2, 4]);
    let u: Array2<f64> = einsum!("ab,bC", a, b);
    assert_eq!(u.shape(), [4, 2], "implicit output sorts upper case first");
}

// ---------------------------------------------------------------------------------------------
// Operand kinds
// ---------------------------------------------------------------------------------------------

fn assert_matmul(what: &str, got: &Array2<f64>, a: &Array2<f64>, b: &Array2<f64>) {
    let ops = [a.clone().into_dyn(), b.clone().into_dyn()];
    compare_with_reference(what, "ij,jk->ik", &got.clone().into_dyn(), &ops);
}

#[test]
fn operand_kinds() {
    let mut rng = Rng::new(seed_of("operand_kinds"));
    let a = random_array::<f64>(&[3, 4], &mut rng)
        .into_dimensionality::<Ix2>()
        .unwrap();
    let b = random_array::<f64>(&[4, 5], &mut rng)
        .into_dimensionality::<Ix2>()
        .unwrap();

    let c: Array2<f64> = einsum!("ij,jk->ik", a, b);
    assert_matmul("Array, Array", &c, &a, &b);
    let c: Array2<f64> = einsum!("ij,jk->ik", &a, &b);
    assert_matmul("&Array, &Array", &c, &a, &b);
    let c: Array2<f64> = einsum!("ij,jk->ik", a.view(), b.view());
    assert_matmul("ArrayView, ArrayView", &c, &a, &b);
    let (va, vb) = (a.view(), b.view());
    let c: Array2<f64> = einsum!("ij,jk->ik", &va, &vb);
    assert_matmul("&ArrayView, &ArrayView", &c, &a, &b);
    let (sa, sb) = (a.to_shared(), b.to_shared());
    let c: Array2<f64> = einsum!("ij,jk->ik", sa, &sb);
    assert_matmul("ArcArray, &ArcArray", &c, &a, &b);
    let ca = CowArray::from(a.view());
    let cb = CowArray::from(b.clone());
    let c: Array2<f64> = einsum!("ij,jk->ik", ca, &cb);
    assert_matmul("CowArray (borrowed), &CowArray (owned)", &c, &a, &b);
    let c: Array2<f64> = einsum!("ij,jk->ik", sa, cb);
    assert_matmul("ArcArray, CowArray", &c, &a, &b);
    let c: Array2<f64> = einsum!("ij,jk->ik", a.t().t(), b.view().reversed_axes().t());
    assert_matmul("transposed views", &c, &a, &b);
    let mut ma = a.clone();
    let c: Array2<f64> = einsum!("ij,jk->ik", &mut ma, b.clone());
    assert_matmul("&mut Array, temporary Array", &c, &a, &b);
    let c: Array2<f64> = einsum!("ij,jk->ik", ma.view_mut(), &b);
    assert_matmul("ArrayViewMut, &Array", &c, &a, &b);
    let da = a.clone().into_dyn();
    let c: Array2<f64> = einsum!("ij,jk->ik", da, b);
    assert_matmul("ArrayD, Array2", &c, &a, &b);
    let c: Array2<f64> = einsum!("ij,jk->ik", da.view(), sb.clone().into_dyn());
    assert_matmul("ArrayViewD, ArcArrayD", &c, &a, &b);
    // The operands were borrowed, not moved.
    assert_eq!(a.shape(), [3, 4]);
    assert_eq!(sa.shape(), [3, 4]);

    let r = try_einsum!("ij,jk->ik", a, b).expect("matching extents");
    assert_matmul("try_einsum!", &r, &a, &b);
    assert!(try_einsum!("ij,jk->ik", a, a).is_err());
}

#[test]
fn every_operand_kind_in_one_call() {
    let mut rng = Rng::new(seed_of("kinds in one call"));
    let ops: Vec<ArrayD<f64>> = random_arrays(
        &[vec![2, 3], vec![3, 4], vec![4, 2], vec![2, 5], vec![5, 2]],
        &mut rng,
    );
    let a = ops[0].clone().into_dimensionality::<Ix2>().unwrap();
    let b = ops[1].clone();
    let c = ops[2]
        .view()
        .into_dimensionality::<Ix2>()
        .unwrap()
        .to_shared();
    let d = CowArray::from(ops[3].view());
    let e = ops[4].clone();
    let got: Array2<f64> = einsum!("ij,jk,kl,lm,mn->in", a, &b, c, &d, e.view());
    compare_with_reference("five kinds", "ij,jk,kl,lm,mn->in", &got.into_dyn(), &ops);
}

// ---------------------------------------------------------------------------------------------
// Integer element types
// ---------------------------------------------------------------------------------------------

macro_rules! integer_case {
    ($name:ident : $pat:literal [$($i:literal)*] $(, big $big:literal)?) => {
        #[test]
        fn $name() {
            fn forward<T: LinalgScalar>(ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
                einsum!($pat, $(ops[$i]),*).into_dyn()
            }
            let draws = [ShapeOpts::new(1, 5), ShapeOpts::new(1, 4).broadcast(0.4)];
            check_forward_with($pat, forward::<i32>, &draws, LAYOUTS.len());
            check_forward_with($pat, forward::<i64>, &draws, 2);
            check_forward_with($pat, forward::<u32>, &draws, 3);
            // u8 values are 0..=2 on small extents, so no sum overflows.
            check_forward_with($pat, forward::<u8>, &[ShapeOpts::new(1, 3)], 2);
            let big = big_opts(&[$($big)?]);
            check_forward_with($pat, forward::<i32>, &big, 2);
            check_forward_with($pat, forward::<i64>, &big, 2);
        }
    };
}

integer_case!(integer_matmul: "ij,jk->ik" [0 1], big "i=40 j=40 k=40");
integer_case!(integer_trace: "ii->" [0]);
integer_case!(integer_diagonal_then_matmul: "iij,jk->ik" [0 1]);
integer_case!(integer_outer: "i,j->ij" [0 1]);
integer_case!(integer_transpose: "ijk->kji" [0]);
integer_case!(integer_bmm: "bij,bjk->bik" [0 1], big "b=2 i=32 j=32 k=32");
integer_case!(integer_ellipsis: "...ij,...jk->...ik" [0 1]);
integer_case!(integer_chain: "ij,jk,kl->il" [0 1 2]);
integer_case!(integer_scalar: ",ij->ji" [0 1]);
integer_case!(integer_hadamard_sum: "ij,ij->" [0 1]);

#[test]
fn integer_static_types() {
    let a = Array2::from_shape_fn((3, 3), |(i, j)| (i * 3 + j) as i32 - 4);
    let t: Array0<i32> = einsum!("ii->", a);
    assert_eq!(t.into_scalar(), 0, "diagonal -4, 0, 4");
    let u = Array1::from_vec(vec![1u8, 2, 3]);
    let o: Array2<u8> = einsum!("i,j->ij", u, u);
    assert_eq!(o[[2, 1]], 6);
    let v = Array1::from_vec(vec![1i64 << 20, 3]);
    let d: Array0<i64> = einsum!("i,i->", v, v);
    assert_eq!(d.into_scalar(), (1i64 << 40) + 9);
}

#[test]
fn static_rank_of_each_dimension_type() {
    // One call per static dimension type Ix0..Ix6, each operand a view with negative strides.
    let mut rng = Rng::new(5);
    let x: ArrayD<f64> = random_array(&[2, 3, 2, 1, 2, 3], &mut rng);
    let laid = lay_out(&x, Layout::Negative, &mut rng);
    let v6 = laid.view().into_dimensionality::<Ix6>().unwrap();
    let s: Array0<f64> = einsum!("abcdef->", v6);
    assert!((s.into_scalar() - x.sum()).abs() < 1e-12);
    let v5 = v6.index_axis(ndarray::Axis(0), 1);
    let r: Array1<f64> = einsum!("abcde->e", v5.into_dimensionality::<Ix5>().unwrap());
    compare_with_reference(
        "Ix5",
        "abcde->e",
        &r.into_dyn(),
        &[v5.to_owned().into_dyn()],
    );
    let v4 = v5.index_axis(ndarray::Axis(0), 2);
    let r: Array4<f64> = einsum!("abcd->dcba", v4.into_dimensionality::<Ix4>().unwrap());
    compare_with_reference(
        "Ix4",
        "abcd->dcba",
        &r.into_dyn(),
        &[v4.to_owned().into_dyn()],
    );
    let v3 = v4.index_axis(ndarray::Axis(0), 1);
    let r: Array3<f64> = einsum!("abc->bca", v3.into_dimensionality::<Ix3>().unwrap());
    compare_with_reference(
        "Ix3",
        "abc->bca",
        &r.into_dyn(),
        &[v3.to_owned().into_dyn()],
    );
    let v0 = ndarray::arr0(2.5);
    let r: Array0<f64> = einsum!("->", v0.view().into_dimensionality::<Ix0>().unwrap());
    assert_eq!(r.into_scalar(), 2.5);
}

// ---------------------------------------------------------------------------------------------
// Zero strides (broadcast views as operands)
// ---------------------------------------------------------------------------------------------

macro_rules! zero_stride_cases {
    ($($pat:literal [$($i:literal)*];)*) => {
        #[test]
        fn zero_stride_operands() {
            $({
                fn forward(ops: &[ArrayViewD<'_, f64>]) -> ArrayD<f64> {
                    einsum!($pat, $(ops[$i]),*).into_dyn()
                }
                check_zero_strides($pat, forward, None);
            })*
        }
    };
}

zero_stride_cases! {
    "ij,jk->ik" [0 1];
    "ij->ji" [0];
    "ii->i" [0];
    "ii->" [0];
    "ij,ij->ij" [0 1];
    "...i,...i->..." [0 1];
    "bij,bjk->bik" [0 1];
    "ij,jk,kl->il" [0 1 2];
    "iij,jk->ik" [0 1];
    "ijk->kji" [0];
}

#[test]
fn zero_stride_views_on_the_gemm_path() {
    let rows = Array2::from_shape_fn((1, 40), |(_, j)| j as f64 * 0.25 - 3.0);
    let a = rows.broadcast((40, 40)).unwrap();
    let b = Array2::from_shape_fn((40, 40), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
    let c: Array2<f64> = einsum!("ij,jk->ik", a, b.t());
    let ops = [a.to_owned().into_dyn(), b.t().to_owned().into_dyn()];
    compare_with_reference(
        "broadcast (40, 40) view, GEMM",
        "ij,jk->ik",
        &c.into_dyn(),
        &ops,
    );
}
