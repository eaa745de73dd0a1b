//! Inputs chosen to break things: extents whose product overflows, results too large to allocate,
//! NaN and infinities, empty arrays, all 52 labels, many operands, hostile strides. Each must give the
//! right answer or a clear error: never undefined behaviour, an abort or a hang.

mod common;

use common::panics::panic_location;
use einsum_runtime::{einsum, einsum_vjp, try_einsum, ErrorKind};
use ndarray::{arr0, s, Array1, Array2, ArrayD, IxDyn};

/// One element, to be broadcast (stride 0) to huge extents without memory.
fn one() -> Array1<f64> {
    Array1::ones(1)
}

#[test]
fn result_whose_element_count_overflows_is_an_error() {
    let one = one();
    let v = one.broadcast(1 << 40).unwrap();
    let err = try_einsum!("i,j->ij", v, v).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TooLarge { shape } if shape == &[1 << 40, 1 << 40]));
    assert!(err.to_string().contains("too large to allocate"), "{err}");
    // Three operands: the intermediate (or the result) overflows.
    let err = try_einsum!("i,j,k->ijk", v, v, v).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TooLarge { .. }), "{err}");
}

#[test]
fn result_whose_byte_size_exceeds_isize_is_an_error() {
    // 2^31 * 2^31 = 2^62 elements fit in usize, but 2^65 bytes do not fit in isize.
    let one = one();
    let v = one.broadcast(1 << 31).unwrap();
    let err = try_einsum!("i,j->ij", v, v).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TooLarge { .. }), "{err}");
}

#[test]
fn empty_result_whose_other_axes_overflow_is_an_error() {
    // A zero axis empties the result, but ndarray cannot hold a shape whose nonzero lengths
    // multiply past isize::MAX (2^40 · 2^40 here), so it is `TooLarge`, not a malformed array.
    let one = one();
    let v = one.broadcast(1 << 40).unwrap();
    let empty = Array1::<f64>::zeros(0);
    let err = try_einsum!("i,j,k->ijk", empty, v, v).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TooLarge { .. }), "{err}");
    let err = try_einsum!("i,j->ij", empty, v).map(|r| r.shape().to_vec());
    assert_eq!(err.unwrap(), vec![0, 1 << 40]);
}

#[test]
#[should_panic(expected = "is too large to allocate")]
fn einsum_panics_with_the_same_message() {
    let one = one();
    let v = one.broadcast(1 << 40).unwrap();
    let _ = einsum!("i,j->ij", v, v);
}

#[test]
fn huge_broadcast_extents_contract_when_the_result_is_small() {
    // A summed label of extent 2^20 over stride-0 views: a real sum, not an overflow.
    let one = one();
    let v = one.broadcast(1 << 20).unwrap();
    assert_eq!(einsum!("i,i->", v, v).into_scalar(), f64::from(1 << 20));
}

#[test]
fn nan_and_infinity_propagate_like_the_plain_sum() {
    let mut a = Array2::<f64>::ones((3, 3));
    a[[0, 1]] = f64::NAN;
    a[[2, 2]] = f64::INFINITY;
    let b = Array2::<f64>::eye(3);
    let c = einsum!("ij,jk->ik", a, b);
    // Row 0 meets the NaN in every column; row 2 meets 0 * inf = NaN in every column but the last,
    // whose only non-zero product is 1 * inf.
    assert!(c.row(0).iter().all(|x| x.is_nan()));
    assert!(c.row(1).iter().all(|&x| x == 1.0));
    assert!(c[[2, 0]].is_nan() && c[[2, 1]].is_nan());
    assert_eq!(c[[2, 2]], f64::INFINITY);
    // A diagonal that avoids the NaN does not see it.
    assert_eq!(einsum!("ii->", a).into_scalar(), f64::INFINITY);
    // inf - inf = NaN in a reduction.
    let v = ndarray::array![f64::INFINITY, f64::NEG_INFINITY];
    assert!(einsum!("i->", v).into_scalar().is_nan());
}

