//! Property tests of `einsum!` and `einsum_vjp!` over memory layouts, extents and broadcasting.
//!
//! A fixed table of compiled patterns (2 to 6 operands: diagonals, ellipsis, size-1 broadcasting,
//! batch contractions, chains, outer products, sums, 0-d operands, implicit output) is run on inputs
//! that proptest draws: an extent per label from {0, 1, 2, 3, 5} (0 and 1 are likely), an ellipsis
//! rank 0..=2 per operand that has `...`, size-1 broadcasting of single occurrences of labels and of
//! ellipsis dimensions, a memory layout per operand (C, Fortran, transposed, stepped, negative strides,
//! negative steps, or a stride-0 broadcast view, see [`Lay`]), a layout of the upstream gradient `G`
//! and the values' seed.
//!
//! Each case checks
//! 1. the forward value of `einsum!` (and of `einsum_vjp!`) against `common::reference`, the test
//!    suite's naive einsum, within 1e-12 of the sum of absolute products;
//! 2. the gradient of every operand from `einsum_vjp!` against [`reference_gradients`], an independent
//!    loop over all index tuples that adds `G[out] * (product of the other operands)` at the operand's
//!    index (so diagonals, broadcast axes and stride-0 operands need no special case), within 1e-12 of
//!    the sum of absolute terms. Where it is cheap, that reference gradient is itself checked against
//!    central finite differences of `sum(G * reference(ops))` (exact up to rounding: einsum is linear
//!    in each operand).
//!
//! Gradients of stride-0 operands are shaped like the logical (broadcast) operand.
//!
//! Failure-persistence files are off, so the test writes nothing into the tree; a failure reports the
//! minimal draw (which fixes the case, values included) together with shapes, layouts and strides.

mod common;

use std::collections::BTreeSet;

use common::{assert::*, checks::*, elem::*, finite_diff::*, layouts::*, reference::*, rng::*};
use einsum_runtime::{einsum, einsum_vjp};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, ShapeBuilder, Slice};
use proptest::prelude::{any, prop, prop_oneof, Just, Strategy};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

/// Cases per pattern (overridden by `PROPTEST_CASES`).
const CASES: u32 = 128;

/// Above this many (operand elements x index tuples), the finite-difference check of the reference
/// gradient is skipped (it evaluates the reference twice per operand element).
const FD_BUDGET: usize = 4_000;

// ---------------------------------------------------------------------------------------------
// The patterns
// ---------------------------------------------------------------------------------------------

