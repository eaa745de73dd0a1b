//! The errors of the autograd side, in one place: which error comes from where, and how the
//! panicking forms report them.
//!
//! - [`OpError`] (defined here): a shape problem in a [`Var`](super::Var) operation (`+ - * /` and the
//!   `try_` methods in `ops/`, `shape.rs` and `select.rs`), in a loss ([`loss`](crate::loss)) or in
//!   the parameters of an initializer ([`init`](crate::init)).
//! - [`EinsumError`](crate::EinsumError) (in the crate's `error.rs`): an `einsum!` whose operands
//!   include `Var`s fails exactly as one on arrays does, when the operands' extents disagree.
//! - [`GradcheckError`](super::GradcheckError) (in `gradcheck.rs`): [`gradcheck`](crate::gradcheck)
//!   found a gradient that differs from its finite-difference estimate, or a function that is not
//!   scalar.
//!
//! Every fallible operation comes in two forms: `try_x` returns the error, and `x` panics with the
//! error's message through [`unwrap_or_panic`]. Both that helper and every public panicking method are
//! `#[track_caller]`, so the panic reports the line of the user's call, not a line of this crate.
//! A panic whose message starts with "einsum-runtime internal error" is a bug in this crate.

use std::fmt;

/// A shape problem in a [`Var`](crate::Var) operation or a loss: operands that do not broadcast, an
/// axis out of range, a class label out of range, ...
///
/// The operators (`+ - * /`) and the panicking methods panic with this error's message; the `try_`
/// methods return it.
///
/// ```
/// use einsum_runtime::{OpError, Var};
/// use ndarray::{array, Array2};
///
/// let a = Var::new(Array2::<f64>::zeros((2, 3)).into_dyn());
/// let b = Var::new(array![1.0, 2.0].into_dyn());
/// let err = a.try_add(&b).unwrap_err();
/// assert!(matches!(err, OpError::Broadcast { .. }));
/// assert_eq!(
///     err.to_string(),
///     "add: shapes [2, 3] and [2] do not broadcast: extent 3 (axis 1 of the left operand) \
///      vs 2 (axis 0 of the right operand)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpError {
    /// The operands of a binary operation have shapes that do not broadcast (numpy rules: shapes are
    /// aligned on the right, and an extent of 1 stretches to the other).
    Broadcast {
        /// The operation (`"add"`, `"sub"`, `"mul"`, `"div"`).
        op: &'static str,
        /// The left operand's shape.
        lhs: Vec<usize>,
        /// The right operand's shape.
        rhs: Vec<usize>,
    },
    /// Two shapes that must be equal differ.
    ShapeMismatch {
        /// The operation (`"mse"`).
        op: &'static str,
        /// The shape required (the first operand's).
        expected: Vec<usize>,
        /// The shape given.
        found: Vec<usize>,
    },
    /// An axis is not smaller than the number of axes.
    AxisOutOfRange {
        /// The operation.
        op: &'static str,
        /// The axis asked for.
        axis: usize,
        /// The operand's number of axes.
        ndim: usize,
    },
    /// An axis is listed twice.
    RepeatedAxis {
        /// The operation.
        op: &'static str,
        /// The repeated axis.
        axis: usize,
    },
    /// An operand has the wrong number of axes.
    Rank {
        /// The operation.
        op: &'static str,
        /// The number of axes required.
        expected: usize,
        /// The operand's shape.
        shape: Vec<usize>,
    },
    /// The number of class labels differs from the batch size.
    LabelCount {
        /// The operation.
        op: &'static str,
        /// The number of labels given.
        labels: usize,
        /// The batch size (the logits' first extent).
        batch: usize,
    },
    /// A class label is not smaller than the number of classes.
    LabelOutOfRange {
        /// The operation.
        op: &'static str,
        /// The sample (row) whose label is out of range.
        sample: usize,
        /// The label.
        label: usize,
        /// The number of classes (the logits' second extent).
        classes: usize,
    },
    /// A new shape holds a different number of elements than the operand.
    ReshapeSize {
        /// The operation.
        op: &'static str,
        /// The operand's shape.
        from: Vec<usize>,
        /// The shape asked for.
        to: Vec<usize>,
    },
    /// An index (or a slice bound) is out of range for its axis. Negative values count from the end,
    /// as in ndarray's [`s!`](ndarray::s) slices.
    IndexOutOfRange {
        /// The operation.
        op: &'static str,
        /// The axis indexed.
        axis: usize,
        /// The index (or slice bound) given.
        index: isize,
        /// The axis's extent.
        extent: usize,
    },
    /// A slice has step 0.
    ZeroStep {
        /// The operation.
        op: &'static str,
        /// The axis sliced.
        axis: usize,
    },
    /// An operation on a list of operands (`concat`, `stack`) got an empty list.
    NoOperands {
        /// The operation.
        op: &'static str,
    },
    /// An operand of `concat` (or `stack`) has a shape that does not fit the first operand's: in
    /// `concat` the shapes must agree except along the axis, in `stack` they must be equal.
    OperandShape {
        /// The operation.
        op: &'static str,
        /// The position of the operand in the list.
        operand: usize,
        /// The first operand's shape.
        first: Vec<usize>,
        /// This operand's shape.
        found: Vec<usize>,
    },
    /// A shape does not broadcast to a given shape (numpy rules, in one direction: only the first
    /// shape's extents of 1 and missing leading axes stretch).
    BroadcastTo {
        /// The operation.
        op: &'static str,
        /// The shape broadcast.
        from: Vec<usize>,
        /// The target shape.
        to: Vec<usize>,
    },
    /// A maximum or minimum along an axis of extent 0.
    EmptyAxis {
        /// The operation.
        op: &'static str,
        /// The empty axis.
        axis: usize,
    },
    /// A probability outside `[0, 1]` (or `NaN`).
    Probability {
        /// The operation.
        op: &'static str,
        /// The value given, as `Display` writes it.
        p: String,
    },
    /// The parameters of a random distribution are invalid (an initializer in [`init`](crate::init)).
    Distribution {
        /// The initializer.
        op: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpError::Broadcast { op, lhs, rhs } => {
                write!(f, "{op}: shapes {lhs:?} and {rhs:?} do not broadcast")?;
                // The first clash counted from the right, as numpy aligns shapes.
                let clash = lhs
                    .iter()
                    .rev()
                    .zip(rhs.iter().rev())
                    .position(|(&a, &b)| a != b && a != 1 && b != 1);
                if let Some(k) = clash {
                    let (i, j) = (lhs.len() - 1 - k, rhs.len() - 1 - k);
                    write!(
                        f,
                        ": extent {} (axis {i} of the left operand) vs {} (axis {j} of the right operand)",
                        lhs[i], rhs[j]
                    )?;
                }
                Ok(())
            }
            OpError::ShapeMismatch {
                op,
                expected,
                found,
            } => write!(
                f,
                "{op}: shapes differ: the first operand has shape {expected:?} but the second has shape {found:?}"
            ),
            OpError::AxisOutOfRange { op, axis, ndim } => write!(
                f,
                "{op}: axis {axis} is out of range for an operand with {ndim} axes"
            ),
            OpError::RepeatedAxis { op, axis } => write!(f, "{op}: axis {axis} is listed twice"),
            OpError::Rank {
                op,
                expected,
                shape,
            } => write!(
                f,
                "{op}: expected an operand with {expected} axes, but its shape is {shape:?}"
            ),
            OpError::LabelCount { op, labels, batch } => write!(
                f,
                "{op}: {labels} labels were given for a batch of {batch} samples"
            ),
            OpError::LabelOutOfRange {
                op,
                sample,
                label,
                classes,
            } => write!(
                f,
                "{op}: label {label} of sample {sample} is out of range for {classes} classes"
            ),
            OpError::ReshapeSize { op, from, to } => write!(
                f,
                "{op}: cannot reshape an operand of shape {from:?} ({} elements) to shape {to:?} ({} elements)",
                from.iter().product::<usize>(),
                to.iter()
                    .try_fold(1usize, |n, &e| n.checked_mul(e))
                    .map_or_else(|| "too many".to_string(), |n| n.to_string())
            ),
            OpError::IndexOutOfRange {
                op,
                axis,
                index,
                extent,
            } => write!(
                f,
                "{op}: index {index} is out of range for axis {axis} of extent {extent}"
            ),
            OpError::ZeroStep { op, axis } => {
                write!(f, "{op}: the slice of axis {axis} has step 0")
            }
            OpError::NoOperands { op } => write!(f, "{op}: needs at least one operand"),
            OpError::OperandShape {
                op,
                operand,
                first,
                found,
            } => write!(
                f,
                "{op}: operand {operand} has shape {found:?}, which does not fit the first operand's shape {first:?}"
            ),
            OpError::BroadcastTo { op, from, to } => write!(
                f,
                "{op}: shape {from:?} does not broadcast to shape {to:?}"
            ),
            OpError::EmptyAxis { op, axis } => {
                write!(f, "{op}: axis {axis} is empty, so it has no extremum")
            }
            OpError::Distribution { op, message } => write!(f, "{op}: {message}"),
            OpError::Probability { op, p } => {
                write!(f, "{op}: probability {p} is not in [0, 1]")
            }
        }
    }
}

impl std::error::Error for OpError {}

/// The panicking form of every fallible operation: the value, or a panic with the error's message,
/// reported at the caller's line (through `#[track_caller]` on this helper and on the method that
/// calls it).
#[track_caller]
pub(crate) fn unwrap_or_panic<V, E: fmt::Display>(result: Result<V, E>) -> V {
    match result {
        Ok(v) => v,
        Err(e) => fail(e),
    }
}

/// The panic of [`unwrap_or_panic`]: out of line, so that it is compiled once per error type rather
/// than once per value type.
#[cold]
#[inline(never)]
#[track_caller]
fn fail<E: fmt::Display>(e: E) -> ! {
    panic!("{e}")
}