#[test]
fn nan_propagates_through_the_gemm_path() {
    let mut a = Array2::<f64>::ones((40, 40));
    a[[5, 7]] = f64::NAN;
    let c = einsum!("ij,jk->ik", a, a);
    for ((i, k), x) in c.indexed_iter() {
        assert_eq!(x.is_nan(), i == 5 || k == 7, "({i}, {k}) = {x}");
    }
}

#[test]
fn gradients_of_repeated_labels_are_not_a_mask_product() {
    // The gradient of `ii->` is the identity: the off-diagonal zeros must stay zeros even when the
    // upstream gradient is NaN or infinite (a mask multiply would turn 0 * inf into NaN).
    let m = Array2::<f64>::ones((3, 3));
    let (_, back) = einsum_vjp!("ii->", m);
    let (g,) = back(&arr0(f64::INFINITY));
    for ((i, j), &x) in g.indexed_iter() {
        if i == j {
            assert_eq!(x, f64::INFINITY);
        } else {
            assert_eq!(x, 0.0);
        }
    }
}

#[test]
fn empty_arrays() {
    let a = Array2::<f64>::zeros((0, 3));
    let b = Array2::<f64>::zeros((3, 4));
    assert_eq!(einsum!("ij,jk->ik", a, b).shape(), &[0, 4]);
    let c = Array2::<f64>::zeros((2, 0));
    let d = Array2::<f64>::zeros((0, 5));
    assert_eq!(einsum!("ij,jk->ik", c, d), Array2::zeros((2, 5)));
    assert_eq!(einsum!("ij->", c).into_scalar(), 0.0);
    let e = Array1::<f64>::zeros(0);
    assert_eq!(einsum!("i,i->", e, e).into_scalar(), 0.0);
    let (z, back) = einsum_vjp!("ij,jk->ik", c, d);
    let (gc, gd) = back(&z);
    assert_eq!((gc.shape(), gd.shape()), (&[2, 0][..], &[0, 5][..]));
}

#[test]
fn all_fifty_two_labels() {
    // One operand with 52 axes, one per label, each of extent 1 except the first two: a permutation
    // to the reversed order, then a full sum.
    let mut shape = vec![1usize; 52];
    shape[0] = 2;
    shape[1] = 3;
    let x = ArrayD::from_shape_fn(IxDyn(&shape), |ix| (ix[0] * 3 + ix[1]) as f64);
    let y: ArrayD<f64> = einsum!(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ->ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba",
        x
    );
    let mut expected_shape = shape.clone();
    expected_shape.reverse();
    assert_eq!(y.shape(), expected_shape.as_slice());
    assert_eq!(y.sum(), x.sum());
    let mut ix = vec![0usize; 52];
    ix[51] = 1;
    ix[50] = 2;
    assert_eq!(y[IxDyn(&ix)], 5.0);
    // The implicit output of all 52 labels sorts upper case first.
    let z: ArrayD<f64> = einsum!("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", x);
    assert_eq!(z.shape()[26], 2);
    assert_eq!(z.shape()[27], 3);
}

#[test]
fn sixteen_and_more_operands() {
    let v = Array1::from_shape_fn(3, |i| 1.0 + i as f64);
    let p = einsum!(
        "i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i->i",
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v
    );
    assert_eq!(p, v.mapv(|x| x.powi(16)));
    let m = Array2::from_shape_fn((2, 2), |(i, j)| if i == j { 1.0 } else { 0.5 });
    let chain: Array2<f64> = einsum!(
        "ab,bc,cd,de,ef,fg,gh,hi,ij,jk,kl,lm,mn,no,op,pq,qr->ar",
        m,
        m,
        m,
        m,
        m,
        m,
        m,
        m,
        m,
        m,
        m,
        m,
        m,
        m,
        m,
        m,
        m
    );
    let mut expected: Array2<f64> = m.clone();
    for _ in 1..17 {
        expected = expected.dot(&m);
    }
    for (x, y) in chain.iter().zip(&expected) {
        assert!((x - y).abs() <= 1e-9 * y.abs(), "{x} vs {y}");
    }
}

