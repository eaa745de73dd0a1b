//! Elementwise, arithmetic and reduction operations on [`Var`], each defined together with its
//! backward rule.
//!
//! Every operation states its derivative in its doc comment. Backward closures compute the
//! vector-Jacobian product directly (elementwise products, sums over broadcast axes); no Jacobian is
//! formed. Operations whose derivative is cheapest in terms of their output (`sigmoid`, `tanh`, `exp`,
//! `sqrt`, `softmax`, `log_softmax`) keep a copy of the output in the backward closure, and only when
//! the input needs a gradient: that trades one array of memory for not recomputing the function. They
//! all go through one helper, [`from_output`].
//!
//! One file per kind of operation:
//! - `elementwise.rs`: `sigmoid`, `tanh`, `relu`, `exp`, `ln`, `neg` (and the unary `-`), `powi`,
//!   `sqrt`;
//! - `arith.rs`: `+ - * /` with numpy broadcasting (`try_add` ... `try_div` and the operators),
//!   [`IntoVar`] for their right operand, and the broadcasting helpers other modules share;
//! - `reduce.rs`: `sum`, `mean` and their `_axes` and `_axes_keepdim` forms;
//! - `softmax.rs`: `softmax` and `log_softmax`, and the stable lane values the cross-entropy loss
//!   shares.
//!
//! This file holds what several of them use. Their errors are [`OpError`]s (see `../error.rs`).

use ndarray::ArrayD;

use super::error::OpError;
use super::{Float, Var};

mod arith;
mod elementwise;
mod reduce;
mod softmax;

pub use arith::IntoVar;
pub(crate) use arith::{broadcast_shape, unbroadcast};
pub(crate) use softmax::softmax_values;

/// `n` as a float (exact for `f64` up to 2^53; rounded for larger `n` or `f32`).
pub(crate) fn count_to_float<T: Float>(n: usize) -> T {
    T::from(n).expect("einsum-runtime internal error: a usize converts to a float")
}

/// Checks that `axis` is an axis of an operand with `ndim` axes.
pub(crate) fn check_axis(op: &'static str, axis: usize, ndim: usize) -> Result<(), OpError> {
    if axis < ndim {
        Ok(())
    } else {
        Err(OpError::AxisOutOfRange { op, axis, ndim })
    }
}

/// A one-input operation whose backward pass is a function of its output `value` and the upstream
/// gradient only: `backward(g, y)` is the input's gradient. The output is kept for the backward pass
/// only if the input needs a gradient (and recording is on); otherwise the result is a constant.
pub(super) fn from_output<T: Float>(
    x: &Var<T>,
    value: ArrayD<T>,
    backward: impl Fn(&ArrayD<T>, &ArrayD<T>) -> ArrayD<T> + 'static,
) -> Var<T> {
    if !x.records() {
        return Var::constant(value);
    }
    let y = value.clone();
    Var::from_op(value, vec![x.clone()], move |g, _| {
        vec![Some(backward(g, &y))]
    })
}
