//! Operations that pick elements: `max_axis` and `min_axis` (with `argmax` and `argmin` on values),
//! `where_` and `masked_fill` with a constant boolean mask, and `dropout` with a caller-seeded
//! generator.
//!
//! What gets picked (the arg-max positions, the broadcast mask, the dropout mask) is decided in the
//! forward pass and kept by the backward closure, which routes the gradient to the picked positions
//! and zero elsewhere.

use ndarray::{ArrayBase, ArrayD, ArrayView1, Axis, Data, Dimension, IxDyn, Zip};
use rand::distr::{Bernoulli, Distribution};
use rand::Rng;

use super::error::{unwrap_or_panic, OpError};
use super::ops::{broadcast_shape, check_axis, unbroadcast, IntoVar};
use super::{Float, Var};

/// The position of the maximum (or minimum) of `lane`, which is not empty: the first one on ties, and
/// the first `NaN` if there is one (as numpy's and PyTorch's `argmax` do: `NaN` wins).
fn arg_extremum<T: Float>(lane: ArrayView1<'_, T>, max: bool) -> usize {
    let mut best = 0;
    for (i, &v) in lane.iter().enumerate().skip(1) {
        let b = lane[best];
        if b.is_nan() {
            break;
        }
        if v.is_nan() || (max && v > b) || (!max && v < b) {
            best = i;
        }
    }
    best
}

/// The arg-max (or arg-min) along `axis`, shaped like `x` without that axis.
fn arg_extrema<T: Float>(
    op: &'static str,
    x: &ArrayD<T>,
    axis: usize,
    max: bool,
) -> Result<ArrayD<usize>, OpError> {
    check_axis(op, axis, x.ndim())?;
    if x.shape()[axis] == 0 {
        return Err(OpError::EmptyAxis { op, axis });
    }
    Ok(Zip::from(x.lanes(Axis(axis))).map_collect(|lane| arg_extremum(lane, max)))
}

impl<T: Float> Var<T> {
    fn extremum(&self, op: &'static str, axis: usize, max: bool) -> Result<Var<T>, OpError> {
        let (value, picked) = {
            let x = self.data();
            let picked = arg_extrema(op, &x, axis, max)?;
            let value = Zip::from(&picked)
                .and(x.lanes(Axis(axis)))
                .map_collect(|&i, lane| lane[i]);
            (value, picked)
        };
        Ok(Var::from_op(
            value,
            vec![self.clone()],
            move |g, parents| {
                let mut gx = ArrayD::zeros(parents[0].data().raw_dim());
                Zip::from(gx.lanes_mut(Axis(axis)))
                    .and(&picked)
                    .and(g)
                    .for_each(|mut lane, &i, &g| lane[i] = g);
                vec![Some(gx)]
            },
        ))
    }