/// `einsum_vjp!` hands every gradient back with its operand's dimension type: through the runtime's
/// tuple conversion up to twelve operands, through a closure of the expansion beyond. Both, with an
/// `ArrayD` operand among `Array1`s (so one gradient changes type on the way), and the gradients of a
/// product of `n` vectors: operand `k`'s is the product of the others, the upstream gradient in.
#[test]
fn vjp_of_twelve_and_thirteen_operands_types_each_gradient_like_its_operand() {
    let v = Array1::from_shape_fn(3, |i| 1.0 + i as f64);
    let d: ArrayD<f64> = v.clone().into_dyn();
    let g = Array1::from_shape_fn(3, |i| 0.5 - i as f64);
    let others = |n: i32| &g * &v.mapv(|x| x.powi(n - 1));

    // The product of `n` operands (`d` first, then `v`s): its value and the gradients of the first,
    // second and last operands, each with its operand's type.
    macro_rules! product_of {
        ($n:literal, $pattern:literal, $($rest:ident),+) => {{
            let (z, back) = einsum_vjp!($pattern, d, $($rest),+);
            assert_eq!(z, v.mapv(|x| x.powi($n)));
            let (first, second, .., last) = back(&g);
            let (first, second, last): (ArrayD<f64>, Array1<f64>, Array1<f64>) =
                (first, second, last);
            assert_eq!(first, others($n).into_dyn());
            assert_eq!(second, others($n));
            assert_eq!(last, others($n));
        }};
    }
    product_of!(
        12,
        "i,i,i,i,i,i,i,i,i,i,i,i->i",
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v
    );
    product_of!(
        13,
        "i,i,i,i,i,i,i,i,i,i,i,i,i->i",
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v,
        v
    );
}

#[test]
fn hostile_strides() {
    let base = Array2::from_shape_fn((6, 8), |(i, j)| (i * 8 + j) as f64);
    // Negative steps on both axes, a zero-stride broadcast, and a transposed view at once.
    let a = base.slice(s![..;-2, 1..;-3]);
    let row = Array1::from_shape_fn(3, |j| j as f64 - 1.0);
    let b = row.broadcast((3, 3)).unwrap();
    let c = einsum!("ij,jk->ik", a, b.t());
    assert_eq!(c, a.dot(&b.t()));
}

#[test]
fn mismatches_name_everything() {
    let a = ArrayD::<f64>::zeros(IxDyn(&[2, 3, 4]));
    let err = try_einsum!("ij,jk->ik", a, a).unwrap_err();
    assert_eq!(
        err.to_string(),
        "einsum \"ij,jk->ik\": operand 0 has 3 axes but its term \"ij\" needs 2"
    );
    let err = try_einsum!("...ijk,l->", a, ArrayD::<f64>::zeros(IxDyn(&[]))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "einsum \"...ijk,l->\": operand 1 has 0 axes but its term \"l\" needs 1"
    );
    let x = Array2::<f64>::zeros((2, 3));
    let y = Array2::<f64>::zeros((3, 2));
    let err = try_einsum!("ij,ij->", x, y).unwrap_err();
    assert_eq!(
        err.to_string(),
        "einsum \"ij,ij->\": label 'i' has extent 2 in operand 0 (axis 0) but 3 in operand 1 (axis 0)"
    );
    let d = Array2::<f64>::zeros((2, 3));
    let err = try_einsum!("ii->i", d).unwrap_err();
    assert_eq!(
        err.to_string(),
        "einsum \"ii->i\": label 'i' has extent 2 in operand 0 (axis 0) but 3 in operand 0 (axis 1)"
    );
    let e = ArrayD::<f64>::zeros(IxDyn(&[2, 3]));
    let f = ArrayD::<f64>::zeros(IxDyn(&[4, 3]));
    let err = try_einsum!("...i,...i->...", e, f).unwrap_err();
    assert_eq!(
        err.to_string(),
        "einsum \"...i,...i->...\": label '... dimension 0' has extent 2 in operand 0 (axis 0) but 4 in operand 1 (axis 0)"
    );
}