macro_rules! properties {
    ($($name:ident : $pat:literal [$($i:literal)*];)*) => {
        $(
            mod $name {
                use super::*;

                fn forward(ops: &[ArrayViewD<'_, f64>]) -> ArrayD<f64> {
                    einsum!($pat, $(ops[$i]),*).into_dyn()
                }

                fn vjp(ops: &[ArrayViewD<'_, f64>], g: &ArrayD<f64>) -> (ArrayD<f64>, Vec<ArrayD<f64>>) {
                    let (z, back) = einsum_vjp!($pat, $(ops[$i]),*);
                    let grads = back(&same_dim(&z, g));
                    (z.into_dyn(), grads.into_grad_vec())
                }

                #[test]
                fn layouts_and_gradients() {
                    run_property($pat, forward, vjp);
                }
            }
        )*

        /// Every pattern of the table.
        const PATTERNS: &[&str] = &[$($pat),*];
    };
}

properties! {
    matmul: "ij,jk->ik" [0 1];
    matmul_implicit: "ij,jk" [0 1];
    matvec: "ij,j->i" [0 1];
    dot: "i,i->" [0 1];
    diagonal_times_vector: "ii,i->i" [0 1];
    diagonal_contraction: "iij,jk->ik" [0 1];
    two_diagonals: "iij,jkk->ik" [0 1];
    diagonals_in_a_chain: "ii,ij,jk,kk->ik" [0 1 2 3];
    trace_of_product: "ij,ji->" [0 1];
    ellipsis_batch_matmul: "...ij,...jk->...ik" [0 1];
    ellipsis_batch_matmul_implicit: "...ij,...jk" [0 1];
    ellipsis_summed: "i...,...->i" [0 1];
    ellipsis_dot: "...i,...i->..." [0 1];
    ellipsis_in_the_middle: "a...b,b...->a..." [0 1];
    ellipsis_hadamard: "...,...->..." [0 1];
    ellipsis_three_operands: "...i,i...,...->..." [0 1 2];
    batch_matmul: "bij,bjk->bik" [0 1];
    attention_scores: "bhqd,bhkd->bhqk" [0 1];
    attention_values: "bhqk,bhkd->bhqd" [0 1];
    chain3: "ab,bc,cd->ad" [0 1 2];
    chain4: "ab,bc,cd,de->ae" [0 1 2 3];
    chain5: "ab,bc,cd,de,ef->af" [0 1 2 3 4];
    chain6: "ab,bc,cd,de,ef,fg->ag" [0 1 2 3 4 5];
    chain6_transposed: "ba,cb,dc,ed,fe,gf->ga" [0 1 2 3 4 5];
    cyclic_trace: "ij,jk,ki->" [0 1 2];
    grid4: "ab,cd,ac,bd->" [0 1 2 3];
    star6: "ai,bi,ci,di,ei,fi->abcdef" [0 1 2 3 4 5];
    outer2: "i,j->ij" [0 1];
    outer3: "i,j,k->ijk" [0 1 2];
    outer_matrices: "ij,kl->ikjl" [0 1];
    batch_outer: "bi,bj,bk->bijk" [0 1 2];
    hadamard: "ij,ij->ij" [0 1];
    frobenius: "ij,ij->" [0 1];
    sum_of_matmul: "ij,jk->" [0 1];
    bilinear: "i,ij,j->" [0 1 2];
    scalar_times_matrix: ",ij->ij" [0 1];
    sum_times_scalar: "ij,->" [0 1];
    three_to_one: "abc,cd,de->abe" [0 1 2];
    permuted_contraction: "ijk,kji->ik" [0 1];
    upper_case: "Ab,bA->A" [0 1];
}

/// Operand count of a pattern.
fn operands(pattern: &str) -> usize {
    parse(pattern).inputs.len()
}

#[test]
fn the_table_covers_what_it_should() {
    let distinct: BTreeSet<&str> = PATTERNS.iter().copied().collect();
    assert_eq!(distinct.len(), PATTERNS.len(), "duplicate patterns");
    assert!(PATTERNS.len() >= 30, "only {} patterns", PATTERNS.len());
    for p in PATTERNS {
        assert!((2..=6).contains(&operands(p)), "{p}: operand count");
    }
    for required in [
        "ii,i->i",
        "iij,jk->ik",
        "...ij,...jk->...ik",
        "i...,...->i",
        "bij,bjk->bik",
        "bhqd,bhkd->bhqk",
        "ab,bc,cd->ad",
        "ab,bc,cd,de,ef->af",
        "ab,bc,cd,de,ef,fg->ag",
        "i,j->ij",
        "ij,ij->",
    ] {
        assert!(distinct.contains(required), "{required} is missing");
    }
}

// ---------------------------------------------------------------------------------------------
// Draws
// ---------------------------------------------------------------------------------------------

/// How an operand is presented to the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lay {
    /// One of the memory layouts of `common` (the view shows the logical array).
    Mem(Layout),
    /// A stride-0 broadcast view: the logical array is constant along one axis (`axis` picks it
    /// among the axes longer than 1, or among all axes if none is), or along every axis longer
    /// than 1 if `all`; the backing array has extent 1 there, stored in layout `inner`, and
    /// `ArrayView::broadcast` stretches it, with stride 0 on those axes.
    Zero {
        axis: usize,
        all: bool,
        inner: Layout,
    },
}

/// One drawn case; with the pattern, it fixes shapes, layouts and values.
#[derive(Debug, Clone)]
struct Draw {
    /// Extent of each distinct label (in character-code order).
    extents: Vec<usize>,
    /// Extents of the ellipsis dimensions, right-aligned (the last `longest` are used).
    ellipsis: Vec<usize>,
    /// Ellipsis rank of each operand (0 for operands without `...`).
    ranks: Vec<usize>,
    /// Per operand and axis: make this axis extent 1 (only single occurrences of a label in their
    /// operand, and ellipsis dimensions), to broadcast against the other operands.
    ones: Vec<Vec<bool>>,
    layouts: Vec<Lay>,
    /// Layout of the upstream gradient `G` (an owned array in that layout).
    g_layout: Layout,
    seed: u64,
}

/// Extents: 0 and 1 are likely.
fn extent() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => Just(1usize),
        3 => Just(2usize),
        2 => Just(0usize),
        3 => Just(3usize),
        2 => Just(5usize),
    ]
}

