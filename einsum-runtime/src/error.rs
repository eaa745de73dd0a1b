//! [`EinsumError`]: what `try_einsum!` returns and what `einsum!` panics with.

use std::fmt;

/// A run-time einsum failure: the operands do not fit the pattern, or the result cannot be stored.
///
/// Its `Display` names the pattern and everything needed to find the culprit, e.g.
/// `einsum "ij,jk->ik": label 'j' has extent 3 in operand 0 (axis 1) but 4 in operand 1 (axis 0)`.
///
/// ```
/// use einsum_runtime::{try_einsum, ErrorKind};
/// use ndarray::Array2;
///
/// let a = Array2::<f64>::zeros((2, 3));
/// let b = Array2::<f64>::zeros((4, 5));
/// let err = try_einsum!("ij,jk->ik", a, b).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::ExtentMismatch { label, .. } if label == "j"));
/// assert_eq!(
///     err.to_string(),
///     "einsum \"ij,jk->ik\": label 'j' has extent 3 in operand 0 (axis 1) but 4 in operand 1 (axis 0)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EinsumError(Box<Failure>);

/// What an [`EinsumError`] holds, behind one pointer: every fallible step of the generated code
/// returns a `Result<_, EinsumError>`, and a pointer-sized error keeps those results small (a
/// `Result<(), EinsumError>` fits in a register), where the unboxed 100-odd bytes were copied
/// through the stack on every call.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    pattern: String,
    kind: ErrorKind,
}

/// Where an extent was read: operand index and axis.
///
/// ```
/// use einsum_runtime::{try_einsum, AxisRef, ErrorKind};
/// use ndarray::{Array1, Array2};
///
/// let err = try_einsum!("ij,j->i", Array2::<f64>::zeros((2, 3)), Array1::<f64>::zeros(4)).unwrap_err();
/// let ErrorKind::ExtentMismatch { second, .. } = err.kind() else { panic!("{err}") };
/// assert_eq!(*second, AxisRef { operand: 1, axis: 0, extent: 4 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxisRef {
    /// Index of the operand among the macro's arguments (0-based).
    pub operand: usize,
    /// Axis of that operand (0-based).
    pub axis: usize,
    /// The axis's length.
    pub extent: usize,
}

/// What went wrong; match on it to react to a particular failure. New kinds may be added, so a
/// `match` needs a `_` arm.
///
/// ```
/// use einsum_runtime::{try_einsum, ErrorKind};
/// use ndarray::{ArrayD, IxDyn};
///
/// let v = ArrayD::<f64>::zeros(IxDyn(&[2, 3, 4]));
/// let err = try_einsum!("ij->i", v).unwrap_err();
/// let advice = match err.kind() {
///     ErrorKind::ExtentMismatch { label, .. } => format!("fix the extent of {label}"),
///     ErrorKind::RankMismatch { expected, found, .. } => format!("pass {expected} axes, not {found}"),
///     _ => err.to_string(),
/// };
/// assert_eq!(advice, "pass 2 axes, not 3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Two axes with the same label have different extents, and neither is 1.
    ExtentMismatch {
        /// The label (`"j"`), or `"..."` with the dimension number for ellipsis dimensions.
        label: String,
        /// The first axis that fixed the label's extent.
        first: AxisRef,
        /// The axis that disagrees with it.
        second: AxisRef,
    },
    /// A dynamic-rank operand has a different number of axes than its term has labels.
    RankMismatch {
        /// Index of the operand.
        operand: usize,
        /// The operand's term, as written in the pattern.
        term: String,
        /// The number of axes the term asks for.
        expected: usize,
        /// Whether the term has an ellipsis, so that `expected` is a minimum.
        at_least: bool,
        /// The number of axes the operand has.
        found: usize,
    },
    /// An array (the result or an intermediate) has more elements than can be counted or allocated.
    TooLarge {
        /// The shape that could not be allocated.
        shape: Vec<usize>,
    },
    /// A pattern parsed at run time (by [`einsum_path`](crate::einsum_path)) is malformed.
    InvalidPattern {
        /// What is wrong, e.g. "`1` is not a label: labels are `a-z` and `A-Z`".
        reason: String,
    },
    /// A different number of operands (or shapes) than the pattern has terms.
    OperandCount {
        /// The number of terms of the pattern.
        expected: usize,
        /// The number of operands given.
        found: usize,
    },
    /// The upstream gradient given to a backward closure is not shaped like the einsum's output.
    GradientShape {
        /// The output's shape.
        expected: Vec<usize>,
        /// The gradient's shape.
        found: Vec<usize>,
    },
}

impl EinsumError {
    pub(crate) fn new(pattern: &str, kind: ErrorKind) -> Self {
        EinsumError(Box::new(Failure {
            pattern: pattern.to_owned(),
            kind,
        }))
    }

    /// What went wrong.
    ///
    /// ```
    /// use einsum_runtime::{try_einsum, ErrorKind};
    /// use ndarray::Array1;
    ///
    /// let err = try_einsum!("i,i->", Array1::<f64>::zeros(2), Array1::<f64>::zeros(3)).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::ExtentMismatch { .. }));
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The pattern of the failing einsum.
    ///
    /// ```
    /// use einsum_runtime::try_einsum;
    /// use ndarray::Array1;
    ///
    /// let err = try_einsum!("i,i->", Array1::<f64>::zeros(2), Array1::<f64>::zeros(3)).unwrap_err();
    /// assert_eq!(err.pattern(), "i,i->");
    /// ```
    pub fn pattern(&self) -> &str {
        &self.0.pattern
    }
}

impl fmt::Display for EinsumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "einsum \"{}\": ", self.0.pattern)?;
        match &self.0.kind {
            ErrorKind::ExtentMismatch {
                label,
                first,
                second,
            } => write!(
                f,
                "label '{label}' has extent {} in operand {} (axis {}) but {} in operand {} (axis {})",
                first.extent, first.operand, first.axis, second.extent, second.operand, second.axis
            ),
            ErrorKind::RankMismatch {
                operand,
                term,
                expected,
                at_least,
                found,
            } => write!(
                f,
                "operand {operand} has {found} axes but its term \"{term}\" needs {}{expected}",
                if *at_least { "at least " } else { "" }
            ),
            ErrorKind::TooLarge { shape } => {
                write!(f, "an array of shape {shape:?} is too large to allocate")
            }
            ErrorKind::InvalidPattern { reason } => f.write_str(reason),
            ErrorKind::OperandCount { expected, found } => write!(
                f,
                "the pattern has {expected} terms but {found} operands were given"
            ),
            ErrorKind::GradientShape { expected, found } => write!(
                f,
                "the upstream gradient has shape {found:?} but the output has shape {expected:?}"
            ),
        }
    }
}

impl std::error::Error for EinsumError {}
