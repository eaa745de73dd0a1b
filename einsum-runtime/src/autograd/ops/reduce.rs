//! Reductions: `sum` and `mean` of all elements (a 0-d `Var`), and over chosen axes, which are
//! dropped (`sum_axes`, `mean_axes`) or kept with extent 1 (`sum_axes_keepdim`,
//! `mean_axes_keepdim`). The four axes forms share one implementation, `reduce_axes`.
//!
//! The axes forms return [`OpError::AxisOutOfRange`] or [`OpError::RepeatedAxis`] from their `try_`
//! form, and panic with its message (at the caller's line) otherwise.

use ndarray::{arr0, ArrayD, Axis};

use super::{check_axis, count_to_float};
use crate::autograd::error::{unwrap_or_panic, OpError};
use crate::autograd::{Float, Var};

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

/// Checks that every axis in `axes` is in range and listed once.
fn check_axes(op: &'static str, axes: &[usize], ndim: usize) -> Result<(), OpError> {
    for (k, &axis) in axes.iter().enumerate() {
        check_axis(op, axis, ndim)?;
        if axes[..k].contains(&axis) {
            return Err(OpError::RepeatedAxis { op, axis });
        }
    }
    Ok(())
}

impl<T: Float> Var<T> {
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
        let n: T = count_to_float(self.data().len());
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
        unwrap_or_panic(self.try_sum_axes(axes))
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
        unwrap_or_panic(self.try_mean_axes(axes))
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
        unwrap_or_panic(self.try_sum_axes_keepdim(axes))
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
        unwrap_or_panic(self.try_mean_axes_keepdim(axes))
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
                count_to_float::<T>(count).recip()
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
}
