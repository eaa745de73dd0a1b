//! Elementwise, arithmetic and reduction operations on [`Var`], each defined together with its
//! backward rule.
//!
//! Every operation states its derivative in its doc comment. Backward closures compute the
//! vector-Jacobian product directly (elementwise products, sums over broadcast axes); no Jacobian is
//! formed. Operations whose derivative is cheapest in terms of their output (`sigmoid`, `tanh`, `exp`,
//! `sqrt`, `softmax`, `log_softmax`) keep a copy of the output in the backward closure, and only when
//! the input needs a gradient: that trades one array of memory for not recomputing the function.

use std::fmt;

use ndarray::{arr0, ArrayBase, ArrayD, Axis, Data, Dimension, IxDyn, Zip};

use super::{Float, Var};

/// A shape problem in a [`Var`] operation or a loss: operands that do not broadcast, an axis out of
/// range, a class label out of range, ...
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

/// What can be the right operand of `+ - * /` on a [`Var`] (and the target of
/// [`mse`](crate::loss::mse)): a `Var`, a scalar of the element type, or any ndarray array or view (or
/// a reference to one). Arrays and scalars become constants: no gradient flows into them.
///
/// ```
/// use einsum_runtime::{IntoVar, Var};
/// use ndarray::array;
///
/// let c: Var<f64> = array![1.0, 2.0].into_var();
/// assert!(!c.requires_grad());
/// let s: Var<f32> = 2.0f32.into_var();
/// assert_eq!(s.shape(), Vec::<usize>::new());
/// ```
pub trait IntoVar<T: Float> {
    /// Converts to a `Var`: a `Var` is shared (cheap), arrays are copied into a constant (owned arrays
    /// are moved), a scalar becomes a 0-d constant.
    fn into_var(self) -> Var<T>;
}

impl<T: Float> IntoVar<T> for Var<T> {
    fn into_var(self) -> Var<T> {
        self
    }
}

impl<T: Float> IntoVar<T> for &Var<T> {
    fn into_var(self) -> Var<T> {
        self.clone()
    }
}

impl<T: Float> IntoVar<T> for T {
    fn into_var(self) -> Var<T> {
        Var::constant(arr0(self).into_dyn())
    }
}

impl<T: Float, S: Data<Elem = T>, D: Dimension> IntoVar<T> for ArrayBase<S, D> {
    fn into_var(self) -> Var<T> {
        Var::constant(self.into_owned().into_dyn())
    }
}

impl<T: Float, S: Data<Elem = T>, D: Dimension> IntoVar<T> for &ArrayBase<S, D> {
    fn into_var(self) -> Var<T> {
        Var::constant(self.to_owned().into_dyn())
    }
}