    /// The maximum along `axis`, which is removed (PyTorch's `x.max(dim).values`, numpy's `max`).
    /// `NaN` propagates: a lane holding one has maximum `NaN`.
    ///
    /// Derivative: `1` at the arg-max of each lane and `0` elsewhere; on ties the whole gradient goes to
    /// the first maximal element (the one [`argmax`](Var::argmax) returns).
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1.0, 5.0, 5.0], [7.0, 2.0, 3.0]]);
    /// let m = x.max_axis(1);
    /// assert_eq!(*m.data(), array![5.0, 7.0].into_dyn());
    /// m.backward_with(array![10.0, 20.0]);
    /// assert_eq!(x.grad().unwrap(), array![[0.0, 10.0, 0.0], [20.0, 0.0, 0.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If `axis` is out of range or has extent 0; [`try_max_axis`](Var::try_max_axis) returns the
    /// error instead.
    #[track_caller]
    pub fn max_axis(&self, axis: usize) -> Var<T> {
        unwrap_or_panic(self.try_max_axis(axis))
    }

    /// [`max_axis`](Var::max_axis), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::Array2;
    ///
    /// let x = Var::new(Array2::<f64>::zeros((2, 0)));
    /// assert_eq!(x.try_max_axis(0).unwrap().shape(), vec![0]);
    /// assert_eq!(x.try_max_axis(1).unwrap_err(), OpError::EmptyAxis { op: "max_axis", axis: 1 });
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`] or [`OpError::EmptyAxis`].
    pub fn try_max_axis(&self, axis: usize) -> Result<Var<T>, OpError> {
        self.extremum("max_axis", axis, true)
    }

    /// The minimum along `axis`, which is removed; `NaN` propagates.
    ///
    /// Derivative: `1` at the arg-min of each lane and `0` elsewhere; on ties, the first minimal
    /// element gets the gradient.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1.0, 5.0], [0.0, 0.0]]);
    /// let m = x.min_axis(0);
    /// assert_eq!(*m.data(), array![0.0, 0.0].into_dyn());
    /// m.sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![[0.0, 0.0], [1.0, 1.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If `axis` is out of range or has extent 0; [`try_min_axis`](Var::try_min_axis) returns the
    /// error instead.
    #[track_caller]
    pub fn min_axis(&self, axis: usize) -> Var<T> {
        unwrap_or_panic(self.try_min_axis(axis))
    }

    /// [`min_axis`](Var::min_axis), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![3.0, 1.0]);
    /// assert_eq!(x.try_min_axis(0).unwrap().item(), 1.0);
    /// assert!(matches!(x.try_min_axis(1), Err(OpError::AxisOutOfRange { .. })));
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`] or [`OpError::EmptyAxis`].
    pub fn try_min_axis(&self, axis: usize) -> Result<Var<T>, OpError> {
        self.extremum("min_axis", axis, false)
    }

    /// The position of the maximum along `axis` in the current value, shaped like the value without
    /// that axis (not differentiable: a plain array). Ties give the first position; a `NaN` counts as
    /// the maximum, as in numpy and PyTorch.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let logits = Var::new(array![[0.1, 2.0, 2.0], [3.0, -1.0, 0.0]]);
    /// assert_eq!(logits.argmax(1), array![1, 0].into_dyn());
    /// assert_eq!(logits.argmin(1), array![0, 1].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If `axis` is out of range or has extent 0; [`try_argmax`](Var::try_argmax) returns the error
    /// instead.
    #[track_caller]
    pub fn argmax(&self, axis: usize) -> ArrayD<usize> {
        unwrap_or_panic(self.try_argmax(axis))
    }

    /// [`argmax`](Var::argmax), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![1.0, f64::NAN, 3.0]);
    /// assert_eq!(x.try_argmax(0).unwrap()[[]], 1);
    /// assert!(matches!(x.try_argmax(1), Err(OpError::AxisOutOfRange { .. })));
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`] or [`OpError::EmptyAxis`].
    pub fn try_argmax(&self, axis: usize) -> Result<ArrayD<usize>, OpError> {
        arg_extrema("argmax", &self.data(), axis, true)
    }

    /// The position of the minimum along `axis` in the current value (not differentiable); ties give
    /// the first position, and a `NaN` wins.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// assert_eq!(Var::new(array![2.0, -1.0, -1.0]).argmin(0), ndarray::arr0(1).into_dyn());
    /// ```
    ///
    /// # Panics
    /// If `axis` is out of range or has extent 0; [`try_argmin`](Var::try_argmin) returns the error
    /// instead.
    #[track_caller]
    pub fn argmin(&self, axis: usize) -> ArrayD<usize> {
        unwrap_or_panic(self.try_argmin(axis))
    }

    /// [`argmin`](Var::argmin), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::Array2;
    ///
    /// let x = Var::new(Array2::<f64>::zeros((0, 2)));
    /// assert_eq!(x.try_argmin(0).unwrap_err(), OpError::EmptyAxis { op: "argmin", axis: 0 });
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`] or [`OpError::EmptyAxis`].
    pub fn try_argmin(&self, axis: usize) -> Result<ArrayD<usize>, OpError> {
        arg_extrema("argmin", &self.data(), axis, false)
    }

    /// Elementwise choice: this value where `mask` is true, `other` where it is false (PyTorch's
    /// `x.where(mask, other)`, numpy's `where(mask, x, other)`). `mask` is a constant array of `bool`
    /// (any dimension, owned or a view); `other` is a `Var`, an array or a scalar (see [`IntoVar`]).
    /// All three broadcast together by numpy's rules.
    ///
    /// Derivative: `1` with respect to this value where `mask` is true and `0` where false, the reverse
    /// for `other`; each gradient is summed back over the axes its operand was broadcast along.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![1.0, 2.0, 3.0]);
    /// let y = Var::new(array![10.0]);
    /// let z = x.where_(&array![true, false, true], &y);
    /// assert_eq!(*z.data(), array![1.0, 10.0, 3.0].into_dyn());
    /// z.sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![1.0, 0.0, 1.0].into_dyn());
    /// assert_eq!(y.grad().unwrap(), array![1.0].into_dyn()); // one position took y
    /// ```
    ///
    /// # Panics
    /// If the shapes do not broadcast together; [`try_where_`](Var::try_where_) returns the error
    /// instead.
    #[track_caller]
    pub fn where_<S, D>(&self, mask: &ArrayBase<S, D>, other: impl IntoVar<T>) -> Var<T>
    where
        S: Data<Elem = bool>,
        D: Dimension,
    {
        unwrap_or_panic(self.try_where_(mask, other))
    }

    /// [`where_`](Var::where_), returning an error instead of panicking. A mask that does not fit is
    /// reported as the right operand, against the shape of this value and `other` broadcast together.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::{array, Array2};
    ///
    /// let x = Var::new(Array2::<f64>::zeros((2, 3)));
    /// assert_eq!(x.try_where_(&array![true, false, true], 1.0).unwrap().shape(), vec![2, 3]);
    /// assert!(matches!(x.try_where_(&array![true, false], 1.0), Err(OpError::Broadcast { .. })));
    /// ```
    ///
    /// # Errors
    /// [`OpError::Broadcast`].
    pub fn try_where_<S, D>(
        &self,
        mask: &ArrayBase<S, D>,
        other: impl IntoVar<T>,
    ) -> Result<Var<T>, OpError>
    where
        S: Data<Elem = bool>,
        D: Dimension,
    {
        let op = "where_";
        let other = other.into_var();
        let (value, mask) = {
            let (x, y) = (self.data(), other.data());
            let shape = broadcast_shape(op, x.shape(), y.shape())?;
            let shape = IxDyn(&broadcast_shape(op, &shape, mask.shape())?);
            let mask = mask
                .broadcast(shape.clone())
                .expect("checked broadcast")
                .to_owned();
            let xb = x.broadcast(shape.clone()).expect("checked broadcast");
            let yb = y.broadcast(shape).expect("checked broadcast");
            let value = Zip::from(&mask)
                .and(&xb)
                .and(&yb)
                .map_collect(|&m, &x, &y| if m { x } else { y });
            (value, mask)
        };
        Ok(Var::from_op(
            value,
            vec![self.clone(), other],
            move |g, parents| {
                let part = |keep: bool, shape: &[usize]| {
                    let full =
                        Zip::from(g)
                            .and(&mask)
                            .map_collect(|&g, &m| if m == keep { g } else { T::zero() });
                    unbroadcast(full, shape)
                };
                vec![
                    parents[0]
                        .requires_grad()
                        .then(|| part(true, parents[0].data().shape())),
                    parents[1]
                        .requires_grad()
                        .then(|| part(false, parents[1].data().shape())),
                ]
            },
        ))
    }

    /// `value` where `mask` is true, this value elsewhere (PyTorch's `masked_fill`). `mask` is a
    /// constant array of `bool` that broadcasts to this value's shape, which the result keeps. For
    /// causal attention, fill the scores above the diagonal with `-inf` before
    /// [`softmax`](Var::softmax).
    ///
    /// Derivative: `1` where `mask` is false, `0` where it is true (the filled value is a constant).
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::{array, Array2};
    ///
    /// // Scores of 2 sequences of 3 positions; position i may attend to positions j <= i.
    /// let scores = Var::new(ndarray::Array3::<f64>::zeros((2, 3, 3)));
    /// let future = Array2::from_shape_fn((3, 3), |(i, j)| j > i);
    /// let attn = scores.masked_fill(&future, f64::NEG_INFINITY).softmax(2);
    /// let expected = array![[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]];
    /// for b in 0..2 {
    ///     let row = attn.data().index_axis(ndarray::Axis(0), b).to_owned();
    ///     assert!(row.iter().zip(&expected).all(|(a, e)| (a - e).abs() < 1e-15));
    /// }
    /// let x = Var::new(array![1.0, 2.0]);
    /// x.masked_fill(&array![false, true], 0.0).sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![1.0, 0.0].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If `mask` does not broadcast to this value's shape; [`try_masked_fill`](Var::try_masked_fill)
    /// returns the error instead.
    #[track_caller]
    pub fn masked_fill<S, D>(&self, mask: &ArrayBase<S, D>, value: T) -> Var<T>
    where
        S: Data<Elem = bool>,
        D: Dimension,
    {
        unwrap_or_panic(self.try_masked_fill(mask, value))
    }

    /// [`masked_fill`](Var::masked_fill), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::{array, Array2};
    ///
    /// let x = Var::new(Array2::<f64>::zeros((2, 3)));
    /// assert!(x.try_masked_fill(&array![[true], [false]], 1.0).is_ok());
    /// let err = x.try_masked_fill(&array![true, false], 1.0).unwrap_err();
    /// assert_eq!(err.to_string(), "masked_fill: shape [2] does not broadcast to shape [2, 3]");
    /// ```
    ///
    /// # Errors
    /// [`OpError::BroadcastTo`] if `mask` does not broadcast to this value's shape.
    pub fn try_masked_fill<S, D>(&self, mask: &ArrayBase<S, D>, value: T) -> Result<Var<T>, OpError>
    where
        S: Data<Elem = bool>,
        D: Dimension,
    {
        let (result, mask) = {
            let x = self.data();
            let mask = mask
                .broadcast(x.raw_dim())
                .ok_or_else(|| OpError::BroadcastTo {
                    op: "masked_fill",
                    from: mask.shape().to_vec(),
                    to: x.shape().to_vec(),
                })?
                .to_owned();
            let result = Zip::from(&*x)
                .and(&mask)
                .map_collect(|&x, &m| if m { value } else { x });
            (result, mask)
        };
        Ok(Var::from_op(result, vec![self.clone()], move |g, _| {
            let gx = Zip::from(g)
                .and(&mask)
                .map_collect(|&g, &m| if m { T::zero() } else { g });
            vec![Some(gx)]
        }))
    }

    /// Inverted dropout: in training (`train = true`), each element is zeroed with probability `p`
    /// and the kept ones are scaled by `1 / (1 - p)`, so the expected value is unchanged; the
    /// choices come from `rng`, so a seeded generator reproduces them. In evaluation
    /// (`train = false`), and for `p = 0`, it is the identity (the same `Var`, drawing nothing).
    /// `p = 1` zeroes everything.
    ///
    /// Derivative: the same mask, `1 / (1 - p)` for kept elements and `0` for dropped ones.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::Array1;
    /// use rand::{rngs::StdRng, SeedableRng};
    ///
    /// let x = Var::new(Array1::<f64>::ones(1000));
    /// let mut rng = StdRng::seed_from_u64(7);
    /// let y = x.dropout(0.25, &mut rng, true);
    /// // Every element is 0 or 1 / 0.75; about a quarter are 0.
    /// assert!(y.data().iter().all(|&v| v == 0.0 || v == 1.0 / 0.75));
    /// let dropped = y.data().iter().filter(|&&v| v == 0.0).count();
    /// assert!((150..350).contains(&dropped));
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap(), y.data().as_ref().clone()); // the mask, since x is all ones
    /// // The same seed gives the same mask; evaluation mode is the identity.
    /// let again = x.dropout(0.25, &mut StdRng::seed_from_u64(7), true);
    /// assert_eq!(again.data(), y.data());
    /// assert_eq!(x.dropout(0.25, &mut rng, false).data(), x.data());
    /// ```
    ///
    /// # Panics
    /// If `p` is not in `[0, 1]`; [`try_dropout`](Var::try_dropout) returns the error instead.
    #[track_caller]
    pub fn dropout<R: Rng + ?Sized>(&self, p: f64, rng: &mut R, train: bool) -> Var<T> {
        unwrap_or_panic(self.try_dropout(p, rng, train))
    }

    /// [`dropout`](Var::dropout), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    /// use rand::{rngs::StdRng, SeedableRng};
    ///
    /// let x = Var::new(array![1.0, 2.0]);
    /// let mut rng = StdRng::seed_from_u64(0);
    /// assert!(x.try_dropout(0.5, &mut rng, true).is_ok());
    /// let err = x.try_dropout(1.5, &mut rng, false).unwrap_err();
    /// assert_eq!(err.to_string(), "dropout: probability 1.5 is not in [0, 1]");
    /// ```
    ///
    /// # Errors
    /// [`OpError::Probability`] if `p` is not in `[0, 1]` (checked in both modes).
    pub fn try_dropout<R: Rng + ?Sized>(
        &self,
        p: f64,
        rng: &mut R,
        train: bool,
    ) -> Result<Var<T>, OpError> {
        let keep = Bernoulli::new(1.0 - p)
            .ok()
            .filter(|_| (0.0..=1.0).contains(&p))
            .ok_or_else(|| OpError::Probability {
                op: "dropout",
                p: p.to_string(),
            })?;
        if !train || p == 0.0 {
            return Ok(self.clone());
        }
        let scale = if p < 1.0 {
            T::from(1.0 / (1.0 - p)).expect("a finite f64 converts to a float")
        } else {
            T::zero()
        };
        let mask = ArrayD::from_shape_simple_fn(self.data().raw_dim(), || {
            if keep.sample(rng) {
                scale
            } else {
                T::zero()
            }
        });
        let value = &*self.data() * &mask;
        Ok(Var::from_op(value, vec![self.clone()], move |g, _| {
            vec![Some(g * &mask)]
        }))
    }
}