fn memory_layout() -> impl Strategy<Value = Layout> {
    prop::sample::select(LAYOUTS.to_vec())
}

fn lay() -> impl Strategy<Value = Lay> {
    prop_oneof![
        5 => memory_layout().prop_map(Lay::Mem),
        2 => (0..6usize, prop::bool::weighted(0.2), memory_layout())
            .prop_map(|(axis, all, inner)| Lay::Zero { axis, all, inner }),
    ]
}

/// Distinct labels of a pattern, in character-code order.
fn labels_of(p: &RefPattern) -> Vec<u8> {
    let set: BTreeSet<u8> = p.inputs.iter().flat_map(|t| t.chars()).collect();
    set.into_iter().collect()
}

/// Most axes of one operand: 4 labels plus 2 ellipsis dimensions.
const MAX_AXES: usize = 6;

fn draws(pattern: &str) -> impl Strategy<Value = Draw> {
    let p = parse(pattern);
    let n = p.inputs.len();
    let max_rank: usize = if p.inputs.iter().any(|t| t.ellipsis) {
        2
    } else {
        0
    };
    (
        prop::collection::vec(extent(), labels_of(&p).len()),
        prop::collection::vec(extent(), 2),
        prop::collection::vec(0..=max_rank, n),
        prop::collection::vec(
            prop::collection::vec(prop::bool::weighted(0.2), MAX_AXES),
            n,
        ),
        prop::collection::vec(lay(), n),
        memory_layout(),
        any::<u64>(),
    )
        .prop_map(
            |(extents, ellipsis, ranks, ones, layouts, g_layout, seed)| Draw {
                extents,
                ellipsis,
                ranks,
                ones,
                layouts,
                g_layout,
                seed,
            },
        )
}

/// The logical shape of every operand.
fn shapes_of_draw(pattern: &str, d: &Draw) -> Vec<Vec<usize>> {
    let p = parse(pattern);
    let labels = labels_of(&p);
    let extent = |c: u8| d.extents[labels.iter().position(|&l| l == c).unwrap()];
    let ranks: Vec<usize> = p
        .inputs
        .iter()
        .zip(&d.ranks)
        .map(|(t, &r)| if t.ellipsis { r } else { 0 })
        .collect();
    let longest = ranks.iter().copied().max().unwrap_or(0);
    let ell = &d.ellipsis[d.ellipsis.len() - longest..];
    p.inputs
        .iter()
        .zip(&ranks)
        .zip(&d.ones)
        .map(|((t, &r), ones)| {
            let once = |c: u8| t.chars().filter(|&x| x == c).count() == 1;
            let axes: Vec<(usize, bool)> = t
                .before
                .iter()
                .map(|&c| (extent(c), once(c)))
                .chain(ell[longest - r..].iter().map(|&e| (e, true)))
                .chain(t.after.iter().map(|&c| (extent(c), once(c))))
                .collect();
            axes.iter()
                .zip(ones)
                .map(|(&(e, may), &one)| if may && one { 1 } else { e })
                .collect()
        })
        .collect()
}

/// An operand as stored: the backing array in its memory layout, and the logical shape that the
/// backing is broadcast to (the same shape, except on the stride-0 axes of [`Lay::Zero`]).
struct Operand {
    laid: Laid<f64>,
    shape: Vec<usize>,
}

fn make_operand(shape: &[usize], lay: Lay, rng: &mut Rng) -> Operand {
    let (small, inner) = match lay {
        Lay::Mem(l) => (shape.to_vec(), l),
        Lay::Zero { .. } if shape.is_empty() => (Vec::new(), Layout::C),
        Lay::Zero { axis, all, inner } => {
            let mut small = shape.to_vec();
            let long: Vec<usize> = (0..shape.len()).filter(|&d| shape[d] > 1).collect();
            if all && !long.is_empty() {
                for &d in &long {
                    small[d] = 1;
                }
            } else {
                let candidates: Vec<usize> = if long.is_empty() {
                    (0..shape.len()).collect()
                } else {
                    long
                };
                small[candidates[axis % candidates.len()]] = 1;
            }
            (small, inner)
        }
    };
    let backing: ArrayD<f64> = random_array(&small, rng);
    Operand {
        laid: lay_out(&backing, inner, rng),
        shape: shape.to_vec(),
    }
}