/// The panicking form of every fallible operation: the value, or a panic with the error's message,
/// reported at the caller's line (through `#[track_caller]` on this helper and on the method).
#[track_caller]
pub(crate) fn unwrap_op<V>(result: Result<V, OpError>) -> V {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// `n` as a float (exact for `f64` up to 2^53; rounded for larger `n` or `f32`).
pub(crate) fn cast<T: Float>(n: usize) -> T {
    T::from(n).expect("einsum-runtime internal error: a usize converts to a float")
}

/// The shape that `lhs` and `rhs` broadcast to (numpy rules).
pub(crate) fn broadcast_shape(
    op: &'static str,
    lhs: &[usize],
    rhs: &[usize],
) -> Result<Vec<usize>, OpError> {
    let n = lhs.len().max(rhs.len());
    let extent = |s: &[usize], k: usize| {
        // Axis k of the result (counted from the left) is axis k - (n - s.len()) of s.
        (k + s.len()).checked_sub(n).map_or(1, |i| s[i])
    };
    (0..n)
        .map(|k| match (extent(lhs, k), extent(rhs, k)) {
            (a, b) if a == b || b == 1 => Ok(a),
            (1, b) => Ok(b),
            _ => Err(OpError::Broadcast {
                op,
                lhs: lhs.to_vec(),
                rhs: rhs.to_vec(),
            }),
        })
        .collect()
}

/// Sums `g` (shaped like a broadcast result) back to `shape`: over the leading axes that `shape` lacks
/// and over the axes where `shape` has extent 1. This is the adjoint of broadcasting.
pub(crate) fn sum_to<T: Float>(g: ArrayD<T>, shape: &[usize]) -> ArrayD<T> {
    if g.shape() == shape {
        return g;
    }
    let mut r = g;
    while r.ndim() > shape.len() {
        r = r.sum_axis(Axis(0));
    }
    for (i, &n) in shape.iter().enumerate() {
        if n == 1 && r.shape()[i] != 1 {
            r = r.sum_axis(Axis(i)).insert_axis(Axis(i));
        }
    }
    debug_assert_eq!(r.shape(), shape);
    r
}

pub(crate) fn check_axis(op: &'static str, axis: usize, ndim: usize) -> Result<(), OpError> {
    if axis < ndim {
        Ok(())
    } else {
        Err(OpError::AxisOutOfRange { op, axis, ndim })
    }
}

/// An elementwise binary operation with numpy broadcasting: `f` is the operation, `da` and `db` its
/// partial derivatives with respect to the left and right operand, at `(a, b)`.
fn binary<T: Float>(
    op: &'static str,
    a: &Var<T>,
    b: &Var<T>,
    f: fn(T, T) -> T,
    da: fn(T, T) -> T,
    db: fn(T, T) -> T,
) -> Result<Var<T>, OpError> {
    let value = {
        let (x, y) = (a.data(), b.data());
        let shape = IxDyn(&broadcast_shape(op, x.shape(), y.shape())?);
        let x = x.broadcast(shape.clone()).expect("checked broadcast");
        let y = y.broadcast(shape).expect("checked broadcast");
        Zip::from(&x).and(&y).map_collect(|&x, &y| f(x, y))
    };
    Ok(Var::from_op(
        value,
        vec![a.clone(), b.clone()],
        move |g, parents| {
            let (x, y) = (parents[0].data(), parents[1].data());
            let xb = x
                .broadcast(g.raw_dim())
                .expect("einsum-runtime internal error: operand broadcasts to its result");
            let yb = y
                .broadcast(g.raw_dim())
                .expect("einsum-runtime internal error: operand broadcasts to its result");
            let part = |d: fn(T, T) -> T, shape: &[usize]| {
                let full = Zip::from(g)
                    .and(&xb)
                    .and(&yb)
                    .map_collect(|&g, &x, &y| g * d(x, y));
                sum_to(full, shape)
            };
            vec![
                parents[0].requires_grad().then(|| part(da, x.shape())),
                parents[1].requires_grad().then(|| part(db, y.shape())),
            ]
        },
    ))
}

/// An elementwise function whose derivative is computed from the input: `df(x)` is `f'(x)`.
fn unary<T: Float>(x: &Var<T>, f: impl Fn(T) -> T, df: impl Fn(T) -> T + 'static) -> Var<T> {
    let value = x.data().mapv(f);
    Var::from_op(value, vec![x.clone()], move |g, parents| {
        let x = parents[0].data();
        vec![Some(Zip::from(g).and(x).map_collect(|&g, &x| g * df(x)))]
    })
}

/// An elementwise function whose derivative is computed from the output: `df(y)` is `f'(x)` where
/// `y = f(x)`. The output is kept for the backward pass only if the input needs a gradient.
fn unary_from_output<T: Float>(x: &Var<T>, f: impl Fn(T) -> T, df: fn(T) -> T) -> Var<T> {
    let value = x.data().mapv(f);
    if !x.records() {
        return Var::constant(value);
    }
    let y = value.clone();
    Var::from_op(value, vec![x.clone()], move |g, _| {
        vec![Some(Zip::from(g).and(&y).map_collect(|&g, &y| g * df(y)))]
    })
}

/// Sums `x` over `axes` (all distinct, in range), dropping them.
fn sum_over<T: Float>(x: &ArrayD<T>, axes: &[usize]) -> ArrayD<T> {
    let mut sorted = axes.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a)); // from the last, so earlier indices stay valid
    let mut r = x.clone();
    for &a in &sorted {
        r = r.sum_axis(Axis(a));
    }
    r
}

pub(crate) fn check_axes(op: &'static str, axes: &[usize], ndim: usize) -> Result<(), OpError> {
    for (k, &axis) in axes.iter().enumerate() {
        check_axis(op, axis, ndim)?;
        if axes[..k].contains(&axis) {
            return Err(OpError::RepeatedAxis { op, axis });
        }
    }
    Ok(())
}

/// Along each lane of `axis`: the stable softmax `e^(x - max) / sum(e^(x - max))`, or (for `log`) the
/// stable log-softmax `(x - max) - ln(sum(e^(x - max)))`. The maximum is subtracted first and never
/// added back, so large inputs (1000.0) neither overflow nor lose digits.
pub(crate) fn softmax_values<T: Float>(x: &ArrayD<T>, axis: usize, log: bool) -> ArrayD<T> {
    let mut y = x.clone();
    for mut lane in y.lanes_mut(Axis(axis)) {
        let m = lane.fold(T::neg_infinity(), |m, &v| m.max(v));
        // An all -inf (or +inf) lane has no finite maximum; shifting by 0 keeps exp(-inf) = 0.
        let m = if m.is_finite() { m } else { T::zero() };
        lane.mapv_inplace(|v| v - m);
        let total = lane.fold(T::zero(), |s, &v| s + v.exp());
        if log {
            let ln_total = total.ln();
            lane.mapv_inplace(|v| v - ln_total);
        } else {
            lane.mapv_inplace(|v| v.exp() / total);
        }
    }
    y
}

