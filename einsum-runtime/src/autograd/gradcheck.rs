//! [`gradcheck`]: compares the gradients from [`Var::backward`] with central finite differences.

use std::fmt;

use ndarray::{ArrayD, Dimension};

use super::{Float, Var};

/// What [`gradcheck`] found when every gradient agreed.
///
/// ```
/// use einsum_runtime::{gradcheck, Var};
/// use ndarray::array;
///
/// let report = gradcheck(|v: &[Var<f64>]| v[0].exp().sum(), &[array![0.0, 1.0].into_dyn()], 1e-6, 1e-6)
///     .unwrap();
/// assert_eq!(report.checked, 2);
/// assert!(report.max_error < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradcheckReport<T> {
    /// The largest error over all elements of all inputs (see [`gradcheck`] for the measure).
    pub max_error: T,
    /// How many elements were checked (the total size of the inputs).
    pub checked: usize,
}

/// Why [`gradcheck`] failed.
///
/// ```
/// use einsum_runtime::{gradcheck, GradcheckError, Var};
/// use ndarray::array;
///
/// // Not a scalar: the function must reduce to one element.
/// let err = gradcheck(|v: &[Var<f64>]| v[0].exp(), &[array![0.0, 1.0].into_dyn()], 1e-6, 1e-6);
/// assert_eq!(err.unwrap_err(), GradcheckError::NotScalar { shape: vec![2] });
///
/// // A wrong derivative: this op claims d/dx (2x) = 1.
/// let wrong = |v: &[Var<f64>]| {
///     Var::from_op(v[0].data().mapv(|x| 2.0 * x), vec![v[0].clone()], |g, _| vec![Some(g.clone())])
///         .sum()
/// };
/// match gradcheck(wrong, &[array![1.0].into_dyn()], 1e-6, 1e-6) {
///     Err(GradcheckError::Mismatch { input: 0, analytic, numeric, .. }) => {
///         assert_eq!(analytic, 1.0);
///         assert!((numeric - 2.0).abs() < 1e-6);
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum GradcheckError<T> {
    /// The function's value does not have exactly one element.
    NotScalar {
        /// The value's shape.
        shape: Vec<usize>,
    },
    /// The function returned values of different shapes for different inputs.
    NotScalarAt {
        /// The input that was perturbed.
        input: usize,
        /// The perturbed element.
        index: Vec<usize>,
        /// The value's shape.
        shape: Vec<usize>,
    },
    /// An analytic gradient element differs from its finite-difference estimate by more than the
    /// tolerance (or one of them is not finite). This is the first element that failed.
    Mismatch {
        /// Which input (index into `inputs`).
        input: usize,
        /// The element's index in that input.
        index: Vec<usize>,
        /// The gradient from `backward`.
        analytic: T,
        /// The central-difference estimate.
        numeric: T,
        /// `|analytic - numeric| / max(1, |numeric|)`.
        error: T,
    },
}

impl<T: Float> fmt::Display for GradcheckError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GradcheckError::NotScalar { shape } => write!(
                f,
                "gradcheck: the function must return one element, but its value has shape {shape:?}"
            ),
            GradcheckError::NotScalarAt {
                input,
                index,
                shape,
            } => write!(
                f,
                "gradcheck: with input {input} perturbed at {index:?} the function returned shape {shape:?}, not one element"
            ),
            GradcheckError::Mismatch {
                input,
                index,
                analytic,
                numeric,
                error,
            } => write!(
                f,
                "gradcheck: input {input} at {index:?}: backward gives {analytic} but central differences give {numeric} (error {error})"
            ),
        }
    }
}

impl<T: Float> std::error::Error for GradcheckError<T> {}