/// `g` as an owned array in `layout` (owned arrays may have any strides; the library must read `G`
/// by logical index whatever they are).
fn owned_in_layout(g: &ArrayD<f64>, layout: Layout, rng: &mut Rng) -> ArrayD<f64> {
    let ndim = g.ndim();
    let stepped = |step: isize| {
        let big: Vec<usize> = g.shape().iter().map(|&n| n * step.unsigned_abs()).collect();
        let mut a = ArrayD::from_elem(IxDyn(&big), f64::NAN);
        a.slice_each_axis_inplace(|_| Slice::new(0, None, step.abs()));
        if step < 0 {
            for d in 0..ndim {
                a.invert_axis(Axis(d));
            }
        }
        a.assign(g);
        a
    };
    let out = match layout {
        Layout::C => g.as_standard_layout().into_owned(),
        Layout::F => {
            let mut f = ArrayD::from_elem(g.raw_dim().f(), f64::NAN);
            f.assign(g);
            f
        }
        Layout::Transposed => {
            let p = rng.permutation(ndim);
            let mut inverse = vec![0; ndim];
            for (j, &i) in p.iter().enumerate() {
                inverse[i] = j;
            }
            g.view()
                .permuted_axes(p)
                .as_standard_layout()
                .into_owned()
                .permuted_axes(inverse)
        }
        Layout::Stepped => stepped(2),
        Layout::Negative => stepped(-1),
        Layout::NegativeStepped => stepped(-2),
    };
    assert_eq!(&out, g, "G in layout {layout:?} changed the values");
    out
}

// ---------------------------------------------------------------------------------------------
// The independent reference gradient
// ---------------------------------------------------------------------------------------------

/// The gradient of `sum(G * einsum(pattern, ops))` with respect to every operand, and per element the
/// sum of the absolute values of the terms it adds up (its rounding scale): one loop over every index
/// tuple of all labels, adding `G[out] * prod_{j != k} ops[j][...]` to operand `k`'s gradient at the
/// operand's own index of the tuple (index 0 on a size-1 axis that broadcasts). It uses only the
/// pattern binding of `common` (no code of the library).
fn reference_gradients(
    pattern: &str,
    ops: &[ArrayD<f64>],
    g: &ArrayD<f64>,
) -> (Vec<ArrayD<f64>>, Vec<ArrayD<f64>>) {
    let p = parse(pattern);
    let shapes: Vec<&[usize]> = ops.iter().map(|a| a.shape()).collect();
    let b = bind(&p, &shapes);
    assert_eq!(
        g.shape(),
        b.output_shape().as_slice(),
        "reference gradient: G"
    );
    let labels: Vec<Label> = b.extents.keys().copied().collect();
    let ext: Vec<usize> = b.extents.values().copied().collect();
    let slot = |l: &Label| labels.iter().position(|x| x == l).unwrap();
    // Per operand and axis: the tuple slot it reads, or None on a broadcast size-1 axis.
    let maps: Vec<Vec<Option<usize>>> = b
        .axes
        .iter()
        .zip(&shapes)
        .map(|(ls, s)| {
            ls.iter()
                .zip(s.iter())
                .map(|(l, &n)| (n == b.extents[l]).then(|| slot(l)))
                .collect()
        })
        .collect();
    let out_map: Vec<usize> = b.output.iter().map(slot).collect();
    let mut grads: Vec<ArrayD<f64>> = ops.iter().map(|a| ArrayD::zeros(a.raw_dim())).collect();
    let mut scales = grads.clone();
    if ext.contains(&0) {
        return (grads, scales);
    }
    let mut tuple = vec![0usize; labels.len()];
    let mut idx: Vec<Vec<usize>> = maps.iter().map(|m| vec![0; m.len()]).collect();
    let mut gidx = vec![0usize; out_map.len()];
    let mut vals = vec![0.0; ops.len()];
    loop {
        for (k, m) in maps.iter().enumerate() {
            for (x, s) in idx[k].iter_mut().zip(m) {
                *x = s.map_or(0, |s| tuple[s]);
            }
            vals[k] = ops[k][idx[k].as_slice()];
        }
        for (x, &s) in gidx.iter_mut().zip(&out_map) {
            *x = tuple[s];
        }
        let gv = g[gidx.as_slice()];
        for k in 0..ops.len() {
            let others: f64 = vals
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != k)
                .map(|(_, v)| v)
                .product();
            grads[k][idx[k].as_slice()] += gv * others;
            scales[k][idx[k].as_slice()] += (gv * others).abs();
        }
        if !next_tuple(&mut tuple, &ext) {
            break;
        }
    }
    (grads, scales)
}