impl<T: Float> Var<T> {
    /// The value of a one-element `Var` (a loss, say), whatever its number of axes.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![1.0, 2.0, 3.0].into_dyn());
    /// assert_eq!(x.sum().item(), 6.0);
    /// ```
    ///
    /// # Panics
    /// If the value does not have exactly one element.
    #[track_caller]
    pub fn item(&self) -> T {
        let data = self.data();
        assert!(
            data.len() == 1,
            "item() needs a value with exactly one element, but this one has shape {:?}",
            data.shape()
        );
        *data.iter().next().expect("one element")
    }

    /// The logistic sigmoid, elementwise: `s(x) = 1 / (1 + e^-x)`, computed without overflow for large
    /// `|x|`.
    ///
    /// Derivative: `s'(x) = s(x) (1 - s(x))`, computed from the output.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![0.0, 1000.0, -1000.0].into_dyn());
    /// let s = x.sigmoid();
    /// assert_eq!(*s.data(), array![0.5, 1.0, 0.0].into_dyn());
    /// s.sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![0.25, 0.0, 0.0].into_dyn());
    /// ```
    pub fn sigmoid(&self) -> Var<T> {
        unary_from_output(
            self,
            |x| {
                if x >= T::zero() {
                    T::one() / (T::one() + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (T::one() + e)
                }
            },
            |s| s * (T::one() - s),
        )
    }

    /// The hyperbolic tangent, elementwise.
    ///
    /// Derivative: `tanh'(x) = 1 - tanh(x)^2`, computed from the output.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![0.0, 0.5].into_dyn());
    /// let y = x.tanh();
    /// y.sum().backward();
    /// let t = 0.5f64.tanh();
    /// assert_eq!(x.grad().unwrap(), array![1.0, 1.0 - t * t].into_dyn());
    /// ```
    pub fn tanh(&self) -> Var<T> {
        unary_from_output(self, T::tanh, |t| T::one() - t * t)
    }

    /// The rectifier `max(x, 0)`, elementwise.
    ///
    /// Derivative: `1` where `x > 0`, else `0` (also at `x = 0`, as PyTorch does).
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![-1.0, 0.0, 2.0].into_dyn());
    /// let y = x.relu();
    /// assert_eq!(*y.data(), array![0.0, 0.0, 2.0].into_dyn());
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![0.0, 0.0, 1.0].into_dyn());
    /// ```
    pub fn relu(&self) -> Var<T> {
        unary(
            self,
            |x| if x > T::zero() { x } else { T::zero() },
            |x| if x > T::zero() { T::one() } else { T::zero() },
        )
    }

    /// The exponential `e^x`, elementwise.
    ///
    /// Derivative: `d e^x / dx = e^x`, the output itself.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![0.0, 1.0].into_dyn());
    /// x.exp().sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![1.0, 1f64.exp()].into_dyn());
    /// ```
    pub fn exp(&self) -> Var<T> {
        unary_from_output(self, T::exp, |y| y)
    }

    /// The natural logarithm, elementwise (`NaN` for negative inputs, `-inf` at 0).
    ///
    /// Derivative: `d ln(x) / dx = 1 / x`.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![1.0, 4.0].into_dyn());
    /// x.ln().sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![1.0, 0.25].into_dyn());
    /// ```
    pub fn ln(&self) -> Var<T> {
        unary(self, T::ln, |x| x.recip())
    }

    /// The negation `-x` (also available as the unary `-` operator).
    ///
    /// Derivative: `d(-x)/dx = -1`.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![1.0, -2.0].into_dyn());
    /// let y = x.neg();
    /// assert_eq!(*y.data(), array![-1.0, 2.0].into_dyn());
    /// (-&x).sum().backward(); // the operator form
    /// assert_eq!(x.grad().unwrap(), array![-1.0, -1.0].into_dyn());
    /// ```
    #[allow(clippy::should_implement_trait)] // std::ops::Neg is implemented too; this is the method form
    pub fn neg(&self) -> Var<T> {
        Var::from_op(self.data().mapv(|x| -x), vec![self.clone()], |g, _| {
            vec![Some(g.mapv(|g| -g))]
        })
    }

    /// The integer power `x^n`, elementwise.
    ///
    /// Derivative: `d x^n / dx = n x^(n-1)` (and `0` for `n = 0`).
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![2.0, -3.0].into_dyn());
    /// let y = x.powi(3);
    /// assert_eq!(*y.data(), array![8.0, -27.0].into_dyn());
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![12.0, 27.0].into_dyn()); // 3 x^2
    /// ```
    pub fn powi(&self, n: i32) -> Var<T> {
        let nf: T = T::from(n).expect("an i32 converts to a float");
        unary(
            self,
            move |x| x.powi(n),
            move |x| {
                if n == 0 {
                    T::zero()
                } else {
                    nf * x.powi(n - 1)
                }
            },
        )
    }

    /// The square root, elementwise (`NaN` for negative inputs).
    ///
    /// Derivative: `d sqrt(x) / dx = 1 / (2 sqrt(x))`, computed from the output (`inf` at 0).
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![4.0, 16.0].into_dyn());
    /// x.sqrt().sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![0.25, 0.125].into_dyn());
    /// ```
    pub fn sqrt(&self) -> Var<T> {
        unary_from_output(self, T::sqrt, |y| (y + y).recip())
    }

    /// `self + rhs` with numpy broadcasting; `rhs` is a `Var`, an array or a scalar (see [`IntoVar`]).
    /// The `+` operator panics with this error's message.
    ///
    /// Derivative: `d(a + b)/da = d(a + b)/db = 1`; the upstream gradient is summed over the axes
    /// each operand was broadcast along, back to the operand's shape.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::{array, Array2};
    ///
    /// let a = Var::new(Array2::<f64>::zeros((2, 3)).into_dyn());
    /// let b = Var::new(array![1.0, 2.0, 3.0].into_dyn());
    /// let c = a.try_add(&b).unwrap();
    /// assert_eq!(c.shape(), vec![2, 3]);
    /// c.sum().backward();
    /// assert_eq!(b.grad().unwrap(), array![2.0, 2.0, 2.0].into_dyn()); // summed over the 2 rows
    /// assert!(a.try_add(array![1.0, 2.0]).is_err());
    /// ```
    ///
    /// # Errors
    /// [`OpError::Broadcast`] if the shapes do not broadcast.
    pub fn try_add(&self, rhs: impl IntoVar<T>) -> Result<Var<T>, OpError> {
        binary(
            "add",
            self,
            &rhs.into_var(),
            |a, b| a + b,
            |_, _| T::one(),
            |_, _| T::one(),
        )
    }

    /// `self - rhs` with numpy broadcasting (the `-` operator panics with this error's message).
    ///
    /// Derivative: `d(a - b)/da = 1`, `d(a - b)/db = -1`, summed back over broadcast axes.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let a = Var::new(array![[1.0, 2.0], [3.0, 4.0]].into_dyn());
    /// let b = Var::new(array![[1.0], [2.0]].into_dyn());
    /// let c = a.try_sub(&b).unwrap();
    /// assert_eq!(*c.data(), array![[0.0, 1.0], [1.0, 2.0]].into_dyn());
    /// c.sum().backward();
    /// assert_eq!(b.grad().unwrap(), array![[-2.0], [-2.0]].into_dyn());
    /// ```
    ///
    /// # Errors
    /// [`OpError::Broadcast`] if the shapes do not broadcast.
    pub fn try_sub(&self, rhs: impl IntoVar<T>) -> Result<Var<T>, OpError> {
        binary(
            "sub",
            self,
            &rhs.into_var(),
            |a, b| a - b,
            |_, _| T::one(),
            |_, _| -T::one(),
        )
    }

    /// `self * rhs` elementwise with numpy broadcasting (the `*` operator panics with this error's
    /// message).
    ///
    /// Derivative: `d(ab)/da = b`, `d(ab)/db = a`, summed back over broadcast axes.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let a = Var::new(array![1.0, 2.0].into_dyn());
    /// let b = Var::new(array![3.0, 4.0].into_dyn());
    /// a.try_mul(&b).unwrap().sum().backward();
    /// assert_eq!(a.grad().unwrap(), array![3.0, 4.0].into_dyn());
    /// assert_eq!(b.grad().unwrap(), array![1.0, 2.0].into_dyn());
    /// ```
    ///
    /// # Errors
    /// [`OpError::Broadcast`] if the shapes do not broadcast.
    pub fn try_mul(&self, rhs: impl IntoVar<T>) -> Result<Var<T>, OpError> {
        binary(
            "mul",
            self,
            &rhs.into_var(),
            |a, b| a * b,
            |_, b| b,
            |a, _| a,
        )
    }

    /// `self / rhs` elementwise with numpy broadcasting (the `/` operator panics with this error's
    /// message).
    ///
    /// Derivative: `d(a/b)/da = 1/b`, `d(a/b)/db = -a/b^2`, summed back over broadcast axes.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let a = Var::new(array![1.0, 6.0].into_dyn());
    /// let b = Var::new(array![2.0].into_dyn());
    /// a.try_div(&b).unwrap().sum().backward();
    /// assert_eq!(a.grad().unwrap(), array![0.5, 0.5].into_dyn());
    /// assert_eq!(b.grad().unwrap(), array![-7.0 / 4.0].into_dyn()); // -(1 + 6) / 2^2
    /// ```
    ///
    /// # Errors
    /// [`OpError::Broadcast`] if the shapes do not broadcast.
    pub fn try_div(&self, rhs: impl IntoVar<T>) -> Result<Var<T>, OpError> {
        binary(
            "div",
            self,
            &rhs.into_var(),
            |a, b| a / b,
            |_, b| b.recip(),
            |a, b| -a / (b * b),
        )
    }

    /// The sum of all elements, as a 0-d `Var`.
    ///
    /// Derivative: `d sum(x) / dx_i = 1`: the upstream gradient is broadcast to `x`'s shape.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1.0, 2.0], [3.0, 4.0]].into_dyn());
    /// let s = x.sum();
    /// assert_eq!(s.shape(), Vec::<usize>::new());
    /// assert_eq!(s.item(), 10.0);
    /// s.backward();
    /// assert_eq!(x.grad().unwrap(), array![[1.0, 1.0], [1.0, 1.0]].into_dyn());
    /// ```
    pub fn sum(&self) -> Var<T> {
        let value = arr0(self.data().sum()).into_dyn();
        Var::from_op(value, vec![self.clone()], |g, parents| {
            let g = *g.first().expect("a 0-d gradient has one element");
            vec![Some(ArrayD::from_elem(parents[0].data().raw_dim(), g))]
        })
    }

    /// The mean of all elements, as a 0-d `Var` (`NaN` for an empty array).
    ///
    /// Derivative: `d mean(x) / dx_i = 1 / n` for `n` elements.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![1.0, 2.0, 3.0, 6.0].into_dyn());
    /// let m = x.mean();
    /// assert_eq!(m.item(), 3.0);
    /// m.backward();
    /// assert_eq!(x.grad().unwrap(), array![0.25, 0.25, 0.25, 0.25].into_dyn());
    /// ```
    pub fn mean(&self) -> Var<T> {
        let n: T = cast(self.data().len());
        let value = arr0(self.data().sum() / n).into_dyn();
        Var::from_op(value, vec![self.clone()], move |g, parents| {
            let g = *g.first().expect("a 0-d gradient has one element");
            vec![Some(ArrayD::from_elem(parents[0].data().raw_dim(), g / n))]
        })
    }

    /// The sum over `axes`, which are removed from the shape (numpy's `keepdims=False`); an empty list
    /// sums nothing.
    ///
    /// Derivative: `1` for every summed element: the upstream gradient gets the summed axes back
    /// (extent 1) and is broadcast along them.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].into_dyn());
    /// let rows = x.sum_axes(&[1]);
    /// assert_eq!(*rows.data(), array![6.0, 15.0].into_dyn());
    /// rows.backward_with(array![1.0, 10.0].into_dyn());
    /// assert_eq!(x.grad().unwrap(), array![[1.0, 1.0, 1.0], [10.0, 10.0, 10.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If an axis is out of range or listed twice; [`try_sum_axes`](Var::try_sum_axes) returns the
    /// error instead.
    #[track_caller]
    pub fn sum_axes(&self, axes: &[usize]) -> Var<T> {
        unwrap_op(self.try_sum_axes(axes))
    }

    /// [`sum_axes`](Var::sum_axes), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::Array2;
    ///
    /// let x = Var::new(Array2::<f64>::ones((2, 3)).into_dyn());
    /// assert_eq!(x.try_sum_axes(&[0, 1]).unwrap().item(), 6.0);
    /// assert!(matches!(x.try_sum_axes(&[2]), Err(OpError::AxisOutOfRange { axis: 2, ndim: 2, .. })));
    /// assert!(matches!(x.try_sum_axes(&[1, 1]), Err(OpError::RepeatedAxis { axis: 1, .. })));
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`] or [`OpError::RepeatedAxis`].
    pub fn try_sum_axes(&self, axes: &[usize]) -> Result<Var<T>, OpError> {
        self.reduce_axes("sum_axes", axes, false, false)
    }

    /// The mean over `axes`, which are removed from the shape; `NaN` where a summed axis is empty.
    ///
    /// Derivative: `1 / m` for every averaged element, where `m` is the product of the axes' extents.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].into_dyn());
    /// let cols = x.mean_axes(&[0]);
    /// assert_eq!(*cols.data(), array![2.5, 3.5, 4.5].into_dyn());
    /// cols.sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If an axis is out of range or listed twice; [`try_mean_axes`](Var::try_mean_axes) returns the
    /// error instead.
    #[track_caller]
    pub fn mean_axes(&self, axes: &[usize]) -> Var<T> {
        unwrap_op(self.try_mean_axes(axes))
    }

    /// [`mean_axes`](Var::mean_axes), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::Array2;
    ///
    /// let x = Var::new(Array2::<f64>::ones((2, 3)).into_dyn());
    /// assert_eq!(x.try_mean_axes(&[1]).unwrap().shape(), vec![2]);
    /// assert!(x.try_mean_axes(&[3]).is_err());
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`] or [`OpError::RepeatedAxis`].
    pub fn try_mean_axes(&self, axes: &[usize]) -> Result<Var<T>, OpError> {
        self.reduce_axes("mean_axes", axes, true, false)
    }

    /// The sum over `axes`, which stay in the shape with extent 1 (numpy's `keepdims=True`, PyTorch's
    /// `keepdim=True`), so the result broadcasts against the input.
    ///
    /// Derivative: `1` for every summed element: the upstream gradient (with the axes already at
    /// extent 1) is broadcast along them.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let rows = x.sum_axes_keepdim(&[1]);
    /// assert_eq!(*rows.data(), array![[6.0], [15.0]].into_dyn());
    /// rows.backward_with(array![[1.0], [10.0]]);
    /// assert_eq!(x.grad().unwrap(), array![[1.0, 1.0, 1.0], [10.0, 10.0, 10.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If an axis is out of range or listed twice; [`try_sum_axes_keepdim`](Var::try_sum_axes_keepdim)
    /// returns the error instead.
    #[track_caller]
    pub fn sum_axes_keepdim(&self, axes: &[usize]) -> Var<T> {
        unwrap_op(self.try_sum_axes_keepdim(axes))
    }

    /// [`sum_axes_keepdim`](Var::sum_axes_keepdim), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::Array3;
    ///
    /// let x = Var::new(Array3::<f64>::ones((2, 3, 4)));
    /// assert_eq!(x.try_sum_axes_keepdim(&[0, 2]).unwrap().shape(), vec![1, 3, 1]);
    /// assert!(matches!(x.try_sum_axes_keepdim(&[3]), Err(OpError::AxisOutOfRange { .. })));
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`] or [`OpError::RepeatedAxis`].
    pub fn try_sum_axes_keepdim(&self, axes: &[usize]) -> Result<Var<T>, OpError> {
        self.reduce_axes("sum_axes_keepdim", axes, false, true)
    }

    /// The mean over `axes`, which stay in the shape with extent 1, so that centring works by
    /// broadcasting: `&x - &x.mean_axes_keepdim(&[2])` (as in LayerNorm). `NaN` where an averaged axis
    /// is empty.
    ///
    /// Derivative: `1 / m` for every averaged element, where `m` is the product of the axes' extents.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1.0, 2.0, 6.0], [4.0, 4.0, 4.0]]);
    /// let centred = &x - &x.mean_axes_keepdim(&[1]);
    /// assert_eq!(*centred.data(), array![[-2.0, -1.0, 3.0], [0.0, 0.0, 0.0]].into_dyn());
    /// // Centring removes the mean, so the gradient of any sum of centred values is zero.
    /// centred.sum().backward();
    /// assert!(x.grad().unwrap().iter().all(|g: &f64| g.abs() < 1e-15));
    /// ```
    ///
    /// # Panics
    /// If an axis is out of range or listed twice;
    /// [`try_mean_axes_keepdim`](Var::try_mean_axes_keepdim) returns the error instead.
    #[track_caller]
    pub fn mean_axes_keepdim(&self, axes: &[usize]) -> Var<T> {
        unwrap_op(self.try_mean_axes_keepdim(axes))
    }

    /// [`mean_axes_keepdim`](Var::mean_axes_keepdim), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::Array2;
    ///
    /// let x = Var::new(Array2::<f64>::ones((2, 3)));
    /// assert_eq!(x.try_mean_axes_keepdim(&[1]).unwrap().shape(), vec![2, 1]);
    /// assert!(matches!(x.try_mean_axes_keepdim(&[0, 0]), Err(OpError::RepeatedAxis { .. })));
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`] or [`OpError::RepeatedAxis`].
    pub fn try_mean_axes_keepdim(&self, axes: &[usize]) -> Result<Var<T>, OpError> {
        self.reduce_axes("mean_axes_keepdim", axes, true, true)
    }

    fn reduce_axes(
        &self,
        op: &'static str,
        axes: &[usize],
        mean: bool,
        keepdim: bool,
    ) -> Result<Var<T>, OpError> {
        let (value, scale) = {
            let x = self.data();
            check_axes(op, axes, x.ndim())?;
            let count: usize = axes.iter().map(|&a| x.shape()[a]).product();
            let scale = if mean {
                cast::<T>(count).recip()
            } else {
                T::one()
            };
            let mut value = sum_over(&x, axes);
            if mean {
                value.mapv_inplace(|v| v * scale);
            }
            (value, scale)
        };
        let mut sorted = axes.to_vec();
        sorted.sort_unstable();
        // With keepdim, the result (and so its gradient) already has the axes, with extent 1.
        let value = if keepdim {
            sorted.iter().fold(value, |v, &a| v.insert_axis(Axis(a)))
        } else {
            value
        };
        let reinsert = if keepdim { Vec::new() } else { sorted };
        Ok(Var::from_op(
            value,
            vec![self.clone()],
            move |g, parents| {
                let shape = parents[0].data().raw_dim();
                // Put the summed axes back with extent 1 (in increasing order, so each lands at its own
                // index), then broadcast along them.
                let mut g = g.view();
                for &a in &reinsert {
                    g = g.insert_axis(Axis(a));
                }
                let g = g
                    .broadcast(shape)
                    .expect("einsum-runtime internal error: reduced gradient broadcasts back");
                vec![Some(g.mapv(|v| v * scale))]
            },
        ))
    }

    /// The softmax along `axis`: `y_i = e^(x_i) / sum_j e^(x_j)` over each lane of that axis, computed
    /// stably by subtracting the lane's maximum first (so inputs like 1000.0 do not overflow).
    ///
    /// Derivative: `dy_i/dx_k = y_i (delta_ik - y_k)`, so the backward pass is
    /// `gx_k = y_k (g_k - sum_i g_i y_i)` per lane, computed from the output.
    ///
    /// A lane whose entries are all `-inf` (a fully masked row, as in attention with
    /// [`masked_fill`](Var::masked_fill)) gives a lane of `NaN`, as in PyTorch and numpy (`0 / 0`: no
    /// entry has any weight), and so do the gradients flowing through it. Keep at least one entry of
    /// each lane finite (a causal mask always leaves the diagonal), or fill such rows afterwards.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1000.0, 1000.0], [0.0, 2f64.ln()]].into_dyn());
    /// let y = x.softmax(1);
    /// let expected = array![[0.5, 0.5], [1.0 / 3.0, 2.0 / 3.0]].into_dyn();
    /// assert!(y.data().iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-12));
    /// // Each row sums to 1 whatever x is, so the gradient of the total is zero.
    /// y.sum().backward();
    /// assert!(x.grad().unwrap().iter().all(|g| g.abs() < 1e-12));
    /// ```
    ///
    /// # Panics
    /// If `axis` is out of range; [`try_softmax`](Var::try_softmax) returns the error instead.
    #[track_caller]
    pub fn softmax(&self, axis: usize) -> Var<T> {
        unwrap_op(self.try_softmax(axis))
    }

    /// [`softmax`](Var::softmax), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![1.0, 2.0].into_dyn());
    /// assert!(x.try_softmax(0).is_ok());
    /// assert!(x.try_softmax(1).is_err());
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`].
    pub fn try_softmax(&self, axis: usize) -> Result<Var<T>, OpError> {
        check_axis("softmax", axis, self.data().ndim())?;
        let value = softmax_values(&self.data(), axis, false);
        if !self.records() {
            return Ok(Var::constant(value));
        }
        let y = value.clone();
        Ok(Var::from_op(value, vec![self.clone()], move |g, _| {
            let mut gx = g.clone();
            Zip::from(gx.lanes_mut(Axis(axis)))
                .and(y.lanes(Axis(axis)))
                .for_each(|mut gx, y| {
                    let dot = gx.iter().zip(&y).fold(T::zero(), |s, (&g, &y)| s + g * y);
                    gx.zip_mut_with(&y, |g, &y| *g = y * (*g - dot));
                });
            vec![Some(gx)]
        }))
    }

    /// The log-softmax along `axis`: `y_i = x_i - ln(sum_j e^(x_j))` over each lane of that axis,
    /// computed stably as `x_i - m - ln(sum_j e^(x_j - m))` with `m` the lane's maximum.
    ///
    /// Derivative: `dy_i/dx_k = delta_ik - softmax_k`, so the backward pass is
    /// `gx_k = g_k - softmax_k sum_i g_i` per lane, with `softmax = e^y` from the output.
    ///
    /// A lane whose entries are all `-inf` gives a lane of `NaN`, as [`softmax`](Var::softmax) does.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![0.0, 3f64.ln()].into_dyn());
    /// let y = x.log_softmax(0);
    /// let expected = array![0.25f64.ln(), 0.75f64.ln()].into_dyn();
    /// assert!(y.data().iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-12));
    /// // d y_0 / dx = (1, 0) - softmax = (0.75, -0.75)
    /// y.backward_with(array![1.0, 0.0].into_dyn());
    /// let g = x.grad().unwrap();
    /// assert!((g[0] - 0.75).abs() < 1e-12 && (g[1] + 0.75).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    /// If `axis` is out of range; [`try_log_softmax`](Var::try_log_softmax) returns the error instead.
    #[track_caller]
    pub fn log_softmax(&self, axis: usize) -> Var<T> {
        unwrap_op(self.try_log_softmax(axis))
    }

    /// [`log_softmax`](Var::log_softmax), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1.0, 2.0]].into_dyn());
    /// assert!(x.try_log_softmax(1).is_ok());
    /// assert!(x.try_log_softmax(2).is_err());
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`].
    pub fn try_log_softmax(&self, axis: usize) -> Result<Var<T>, OpError> {
        check_axis("log_softmax", axis, self.data().ndim())?;
        let value = softmax_values(&self.data(), axis, true);
        if !self.records() {
            return Ok(Var::constant(value));
        }
        let y = value.clone();
        Ok(Var::from_op(value, vec![self.clone()], move |g, _| {
            let mut gx = g.clone();
            Zip::from(gx.lanes_mut(Axis(axis)))
                .and(y.lanes(Axis(axis)))
                .for_each(|mut gx, y| {
                    let total = gx.sum();
                    gx.zip_mut_with(&y, |g, &y| *g = *g - y.exp() * total);
                });
            vec![Some(gx)]
        }))
    }
}