#[test]
#[should_panic(expected = "the upstream gradient has shape [3, 3] but the output has shape [2, 2]")]
fn backward_with_a_wrong_gradient_shape_panics_clearly() {
    let a = Array2::<f64>::ones((2, 2));
    let (_, back) = einsum_vjp!("ij,jk->ik", a, a);
    let _ = back(&Array2::ones((3, 3)));
}

/// An extent mismatch panics at the user's line (the generated code's `#[track_caller]` entry), so
/// that identical calls can be told apart: on arrays, on `Var`s and in `einsum_vjp!`.
#[test]
fn an_extent_mismatch_panics_at_the_callers_line() {
    let a = Array2::<f64>::zeros((2, 3));
    let b = Array2::<f64>::zeros((4, 2));
    let line = line!() + 2;
    let at = panic_location("\"ab,bc->ac\": label 'b'", || {
        drop(einsum!("ab,bc->ac", a, b))
    });
    assert_eq!(at, (file!().to_owned(), line));

    let x = einsum_runtime::Var::new(a.clone());
    let line = line!() + 3;
    let at = panic_location(
        "\"ab,bc->ca\": label 'b'",
        std::panic::AssertUnwindSafe(|| drop(einsum!("ab,bc->ca", x, b))),
    );
    assert_eq!(at, (file!().to_owned(), line));

    let line = line!() + 2;
    let at = panic_location("\"ab,bc->\": label 'b'", || {
        drop(einsum_vjp!("ab,bc->", a, b).0)
    });
    assert_eq!(at, (file!().to_owned(), line));
}

/// The GEMM primitive that generated code calls is a safe function, so it must stay sound when
/// called by hand with views that disagree on a side (here `m`: 3 rows in `a`, 5 in the result):
/// it panics before reading anything, on the small-product route and on the `gemm` crate's.
#[test]
fn gemm_primitive_rejects_views_that_disagree_on_a_side() {
    use einsum_runtime::__private::{gemm, Gemm, Product, View};
    for (m, k, n) in [(3, 4, 5), (40, 40, 40)] {
        let a = Array2::<f64>::ones((m, k));
        let b = Array2::<f64>::ones((k, n));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let (x, y) = (View::new(&a, [0, 1], [m, k]), View::new(&b, [0, 1], [k, n]));
            let groups = const {
                Gemm::new(
                    [2, 2, 2],
                    [&[], &[0], &[1]],
                    [&[], &[0], &[1]],
                    [&[], &[0], &[1]],
                )
            };
            gemm("ij,jk->ik", [m + 2, n], &x, &y, &groups).map(|r| matches!(r, Product::Written(_)))
        }));
        let message = result.expect_err("disagreeing sides must panic");
        let text = message
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| message.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        assert!(
            text.contains("disagree on its sides"),
            "{m}x{k}x{n}: {text}"
        );
    }
}

/// The GEMM grouping is checked where it is made (at compile time in generated code, which makes it
/// in a `const` block) and again against the views' ranks when it is used, so a hand call cannot
/// hand the primitive slots its views do not have.
#[test]
fn gemm_grouping_is_checked_where_made_and_where_used() {
    use einsum_runtime::__private::{gemm, Gemm, View};
    let message = |r: std::thread::Result<()>| {
        let e = r.expect_err("a bad grouping must panic");
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    };
    // Slot 1 of `a` twice, slot 0 never.
    let made = std::panic::catch_unwind(|| {
        let _ = Gemm::new(
            [2, 2, 2],
            [&[], &[1], &[1]],
            [&[], &[0], &[1]],
            [&[], &[0], &[1]],
        );
    });
    assert!(message(made).contains("does not partition the slots"));
    // A valid grouping for a 3-axis `a`, used with a 2-axis view.
    let (a, b) = (Array2::<f64>::ones((3, 4)), Array2::<f64>::ones((4, 5)));
    let used = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (x, y) = (View::new(&a, [0, 1], [3, 4]), View::new(&b, [0, 1], [4, 5]));
        let groups = Gemm::new(
            [3, 2, 2],
            [&[2], &[0], &[1]],
            [&[], &[0], &[1]],
            [&[], &[0], &[1]],
        );
        drop(gemm("ij,jk->ik", [3, 5], &x, &y, &groups));
    }));
    assert!(message(used).contains("other ranks"));
}

