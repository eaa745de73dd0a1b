//! The softmax and log-softmax along one axis, computed stably (the lane's maximum is subtracted
//! first), and [`softmax_values`], the forward pass that the cross-entropy loss shares.
//!
//! Both backward passes are functions of the output, lane by lane: they share the lane loop
//! ([`lanes_from_output`]) and each keeps its own two-line formula. Both return
//! [`OpError::AxisOutOfRange`] from their `try_` form for an axis out of range, and panic with its
//! message (at the caller's line) otherwise.

use ndarray::{ArrayD, ArrayView1, ArrayViewMut1, Axis, Zip};

use super::{check_axis, from_output};
use crate::autograd::error::{unwrap_or_panic, OpError};
use crate::autograd::{Float, Var};

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

/// An operation along `axis` whose backward pass is a function of its output, lane by lane:
/// `lane(gx, y)` turns one lane of the upstream gradient, in place, into the input's gradient, given
/// the same lane of the output `value`.
fn lanes_from_output<T: Float>(
    x: &Var<T>,
    value: ArrayD<T>,
    axis: usize,
    lane: fn(ArrayViewMut1<'_, T>, ArrayView1<'_, T>),
) -> Var<T> {
    from_output(x, value, move |g, y| {
        let mut gx = g.clone();
        Zip::from(gx.lanes_mut(Axis(axis)))
            .and(y.lanes(Axis(axis)))
            .for_each(lane);
        gx
    })
}

impl<T: Float> Var<T> {
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
        unwrap_or_panic(self.try_softmax(axis))
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
        Ok(lanes_from_output(self, value, axis, |mut gx, y| {
            let dot = gx.iter().zip(&y).fold(T::zero(), |s, (&g, &y)| s + g * y);
            gx.zip_mut_with(&y, |g, &y| *g = y * (*g - dot));
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
        unwrap_or_panic(self.try_log_softmax(axis))
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
        Ok(lanes_from_output(self, value, axis, |mut gx, y| {
            let total = gx.sum();
            gx.zip_mut_with(&y, |g, &y| *g = *g - y.exp() * total);
        }))
    }
}