macro_rules! binary_operator {
    ($Trait:ident, $method:ident, $try_method:ident, $sym:literal) => {
        #[doc = concat!("`&var ", $sym, " rhs` elementwise with numpy broadcasting; see [`Var::", stringify!($try_method), "`].")]
        ///
        /// # Panics
        /// If the shapes do not broadcast, with a message naming both shapes.
        impl<T: Float, R: IntoVar<T>> std::ops::$Trait<R> for &Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: R) -> Var<T> {
                unwrap_op(self.$try_method(rhs))
            }
        }

        #[doc = concat!("`var ", $sym, " rhs` elementwise with numpy broadcasting; see [`Var::", stringify!($try_method), "`].")]
        ///
        /// # Panics
        /// If the shapes do not broadcast, with a message naming both shapes.
        impl<T: Float, R: IntoVar<T>> std::ops::$Trait<R> for Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: R) -> Var<T> {
                std::ops::$Trait::$method(&self, rhs)
            }
        }

        binary_operator!(@scalar_left $Trait, $method, $try_method, f32);
        binary_operator!(@scalar_left $Trait, $method, $try_method, f64);
    };
    (@scalar_left $Trait:ident, $method:ident, $try_method:ident, $t:ty) => {
        /// A scalar on the left: the scalar is a constant.
        impl std::ops::$Trait<&Var<$t>> for $t {
            type Output = Var<$t>;
            fn $method(self, rhs: &Var<$t>) -> Var<$t> {
                self.into_var()
                    .$try_method(rhs)
                    .expect("a 0-d array broadcasts with any shape")
            }
        }

        /// A scalar on the left: the scalar is a constant.
        impl std::ops::$Trait<Var<$t>> for $t {
            type Output = Var<$t>;
            fn $method(self, rhs: Var<$t>) -> Var<$t> {
                std::ops::$Trait::$method(self, &rhs)
            }
        }
    };
}