/// The GEMM route writes its new result without zeroing it first, so it must write every element.
/// Before each call the allocator is handed back a buffer of NaNs of the result's size (the next
/// allocation of that size reuses it), so an element left unwritten would show as NaN: the results
/// must still equal the reference loops', on the small-product kernel and on the `gemm` crate, for
/// results whose groups merge into matrices and ones that do not.
#[test]
fn gemm_route_writes_every_element_of_its_result() {
    use common::reference::{reference, views};
    use ndarray::{Array3, Ix2, Ix3};
    let dirty = |len: usize| drop(std::hint::black_box(vec![f64::NAN; len]));
    // Multiples of 1/8: every product and sum below is exact, so the results compare with `==`.
    let seeded = |shape: &[usize], seed: usize| {
        ArrayD::from_shape_fn(IxDyn(shape), |i| {
            let flat = ndarray::Dimension::slice(&i)
                .iter()
                .fold(seed, |n, &x| n * 31 + x);
            (flat % 17) as f64 / 8.0 - 1.0
        })
    };
    for (m, k, n) in [(3, 4, 5), (7, 9, 13), (40, 40, 40), (64, 8, 96)] {
        let (a, b) = (seeded(&[m, k], 1), seeded(&[k, n], 2));
        let (a2, b2) = (
            a.clone().into_dimensionality::<Ix2>().unwrap(),
            b.clone().into_dimensionality::<Ix2>().unwrap(),
        );
        for pattern in ["ij,jk->ik", "ij,jk->ki"] {
            dirty(m * n);
            let got = match pattern {
                "ij,jk->ik" => einsum!("ij,jk->ik", &a2, &b2).into_dyn(),
                _ => einsum!("ij,jk->ki", &a2, &b2).into_dyn(),
            };
            let want = reference(pattern, &views(&[a.clone(), b.clone()]));
            assert_eq!(got, want, "{pattern} with {m}x{k} times {k}x{n}");
        }
        // A batch whose result puts the batch between the rows and the columns, and a result whose
        // columns (`k`, `l`) come in the other order than `b`'s: their groups do not merge into
        // separate matrices, or not at all (the product then goes through a packed buffer).
        let (x, y) = (seeded(&[2, m, k], 3), seeded(&[2, k, n], 4));
        let (x3, y3): (Array3<f64>, Array3<f64>) = (
            x.clone().into_dimensionality::<Ix3>().unwrap(),
            y.clone().into_dimensionality::<Ix3>().unwrap(),
        );
        dirty(2 * m * n);
        let got = einsum!("bij,bjk->ibk", &x3, &y3).into_dyn();
        let want = reference("bij,bjk->ibk", &views(&[x, y.clone()]));
        assert_eq!(got, want, "bij,bjk->ibk with {m}x{k} times {k}x{n}");
        let y3 = y3
            .permuted_axes([1, 0, 2])
            .as_standard_layout()
            .into_owned();
        dirty(2 * m * n);
        let got = einsum!("ij,jkl->ilk", &a2, &y3).into_dyn();
        let want = reference("ij,jkl->ilk", &views(&[a.clone(), y3.into_dyn()]));
        assert_eq!(got, want, "ij,jkl->ilk with {m}x{k} times {k}x2x{n}");
    }
}
