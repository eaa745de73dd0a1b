//! Comparing floating-point results: the suite's one tolerance rule.
//!
//! Element `i` of `got` passes against `want` (same shape) when
//!
//! ```text
//! |got[i] - want[i]| <= max(atol, rtol * scale[i])
//! ```
//!
//! (the rule of Python's `math.isclose`): an error of at most `rtol` relative to the element's scale,
//! and at most `atol` where the scale is small. A [`Tol`] names `atol`, `rtol` and the scale:
//!
//! - `|want[i]|`, the default: a relative error per element;
//! - `max_j |want[j]|` ([`Tol::of_largest`]): relative to the largest magnitude of `want`, for arrays
//!   (e.g. from JAX fixtures) whose small elements carry the rounding of the large ones;
//! - a given scale per element ([`Tol::of`]): for an einsum result, the sum of |products| that the
//!   element adds up (`reference_abs`), which bounds the rounding of every summation order.
//!
//! `atol` is the floor: `Tol::new(1e-6, 1e-6)` allows 1e-6 where the scale is below 1. Integer
//! results are compared exactly (`assert_eq!`), never with a tolerance. Per element type, the
//! tolerance of an einsum result against the reference is `Elem::TOL`.

use std::rc::Rc;

use ndarray::{ArrayBase, ArrayD, ArrayViewD, Data, Dimension};

use super::elem::{cast, Elem};
use super::reference::{reference, reference_abs, views};

/// How far `got` may be from `want`: see the [module documentation](self).
#[derive(Debug, Clone, Copy)]
pub struct Tol<'a> {
    pub atol: f64,
    pub rtol: f64,
    pub scale: Scale<'a>,
}

/// The scale that `rtol` multiplies.
#[derive(Debug, Clone, Copy)]
pub enum Scale<'a> {
    /// `|want[i]|`.
    Want,
    /// `max_j |want[j]|`.
    Largest,
    /// One scale per element, in the logical (row-major) order of `want`.
    Given(&'a [f64]),
}

impl Tol<'static> {
    /// `|got - want| <= max(atol, rtol * |want|)`.
    pub const fn new(atol: f64, rtol: f64) -> Self {
        Tol {
            atol,
            rtol,
            scale: Scale::Want,
        }
    }

    /// `|got - want| <= atol`.
    pub const fn abs(atol: f64) -> Self {
        Tol::new(atol, 0.0)
    }

    /// `|got - want| <= rtol * |want|`.
    pub const fn rel(rtol: f64) -> Self {
        Tol::new(0.0, rtol)
    }
}

impl<'a> Tol<'a> {
    /// The same, with `rtol` relative to the largest magnitude of `want`.
    pub const fn of_largest(self) -> Self {
        Tol {
            scale: Scale::Largest,
            ..self
        }
    }

    /// The same, with `rtol` relative to `scale[i]` for element `i` (logical order).
    pub fn of(self, scale: &[f64]) -> Tol<'_> {
        Tol {
            atol: self.atol,
            rtol: self.rtol,
            scale: Scale::Given(scale),
        }
    }

    /// The largest error allowed for each element of `want`, in logical order.
    fn bounds(&self, want: &ArrayViewD<'_, f64>) -> Vec<f64> {
        let bound = |scale: f64| self.atol.max(self.rtol * scale);
        match self.scale {
            Scale::Want => want.iter().map(|w| bound(w.abs())).collect(),
            Scale::Largest => {
                let largest = want.iter().fold(0.0, |m: f64, w| m.max(w.abs()));
                vec![bound(largest); want.len()]
            }
            Scale::Given(scale) => {
                assert_eq!(scale.len(), want.len(), "one scale per element");
                scale.iter().map(|&s| bound(s)).collect()
            }
        }
    }
}

/// What [`assert_close`] compares: f64 arrays of any dimension, owned or not, or behind an `Rc` (as
/// `Var::data` returns them).
pub trait Values {
    fn values(&self) -> ArrayViewD<'_, f64>;
}

impl<S: Data<Elem = f64>, D: Dimension> Values for ArrayBase<S, D> {
    fn values(&self) -> ArrayViewD<'_, f64> {
        self.view().into_dyn()
    }
}

impl<T: Values + ?Sized> Values for Rc<T> {
    fn values(&self) -> ArrayViewD<'_, f64> {
        (**self).values()
    }
}

/// Panics with a precise message unless `got` has the shape of `want` and every element passes
/// [`Tol`]'s rule (NaN passes nothing).
#[track_caller]
pub fn assert_close(what: &str, got: &impl Values, want: &impl Values, tol: Tol<'_>) {
    let (got, want) = (got.values(), want.values());
    assert_eq!(
        got.shape(),
        want.shape(),
        "{what}: shape {:?}, expected {:?}",
        got.shape(),
        want.shape()
    );
    let bounds = tol.bounds(&want);
    for (((idx, &g), &w), &t) in got.indexed_iter().zip(want.iter()).zip(&bounds) {
        // Written so that a NaN on either side fails.
        let within = (g - w).abs() <= t;
        if !within {
            let arrays = if want.len() <= 64 {
                format!("\n got: {got}\nwant: {want}")
            } else {
                String::new()
            };
            panic!(
                "{what}: at {:?} got {g:e}, expected {w:e} (difference {:e}, tolerance {t:e}){arrays}",
                idx.slice(),
                (g - w).abs()
            );
        }
    }
}

/// The expected result of `pattern` on `ops`: exact (i64) for integer types, f64 with a per-element
/// rounding scale (sum of |products|) for floats.
pub enum Expected {
    Exact(ArrayD<i64>),
    Float(ArrayD<f64>, Vec<f64>),
}

pub fn expected<T: Elem>(pattern: &str, ops: &[ArrayD<T>]) -> Expected {
    if T::EXACT {
        let wide: Vec<ArrayD<i64>> = ops.iter().map(|a| cast(&a.view())).collect();
        Expected::Exact(reference(pattern, &views(&wide)))
    } else {
        let wide: Vec<ArrayD<f64>> = ops.iter().map(|a| cast(&a.view())).collect();
        let want = reference(pattern, &views(&wide));
        let scale = reference_abs(pattern, &views(&wide));
        Expected::Float(want, scale.iter().copied().collect())
    }
}

/// Checks a library result against [`expected`]: equal for integers, within `T::TOL` of the sum of
/// |products| for floats; the shape must match in both cases.
#[track_caller]
pub fn assert_expected<T: Elem>(what: &str, got: &ArrayD<T>, want: &Expected) {
    match want {
        Expected::Exact(want) => {
            assert_eq!(got.shape(), want.shape(), "{what}: shape");
            let got: ArrayD<i64> = cast(&got.view());
            assert_eq!(&got, want, "{what}: values (exact)");
        }
        Expected::Float(want, scale) => {
            let got: ArrayD<f64> = cast(&got.view());
            assert_close(what, &got, want, T::TOL.of(scale));
        }
    }
}

/// Compares a library result with the reference for element type `T` (inputs `ops`, logical).
#[track_caller]
pub fn compare_with_reference<T: Elem>(
    what: &str,
    pattern: &str,
    got: &ArrayD<T>,
    ops: &[ArrayD<T>],
) {
    assert_expected(what, got, &expected(pattern, ops));
}