binary_operator!(Add, add, try_add, "+");
binary_operator!(Sub, sub, try_sub, "-");
binary_operator!(Mul, mul, try_mul, "*");
binary_operator!(Div, div, try_div, "/");

/// `-&var`: see [`Var::neg`].
impl<T: Float> std::ops::Neg for &Var<T> {
    type Output = Var<T>;
    fn neg(self) -> Var<T> {
        Var::neg(self)
    }
}

/// `-var`: see [`Var::neg`].
impl<T: Float> std::ops::Neg for Var<T> {
    type Output = Var<T>;
    fn neg(self) -> Var<T> {
        Var::neg(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_shapes_follow_numpy() {
        assert_eq!(broadcast_shape("t", &[2, 3], &[3]).unwrap(), vec![2, 3]);
        assert_eq!(broadcast_shape("t", &[2, 1], &[1, 4]).unwrap(), vec![2, 4]);
        assert_eq!(broadcast_shape("t", &[], &[5]).unwrap(), vec![5]);
        assert_eq!(broadcast_shape("t", &[1], &[0]).unwrap(), vec![0]);
        assert!(broadcast_shape("t", &[2, 3], &[2]).is_err());
    }

    #[test]
    fn sum_to_is_the_adjoint_of_broadcasting() {
        let g = ArrayD::from_elem(IxDyn(&[2, 3, 4]), 1.0);
        assert_eq!(
            sum_to(g.clone(), &[3, 1]),
            ArrayD::from_elem(IxDyn(&[3, 1]), 8.0)
        );
        assert_eq!(sum_to(g, &[]), arr0(24.0).into_dyn());
    }
}