// ---------------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------------

fn check(pattern: &str, fwd: Fwd<f64>, vjp: Vjp<f64>, d: &Draw) {
    let mut rng = Rng::new(d.seed);
    let shapes = shapes_of_draw(pattern, d);
    let stored: Vec<Operand> = shapes
        .iter()
        .zip(&d.layouts)
        .map(|(s, &l)| make_operand(s, l, &mut rng))
        .collect();
    let backing: Vec<ArrayViewD<'_, f64>> = stored.iter().map(|o| o.laid.view()).collect();
    let ops: Vec<ArrayViewD<'_, f64>> = backing
        .iter()
        .zip(&stored)
        .map(|(v, o)| v.broadcast(IxDyn(&o.shape)).expect("broadcastable"))
        .collect();
    for ((op, o), l) in ops.iter().zip(&stored).zip(&d.layouts) {
        assert_eq!(op.shape(), o.shape.as_slice());
        if matches!(l, Lay::Zero { .. }) && o.shape.iter().any(|&n| n > 1) {
            assert!(
                op.strides().contains(&0),
                "stride-0 layout without a zero stride"
            );
        }
    }
    let logical: Vec<ArrayD<f64>> = ops.iter().map(|v| v.to_owned()).collect();
    let strides: Vec<&[isize]> = ops.iter().map(|v| v.strides()).collect();
    let what = format!(
        "einsum {pattern:?}, shapes {shapes:?}, layouts {:?}, strides {strides:?}",
        d.layouts
    );

    // 1. Forward.
    let want = reference(pattern, &views(&logical));
    let scale: Vec<f64> = reference_abs(pattern, &views(&logical))
        .iter()
        .copied()
        .collect();
    let got = fwd(&ops);
    assert_close(
        &format!("{what}: einsum!"),
        &got,
        &want,
        f64::TOL.of(&scale),
    );

    // 2. Gradients.
    let g: ArrayD<f64> = random_array(want.shape(), &mut rng);
    let g_laid = owned_in_layout(&g, d.g_layout, &mut rng);
    let what = format!("{what}, G layout {:?}", d.g_layout);
    let (z, grads) = vjp(&ops, &g_laid);
    assert_close(
        &format!("{what}: einsum_vjp! value"),
        &z,
        &want,
        f64::TOL.of(&scale),
    );
    assert_eq!(grads.len(), ops.len(), "{what}: one gradient per operand");
    let (want_grads, grad_scales) = reference_gradients(pattern, &logical, &g);
    for (k, (gk, wk)) in grads.iter().zip(&want_grads).enumerate() {
        let sk: Vec<f64> = grad_scales[k].iter().copied().collect();
        assert_close(
            &format!("{what}: gradient of operand {k}"),
            gk,
            wk,
            f64::TOL.of(&sk),
        );
    }

    // The reference gradient itself, against central finite differences, where that is cheap.
    let tuples = {
        let s: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
        bind(&parse(pattern), &s).tuples()
    };
    let elements: usize = logical.iter().map(|a| a.len()).sum();
    if tuples * elements <= FD_BUDGET {
        for (k, wk) in want_grads.iter().enumerate() {
            let fd = finite_difference(pattern, &logical, &g, k);
            let sk: Vec<f64> = grad_scales[k].iter().copied().collect();
            assert_close(
                &format!(
                    "{what}: the test's reference gradient of operand {k} vs finite differences"
                ),
                wk,
                &fd,
                Tol::new(1e-6, 1e-6).of(&sk),
            );
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES)
}

fn run_property(pattern: &'static str, fwd: Fwd<f64>, vjp: Vjp<f64>) {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&draws(pattern), |d| {
        check(pattern, fwd, vjp, &d);
        Ok(())
    }) {
        panic!("einsum {pattern:?}: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// The helpers themselves
// ---------------------------------------------------------------------------------------------

#[test]
fn stride_zero_views_repeat_the_backing() {
    let mut rng = Rng::new(5);
    for inner in LAYOUTS {
        for (axis, all) in [(0, false), (1, false), (2, false), (0, true)] {
            let o = make_operand(&[3, 4, 2], Lay::Zero { axis, all, inner }, &mut rng);
            let b = o.laid.view();
            let v = b.broadcast(IxDyn(&o.shape)).unwrap();
            assert_eq!(v.shape(), [3, 4, 2]);
            let zeros = v.strides().iter().filter(|&&s| s == 0).count();
            assert_eq!(zeros, if all { 3 } else { 1 }, "{inner:?} {axis} {all}");
            for (ax, &s) in v.strides().iter().enumerate() {
                if s == 0 {
                    for lane in v.lanes(Axis(ax)) {
                        assert!(lane.iter().all(|&x| x == lane[0]));
                    }
                }
            }
        }
    }
    // Axes of extent <= 1 are only chosen when no axis is longer.
    let o = make_operand(
        &[1, 5],
        Lay::Zero {
            axis: 0,
            all: false,
            inner: Layout::C,
        },
        &mut rng,
    );
    assert_eq!(o.laid.view().shape(), [1, 1]);
    let o = make_operand(
        &[0, 1],
        Lay::Zero {
            axis: 0,
            all: true,
            inner: Layout::F,
        },
        &mut rng,
    );
    assert_eq!(o.laid.view().shape(), [1, 1]);
    assert_eq!(o.laid.view().broadcast(IxDyn(&[0, 1])).unwrap().len(), 0);
}

#[test]
fn g_layouts_keep_values() {
    let mut rng = Rng::new(6);
    let g: ArrayD<f64> = random_array(&[2, 3, 4], &mut rng);
    for layout in LAYOUTS {
        let o = owned_in_layout(&g, layout, &mut rng);
        assert_eq!(o, g);
        let s = o.strides().to_vec();
        match layout {
            Layout::F => assert_eq!(s, [1, 2, 6]),
            Layout::Stepped => assert_eq!(s, [96, 16, 2]),
            Layout::Negative => assert_eq!(s, [-12, -4, -1]),
            Layout::NegativeStepped => assert_eq!(s, [-96, -16, -2]),
            _ => {}
        }
    }
}

#[test]
fn reference_gradients_match_finite_differences() {
    let mut rng = Rng::new(9);
    for (pattern, shapes) in [
        ("ii,i->i", vec![vec![3, 3], vec![1]]),
        ("iij,jk->ik", vec![vec![2, 2, 3], vec![3, 2]]),
        ("...ij,...jk->...ik", vec![vec![2, 1, 2, 3], vec![3, 3, 2]]),
        ("i...,...->i", vec![vec![2, 3], vec![3]]),
        (",ij->ij", vec![vec![], vec![2, 3]]),
        ("ab,bc,cd->ad", vec![vec![2, 3], vec![1, 2], vec![2, 2]]),
    ] {
        let ops: Vec<ArrayD<f64>> = random_arrays(&shapes, &mut rng);
        let out = reference(pattern, &views(&ops));
        let g: ArrayD<f64> = random_array(out.shape(), &mut rng);
        let (grads, _) = reference_gradients(pattern, &ops, &g);
        for (k, gk) in grads.iter().enumerate() {
            let fd = finite_difference(pattern, &ops, &g, k);
            assert_close(
                &format!("{pattern} operand {k}"),
                gk,
                &fd,
                Tol::new(1e-8, 1e-8),
            );
        }
    }
}

#[test]
fn draws_cover_zero_and_one_extents_and_stride_zero_views() {
    let mut runner = TestRunner::deterministic();
    let strategy = draws("ab,bc,cd->ad");
    let (mut zero, mut one, mut stride0, mut ones) = (0, 0, 0, 0);
    for _ in 0..200 {
        let d = strategy.new_tree(&mut runner).unwrap().current();
        let shapes = shapes_of_draw("ab,bc,cd->ad", &d);
        zero += usize::from(d.extents.contains(&0));
        one += usize::from(d.extents.contains(&1));
        stride0 += usize::from(d.layouts.iter().any(|l| matches!(l, Lay::Zero { .. })));
        let s: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
        let b = bind(&parse("ab,bc,cd->ad"), &s);
        ones += usize::from(
            b.axes
                .iter()
                .zip(&shapes)
                .any(|(ls, sh)| ls.iter().zip(sh).any(|(l, &n)| n == 1 && b.extents[l] > 1)),
        );
    }
    for (what, n) in [
        ("a zero extent", zero),
        ("an extent 1", one),
        ("a stride-0 view", stride0),
        ("size-1 broadcasting", ones),
    ] {
        assert!(n >= 40, "only {n} of 200 draws have {what}");
    }
}