/// Checks the gradients that [`Var::backward`] computes for the scalar function `f` against central
/// finite differences, at the point `inputs`.
///
/// `f` receives one `Var` per input. It is called once on tracked leaves ([`Var::new`]) and
/// backpropagated, then twice per input element on constants with that element moved by `+eps` and
/// `-eps`, giving the estimate `(f(x + eps) - f(x - eps)) / (2 eps)`. Each element's error is
/// `|analytic - numeric| / max(1, |numeric|)` (absolute for small gradients, relative for large ones);
/// an input that `f` does not use has gradient zero.
///
/// Reasonable settings: `eps = 1e-6, tol = 1e-6` for `f64`; `eps = 1e-2, tol = 1e-2` for `f32`.
/// The cost is `2 n + 1` evaluations for `n` input elements: meant for tests on small inputs.
///
/// ```
/// use einsum_runtime::{einsum, gradcheck, Var};
/// use ndarray::array;
///
/// let x = array![[0.5, -1.0], [2.0, 0.25]].into_dyn();
/// let w = array![0.3, -0.7].into_dyn();
/// let f = |v: &[Var<f64>]| einsum!("ij,j->i", v[0], v[1]).tanh().sum();
/// let report = gradcheck(f, &[x, w], 1e-6, 1e-6).unwrap();
/// assert_eq!(report.checked, 6);
/// assert!(report.max_error < 1e-6);
///
/// // A wrong derivative is caught: this op claims d/dx x^2 = x.
/// let wrong = |v: &[Var<f64>]| {
///     let value = v[0].data().mapv(|x| x * x);
///     Var::from_op(value, vec![v[0].clone()], |g, p| vec![Some(g * &*p[0].data())]).sum()
/// };
/// assert!(gradcheck(wrong, &[array![3.0].into_dyn()], 1e-6, 1e-6).is_err());
/// ```
///
/// # Errors
/// [`GradcheckError::Mismatch`] for the first element whose error exceeds `tol` (or is `NaN`);
/// [`GradcheckError::NotScalar`] if `f`'s value does not have exactly one element.
pub fn gradcheck<T: Float>(
    f: impl Fn(&[Var<T>]) -> Var<T>,
    inputs: &[ArrayD<T>],
    eps: T,
    tol: T,
) -> Result<GradcheckReport<T>, GradcheckError<T>> {
    let leaves: Vec<Var<T>> = inputs.iter().cloned().map(Var::new).collect();
    let out = f(&leaves);
    let shape = out.shape();
    if shape.iter().product::<usize>() != 1 {
        return Err(GradcheckError::NotScalar { shape });
    }
    out.backward();

    let mut report = GradcheckReport {
        max_error: T::zero(),
        checked: 0,
    };
    let two_eps = eps + eps;
    for (k, (leaf, x)) in leaves.iter().zip(inputs).enumerate() {
        let analytic = leaf.grad().unwrap_or_else(|| ArrayD::zeros(x.raw_dim()));
        // The other inputs stay fixed, as constants: no graph is recorded for these evaluations.
        let mut point: Vec<Var<T>> = inputs.iter().cloned().map(Var::constant).collect();
        for (index, &a) in analytic.indexed_iter() {
            let mut eval = |delta: T| {
                let mut moved = x.clone();
                moved[&index] = moved[&index] + delta;
                point[k] = Var::constant(moved);
                let y = f(&point);
                let y = y.data();
                if y.len() == 1 {
                    Ok(*y.iter().next().expect("one element"))
                } else {
                    Err(GradcheckError::NotScalarAt {
                        input: k,
                        index: index.slice().to_vec(),
                        shape: y.shape().to_vec(),
                    })
                }
            };
            let numeric = (eval(eps)? - eval(-eps)?) / two_eps;
            let error = (a - numeric).abs() / numeric.abs().max(T::one());
            // A NaN error (from a NaN or infinite gradient) fails too.
            if error.is_nan() || error > tol {
                return Err(GradcheckError::Mismatch {
                    input: k,
                    index: index.slice().to_vec(),
                    analytic: a,
                    numeric,
                    error,
                });
            }
            report.max_error = report.max_error.max(error);
            report.checked += 1;
        }
    }
    Ok(report)
}
