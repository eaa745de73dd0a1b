//! Loss functions: scalar (0-d) [`Var`]s to call [`backward`](Var::backward) on.
//!
//! ```
//! use einsum_runtime::{loss, Var};
//! use ndarray::array;
//!
//! let pred = Var::new(array![1.0, 2.0].into_dyn());
//! let l = loss::mse(&pred, array![1.0, 4.0]);
//! assert_eq!(l.item(), 2.0); // (0^2 + 2^2) / 2
//! l.backward();
//! assert_eq!(pred.grad().unwrap(), array![0.0, -2.0].into_dyn()); // 2 (pred - target) / n
//! ```

use ndarray::{arr0, Axis};

use super::error::{unwrap_or_panic, OpError};
use super::ops::{count_to_float, softmax_values, IntoVar};
use super::{Float, Var};

/// The mean squared error `mean((pred - target)^2)` over all elements, as a 0-d `Var`; `target` is a
/// `Var` (gradients flow into it too) or an array (a constant), with exactly `pred`'s shape.
///
/// Derivative: `d mse / d pred_i = 2 (pred_i - target_i) / n` for `n` elements (and the negation for
/// `target`).
///
/// Shapes must be equal rather than broadcast: a `(n, 1)` prediction against an `(n,)` target would
/// otherwise silently compare every prediction with every target.
///
/// ```
/// use einsum_runtime::{loss::mse, Var};
/// use ndarray::array;
///
/// let pred = Var::new(array![[0.5], [1.5]].into_dyn());
/// let target = Var::new(array![[1.0], [1.0]].into_dyn());
/// let l = mse(&pred, &target);
/// assert_eq!(l.item(), 0.25);
/// l.backward();
/// assert_eq!(pred.grad().unwrap(), array![[-0.5], [0.5]].into_dyn());
/// assert_eq!(target.grad().unwrap(), array![[0.5], [-0.5]].into_dyn());
/// ```
///
/// # Panics
/// If the shapes differ, naming both; [`try_mse`] returns the error instead.
#[track_caller]
pub fn mse<T: Float>(pred: &Var<T>, target: impl IntoVar<T>) -> Var<T> {
    unwrap_or_panic(try_mse(pred, target))
}

/// [`mse`], returning an error instead of panicking.
///
/// ```
/// use einsum_runtime::{loss::try_mse, OpError, Var};
/// use ndarray::array;
///
/// let pred = Var::new(array![[1.0], [2.0]].into_dyn());
/// let err = try_mse(&pred, array![1.0, 2.0]).unwrap_err();
/// assert!(matches!(err, OpError::ShapeMismatch { .. }));
/// assert_eq!(
///     err.to_string(),
///     "mse: shapes differ: the first operand has shape [2, 1] but the second has shape [2]"
/// );
/// ```
///
/// # Errors
/// [`OpError::ShapeMismatch`] if `target`'s shape differs from `pred`'s.
pub fn try_mse<T: Float>(pred: &Var<T>, target: impl IntoVar<T>) -> Result<Var<T>, OpError> {
    let target = target.into_var();
    let (expected, found) = (pred.shape(), target.shape());
    if expected != found {
        return Err(OpError::ShapeMismatch {
            op: "mse",
            expected,
            found,
        });
    }
    Ok(pred.try_sub(&target)?.powi(2).mean())
}

/// The cross-entropy of class scores `logits` (shape `(batch, classes)`, unnormalized) against class
/// indices `labels` (one per row), averaged over the batch, as a 0-d `Var`:
/// `-(1/B) sum_b log_softmax(logits)[b, labels[b]]`. The log-softmax is computed stably (the row
/// maximum is subtracted first). An empty batch gives `NaN`.
///
/// Derivative: `d loss / d logits[b, k] = (softmax(logits)[b, k] - [k == labels[b]]) / B`.
///
/// ```
/// use einsum_runtime::{loss::cross_entropy, Var};
/// use ndarray::array;
///
/// // Two classes with equal scores: probability 1/2 each, loss ln 2.
/// let logits = Var::new(array![[0.0, 0.0], [3.0, 3.0]].into_dyn());
/// let l = cross_entropy(&logits, &[0, 1]);
/// assert!((l.item() - 2f64.ln()).abs() < 1e-12);
/// l.backward();
/// // (softmax - one_hot) / batch
/// assert_eq!(logits.grad().unwrap(), array![[-0.25, 0.25], [0.25, -0.25]].into_dyn());
/// ```
///
/// # Panics
/// If `logits` is not 2-d, if the number of labels differs from the batch size, or if a label is not
/// smaller than the number of classes; [`try_cross_entropy`] returns the error instead.
#[track_caller]
pub fn cross_entropy<T: Float>(logits: &Var<T>, labels: &[usize]) -> Var<T> {
    unwrap_or_panic(try_cross_entropy(logits, labels))
}

/// [`cross_entropy`], returning an error instead of panicking.
///
/// ```
/// use einsum_runtime::{loss::try_cross_entropy, OpError, Var};
/// use ndarray::Array2;
///
/// let logits = Var::new(Array2::<f64>::zeros((2, 3)).into_dyn());
/// let err = try_cross_entropy(&logits, &[0, 3]).unwrap_err();
/// assert_eq!(err, OpError::LabelOutOfRange { op: "cross_entropy", sample: 1, label: 3, classes: 3 });
/// assert_eq!(
///     err.to_string(),
///     "cross_entropy: label 3 of sample 1 is out of range for 3 classes"
/// );
/// assert!(matches!(try_cross_entropy(&logits, &[0]), Err(OpError::LabelCount { .. })));
/// ```
///
/// # Errors
/// [`OpError::Rank`], [`OpError::LabelCount`] or [`OpError::LabelOutOfRange`].
pub fn try_cross_entropy<T: Float>(logits: &Var<T>, labels: &[usize]) -> Result<Var<T>, OpError> {
    const OP: &str = "cross_entropy";
    let shape = logits.shape();
    let &[batch, classes] = shape.as_slice() else {
        return Err(OpError::Rank {
            op: OP,
            expected: 2,
            shape,
        });
    };
    if labels.len() != batch {
        return Err(OpError::LabelCount {
            op: OP,
            labels: labels.len(),
            batch,
        });
    }
    if let Some((sample, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
        return Err(OpError::LabelOutOfRange {
            op: OP,
            sample,
            label,
            classes,
        });
    }
    // Fused: log_softmax, pick, mean. The backward pass needs the softmax, so the log-softmax is kept
    // (one array the size of the logits) instead of being recomputed.
    let log_p = softmax_values(&logits.data(), 1, true);
    let n: T = count_to_float(batch);
    let total = labels
        .iter()
        .enumerate()
        .fold(T::zero(), |s, (b, &l)| s - log_p[[b, l]]);
    let labels = labels.to_vec();
    Ok(Var::from_op(
        arr0(total / n).into_dyn(),
        vec![logits.clone()],
        move |g, _| {
            let scale = *g.first().expect("a 0-d gradient has one element") / n;
            let mut gx = log_p.mapv(|lp| lp.exp() * scale);
            for (mut row, &l) in gx.axis_iter_mut(Axis(0)).zip(&labels) {
                row[[l]] = row[[l]] - scale;
            }
            vec![Some(gx)]
        },
    ))
}
