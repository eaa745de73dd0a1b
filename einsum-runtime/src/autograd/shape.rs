//! Shape and indexing operations on [`Var`]: `reshape`, `slice`, `slice_axis`, `index_axis`,
//! `select`, `concat`, `stack`, `broadcast_to`.
//!
//! All of them only move elements, so every backward pass moves the gradient back: into a zero array
//! shaped like the input, at the positions the forward pass read from (adding where it read one
//! position several times), or summed over the axes a broadcast stretched. Each backward closure
//! reads only the shapes of the values recorded at forward time (see [`Parent`](super::Parent)) and
//! what the forward pass computed from them (indices, slices), never a parent's current value.

use std::rc::Rc;

use ndarray::{ArrayD, Axis, IxDyn, Slice, SliceArg, SliceInfoElem};

use super::error::{unwrap_or_panic, OpError};
use super::ops::{check_axis, unbroadcast};
use super::{Float, Var};

/// `index` as an offset into an axis of `extent` elements, counting negative values from the end;
/// `None` when it falls before the start.
fn resolve(index: isize, extent: usize) -> Option<usize> {
    if index < 0 {
        extent.checked_sub(index.unsigned_abs())
    } else {
        Some(index.unsigned_abs())
    }
}

/// Checks `elems` against `shape` exactly as ndarray's slicing would (so that slicing cannot panic):
/// one element per axis (besides `NewAxis`), bounds within the axis, steps not 0.
fn check_slice(op: &'static str, elems: &[SliceInfoElem], shape: &[usize]) -> Result<(), OpError> {
    let named = elems
        .iter()
        .filter(|e| !matches!(e, SliceInfoElem::NewAxis))
        .count();
    if named != shape.len() {
        return Err(OpError::Rank {
            op,
            expected: named,
            shape: shape.to_vec(),
        });
    }
    let out_of_range = |axis, index, extent| OpError::IndexOutOfRange {
        op,
        axis,
        index,
        extent,
    };
    let mut axis = 0;
    for elem in elems {
        match *elem {
            SliceInfoElem::Slice { start, end, step } => {
                let extent = shape[axis];
                for bound in std::iter::once(start).chain(end) {
                    if resolve(bound, extent).is_none_or(|b| b > extent) {
                        return Err(out_of_range(axis, bound, extent));
                    }
                }
                if step == 0 {
                    return Err(OpError::ZeroStep { op, axis });
                }
                axis += 1;
            }
            SliceInfoElem::Index(index) => {
                let extent = shape[axis];
                if resolve(index, extent).is_none_or(|i| i >= extent) {
                    return Err(out_of_range(axis, index, extent));
                }
                axis += 1;
            }
            SliceInfoElem::NewAxis => {}
        }
    }
    Ok(())
}

fn check_index(op: &'static str, axis: usize, index: usize, extent: usize) -> Result<(), OpError> {
    if index < extent {
        Ok(())
    } else {
        Err(OpError::IndexOutOfRange {
            op,
            axis,
            index: isize::try_from(index).unwrap_or(isize::MAX),
            extent,
        })
    }
}

impl<T: Float> Var<T> {
    /// The same elements in a new shape, read and written in row-major (C) order, like PyTorch's
    /// `reshape` and numpy's default. The number of elements must not change.
    ///
    /// Derivative: the identity on the elements: the gradient is reshaped back to the input's shape.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let y = x.reshape(&[3, 2]);
    /// assert_eq!(*y.data(), array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]].into_dyn());
    /// y.backward_with(array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    /// assert_eq!(x.grad().unwrap(), array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If the element counts differ; [`try_reshape`](Var::try_reshape) returns the error instead.
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Var<T> {
        unwrap_or_panic(self.try_reshape(shape))
    }

    /// [`reshape`](Var::reshape), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::Array2;
    ///
    /// let x = Var::new(Array2::<f64>::zeros((2, 3)));
    /// assert_eq!(x.try_reshape(&[6]).unwrap().shape(), vec![6]);
    /// assert!(matches!(x.try_reshape(&[4]), Err(OpError::ReshapeSize { .. })));
    /// ```
    ///
    /// # Errors
    /// [`OpError::ReshapeSize`] if `shape` holds a different number of elements.
    pub fn try_reshape(&self, shape: &[usize]) -> Result<Var<T>, OpError> {
        let value = {
            let x = self.data();
            let len = shape.iter().try_fold(1usize, |n, &e| n.checked_mul(e));
            if len != Some(x.len()) {
                return Err(OpError::ReshapeSize {
                    op: "reshape",
                    from: x.shape().to_vec(),
                    to: shape.to_vec(),
                });
            }
            x.to_shape(IxDyn(shape))
                .expect("einsum-runtime internal error: a reshape with the same size")
                .into_owned()
        };
        Ok(Var::from_op(value, vec![self.clone()], |g, parents| {
            let shape = parents[0].data().raw_dim();
            let g = g
                .to_shape(shape)
                .expect("einsum-runtime internal error: the gradient reshapes back");
            vec![Some(g.into_owned())]
        }))
    }

    /// A slice, written with ndarray's [`s!`](ndarray::s) macro as in `x[1:3, ::2]` in PyTorch:
    /// `x.slice(s![1..3, ..;2])`. Ranges and steps (negative steps reverse), negative indices
    /// counting from the end, single indices (which remove their axis) and `NewAxis` all work; the
    /// result is a copy.
    ///
    /// Derivative: `1` from each output element to the input element it was read from: the gradient
    /// is written into a zero array shaped like the input, at the sliced positions.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::{array, s};
    ///
    /// let x = Var::new(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let y = x.slice(s![.., 1..]); // the last two columns
    /// assert_eq!(*y.data(), array![[2.0, 3.0], [5.0, 6.0]].into_dyn());
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]].into_dyn());
    /// assert_eq!(*x.slice(s![-1, ..;-1]).data(), array![6.0, 5.0, 4.0].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If the slice names a different number of axes than the value has, a bound or index is out of
    /// range, or a step is 0; [`try_slice`](Var::try_slice) returns the error instead.
    #[track_caller]
    pub fn slice<I: SliceArg<IxDyn>>(&self, info: I) -> Var<T> {
        unwrap_or_panic(self.try_slice(info))
    }

    /// [`slice`](Var::slice), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::{s, Array2};
    ///
    /// let x = Var::new(Array2::<f64>::zeros((2, 3)));
    /// assert_eq!(x.try_slice(s![.., 0]).unwrap().shape(), vec![2]);
    /// let err = x.try_slice(s![.., 1..4]).unwrap_err();
    /// assert_eq!(err, OpError::IndexOutOfRange { op: "slice", axis: 1, index: 4, extent: 3 });
    /// assert!(matches!(x.try_slice(s![..]), Err(OpError::Rank { .. })));
    /// ```
    ///
    /// # Errors
    /// [`OpError::Rank`] if the slice names a different number of axes, [`OpError::IndexOutOfRange`]
    /// for a bound or index out of range, [`OpError::ZeroStep`] for a step of 0.
    pub fn try_slice<I: SliceArg<IxDyn>>(&self, info: I) -> Result<Var<T>, OpError> {
        self.slice_elems("slice", info.as_ref().to_vec())
    }

    /// The slice `range` of axis `axis`, every other axis whole, like PyTorch's `narrow` (or
    /// `x[:, a:b]`): `range` is a range of indices (`1..3`, `2..`, `..`) or an ndarray
    /// [`Slice`] (with a step, negative bounds from the end). The result keeps the axis.
    ///
    /// Derivative: as for [`slice`](Var::slice): the gradient goes back to the positions read.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let y = x.slice_axis(1, 0..2);
    /// assert_eq!(*y.data(), array![[1.0, 2.0], [4.0, 5.0]].into_dyn());
    /// y.backward_with(array![[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(x.grad().unwrap(), array![[1.0, 2.0, 0.0], [3.0, 4.0, 0.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If `axis` or a bound is out of range, or the step is 0; [`try_slice_axis`](Var::try_slice_axis)
    /// returns the error instead.
    #[track_caller]
    pub fn slice_axis(&self, axis: usize, range: impl Into<Slice>) -> Var<T> {
        unwrap_or_panic(self.try_slice_axis(axis, range))
    }

    /// [`slice_axis`](Var::slice_axis), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::{Array2, Slice};
    ///
    /// let x = Var::new(Array2::<f64>::zeros((2, 4)));
    /// assert_eq!(x.try_slice_axis(1, Slice::new(0, None, 2)).unwrap().shape(), vec![2, 2]);
    /// assert!(matches!(x.try_slice_axis(2, ..), Err(OpError::AxisOutOfRange { .. })));
    /// assert!(matches!(x.try_slice_axis(0, 1..3), Err(OpError::IndexOutOfRange { .. })));
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`], [`OpError::IndexOutOfRange`] or [`OpError::ZeroStep`].
    pub fn try_slice_axis(&self, axis: usize, range: impl Into<Slice>) -> Result<Var<T>, OpError> {
        let ndim = self.data().ndim();
        check_axis("slice_axis", axis, ndim)?;
        let range = range.into();
        let elems = (0..ndim)
            .map(|a| if a == axis { range } else { Slice::from(..) }.into())
            .collect();
        self.slice_elems("slice_axis", elems)
    }

    fn slice_elems(&self, op: &'static str, elems: Vec<SliceInfoElem>) -> Result<Var<T>, OpError> {
        let value = {
            let x = self.data();
            check_slice(op, &elems, x.shape())?;
            x.slice(elems.as_slice()).to_owned()
        };
        Ok(Var::from_op(
            value,
            vec![self.clone()],
            move |g, parents| {
                let mut gx = ArrayD::zeros(parents[0].data().raw_dim());
                gx.slice_mut(elems.as_slice()).assign(g);
                vec![Some(gx)]
            },
        ))
    }

    /// The sub-array at `index` along `axis`, which is removed (PyTorch's `select(dim, index)`, or
    /// `x[:, i]`).
    ///
    /// Derivative: `1` from each output element to the element it was read from: the gradient fills
    /// position `index` of `axis` in a zero array shaped like the input.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    /// let row = x.index_axis(0, 1);
    /// assert_eq!(*row.data(), array![3.0, 4.0].into_dyn());
    /// row.backward_with(array![10.0, 20.0]);
    /// assert_eq!(x.grad().unwrap(), array![[0.0, 0.0], [10.0, 20.0], [0.0, 0.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If `axis` or `index` is out of range; [`try_index_axis`](Var::try_index_axis) returns the error
    /// instead.
    #[track_caller]
    pub fn index_axis(&self, axis: usize, index: usize) -> Var<T> {
        unwrap_or_panic(self.try_index_axis(axis, index))
    }

    /// [`index_axis`](Var::index_axis), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::Array2;
    ///
    /// let x = Var::new(Array2::<f64>::zeros((2, 3)));
    /// assert_eq!(x.try_index_axis(1, 2).unwrap().shape(), vec![2]);
    /// let err = x.try_index_axis(0, 2).unwrap_err();
    /// assert_eq!(err.to_string(), "index_axis: index 2 is out of range for axis 0 of extent 2");
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`] or [`OpError::IndexOutOfRange`].
    pub fn try_index_axis(&self, axis: usize, index: usize) -> Result<Var<T>, OpError> {
        let value = {
            let x = self.data();
            check_axis("index_axis", axis, x.ndim())?;
            check_index("index_axis", axis, index, x.shape()[axis])?;
            x.index_axis(Axis(axis), index).to_owned()
        };
        Ok(Var::from_op(
            value,
            vec![self.clone()],
            move |g, parents| {
                let mut gx = ArrayD::zeros(parents[0].data().raw_dim());
                gx.index_axis_mut(Axis(axis), index).assign(g);
                vec![Some(gx)]
            },
        ))
    }

    /// Gathers the sub-arrays at `indices` along `axis`, in that order, repeats allowed (PyTorch's
    /// `index_select`, ndarray's `select`; an embedding lookup is `table.select(0, &token_ids)`). The
    /// axis keeps its place, with extent `indices.len()`.
    ///
    /// Derivative: `1` from output position `k` to input position `indices[k]`: the gradient's slice
    /// `k` is added at `indices[k]`, so an index taken twice receives the sum of both.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let table = Var::new(array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    /// let picked = table.select(0, &[2, 0, 2]);
    /// assert_eq!(*picked.data(), array![[5.0, 6.0], [1.0, 2.0], [5.0, 6.0]].into_dyn());
    /// picked.sum().backward();
    /// assert_eq!(table.grad().unwrap(), array![[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If `axis` or an index is out of range; [`try_select`](Var::try_select) returns the error
    /// instead.
    #[track_caller]
    pub fn select(&self, axis: usize, indices: &[usize]) -> Var<T> {
        unwrap_or_panic(self.try_select(axis, indices))
    }

    /// [`select`](Var::select), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::Array2;
    ///
    /// let x = Var::new(Array2::<f64>::zeros((2, 3)));
    /// assert_eq!(x.try_select(1, &[0, 0, 1, 2]).unwrap().shape(), vec![2, 4]);
    /// assert!(matches!(x.try_select(1, &[3]), Err(OpError::IndexOutOfRange { index: 3, .. })));
    /// ```
    ///
    /// # Errors
    /// [`OpError::AxisOutOfRange`] or [`OpError::IndexOutOfRange`].
    pub fn try_select(&self, axis: usize, indices: &[usize]) -> Result<Var<T>, OpError> {
        let value = {
            let x = self.data();
            check_axis("select", axis, x.ndim())?;
            for &i in indices {
                check_index("select", axis, i, x.shape()[axis])?;
            }
            x.select(Axis(axis), indices)
        };
        let indices = indices.to_vec();
        Ok(Var::from_op(
            value,
            vec![self.clone()],
            move |g, parents| {
                let mut gx = ArrayD::<T>::zeros(parents[0].data().raw_dim());
                for (k, &i) in indices.iter().enumerate() {
                    gx.index_axis_mut(Axis(axis), i)
                        .zip_mut_with(&g.index_axis(Axis(axis), k), |a, &b| *a = *a + b);
                }
                vec![Some(gx)]
            },
        ))
    }

    /// Joins `vars` along an existing axis (PyTorch's `cat`): their shapes must agree except along
    /// `axis`. A `Var` may appear more than once.
    ///
    /// Derivative: the identity on each part: operand `k` receives the slice of the gradient along
    /// `axis` where its elements were placed.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let a = Var::new(array![[1.0, 2.0]]);
    /// let b = Var::new(array![[3.0, 4.0], [5.0, 6.0]]);
    /// let c = Var::concat(0, &[&a, &b]);
    /// assert_eq!(*c.data(), array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]].into_dyn());
    /// c.backward_with(array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    /// assert_eq!(a.grad().unwrap(), array![[1.0, 2.0]].into_dyn());
    /// assert_eq!(b.grad().unwrap(), array![[3.0, 4.0], [5.0, 6.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If `vars` is empty, `axis` is out of range, or the shapes do not fit;
    /// [`try_concat`](Var::try_concat) returns the error instead.
    #[track_caller]
    pub fn concat(axis: usize, vars: &[&Var<T>]) -> Var<T> {
        unwrap_or_panic(Var::try_concat(axis, vars))
    }

    /// [`concat`](Var::concat), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::Array2;
    ///
    /// let a = Var::new(Array2::<f64>::zeros((2, 3)));
    /// let b = Var::new(Array2::<f64>::zeros((2, 1)));
    /// assert_eq!(Var::try_concat(1, &[&a, &b]).unwrap().shape(), vec![2, 4]);
    /// let err = Var::try_concat(0, &[&a, &b]).unwrap_err();
    /// assert!(matches!(err, OpError::OperandShape { operand: 1, .. }));
    /// assert_eq!(Var::<f64>::try_concat(0, &[]).unwrap_err(), OpError::NoOperands { op: "concat" });
    /// ```
    ///
    /// # Errors
    /// [`OpError::NoOperands`], [`OpError::AxisOutOfRange`] or [`OpError::OperandShape`].
    pub fn try_concat(axis: usize, vars: &[&Var<T>]) -> Result<Var<T>, OpError> {
        let op = "concat";
        let values: Vec<Rc<ArrayD<T>>> = vars.iter().map(|v| v.data()).collect();
        let first = values.first().ok_or(OpError::NoOperands { op })?.shape();
        check_axis(op, axis, first.len())?;
        for (k, v) in values.iter().enumerate().skip(1) {
            let fits = v.ndim() == first.len()
                && (0..first.len()).all(|a| a == axis || v.shape()[a] == first[a]);
            if !fits {
                return Err(OpError::OperandShape {
                    op,
                    operand: k,
                    first: first.to_vec(),
                    found: v.shape().to_vec(),
                });
            }
        }
        let views: Vec<_> = values.iter().map(|v| v.view()).collect();
        let value = ndarray::concatenate(Axis(axis), &views)
            .expect("einsum-runtime internal error: checked shapes concatenate");
        let parents = vars.iter().map(|&v| v.clone()).collect();
        Ok(Var::from_op(value, parents, move |g, parents| {
            let mut start = 0;
            parents
                .iter()
                .map(|p| {
                    let n = p.data().shape()[axis];
                    let part = Slice::from(start..start + n);
                    start += n;
                    p.requires_grad()
                        .then(|| g.slice_axis(Axis(axis), part).to_owned())
                })
                .collect()
        }))
    }

    /// Joins `vars`, which must all have the same shape, along a new axis at position `axis` (PyTorch's
    /// `stack`; `axis` may equal the operands' number of axes, to append it last).
    ///
    /// Derivative: operand `k` receives the gradient's sub-array at index `k` of the new axis.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let a = Var::new(array![1.0, 2.0]);
    /// let b = Var::new(array![3.0, 4.0]);
    /// let s = Var::stack(1, &[&a, &b]);
    /// assert_eq!(*s.data(), array![[1.0, 3.0], [2.0, 4.0]].into_dyn());
    /// s.backward_with(array![[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(a.grad().unwrap(), array![1.0, 3.0].into_dyn());
    /// assert_eq!(b.grad().unwrap(), array![2.0, 4.0].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If `vars` is empty, `axis` is greater than the operands' number of axes, or the shapes differ;
    /// [`try_stack`](Var::try_stack) returns the error instead.
    #[track_caller]
    pub fn stack(axis: usize, vars: &[&Var<T>]) -> Var<T> {
        unwrap_or_panic(Var::try_stack(axis, vars))
    }

    /// [`stack`](Var::stack), returning an error instead of panicking. An axis out of range is
    /// reported against the result's number of axes (one more than the operands').
    ///
    /// ```
    /// use einsum_runtime::{OpError, Var};
    /// use ndarray::Array1;
    ///
    /// let a = Var::new(Array1::<f64>::zeros(3));
    /// let b = Var::new(Array1::<f64>::zeros(2));
    /// assert_eq!(Var::try_stack(0, &[&a, &a]).unwrap().shape(), vec![2, 3]);
    /// assert!(matches!(Var::try_stack(0, &[&a, &b]), Err(OpError::OperandShape { .. })));
    /// assert!(matches!(Var::try_stack(2, &[&a]), Err(OpError::AxisOutOfRange { ndim: 2, .. })));
    /// ```
    ///
    /// # Errors
    /// [`OpError::NoOperands`], [`OpError::AxisOutOfRange`] or [`OpError::OperandShape`].
    pub fn try_stack(axis: usize, vars: &[&Var<T>]) -> Result<Var<T>, OpError> {
        let op = "stack";
        let values: Vec<Rc<ArrayD<T>>> = vars.iter().map(|v| v.data()).collect();
        let first = values.first().ok_or(OpError::NoOperands { op })?.shape();
        check_axis(op, axis, first.len() + 1)?;
        if let Some(k) = values.iter().position(|v| v.shape() != first) {
            return Err(OpError::OperandShape {
                op,
                operand: k,
                first: first.to_vec(),
                found: values[k].shape().to_vec(),
            });
        }
        let views: Vec<_> = values.iter().map(|v| v.view()).collect();
        let value = ndarray::stack(Axis(axis), &views)
            .expect("einsum-runtime internal error: equal shapes stack");
        let parents = vars.iter().map(|&v| v.clone()).collect();
        Ok(Var::from_op(value, parents, move |g, parents| {
            parents
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    p.requires_grad()
                        .then(|| g.index_axis(Axis(axis), k).to_owned())
                })
                .collect()
        }))
    }

    /// The value broadcast to `shape` by numpy's rules (PyTorch's `expand`, as a copy): axes are
    /// aligned on the right, missing leading axes are added, and extents of 1 stretch.
    ///
    /// Derivative: each input element is copied to every position it stretched to, so its gradient
    /// is the sum of the gradient over those positions (summed over the added and stretched axes).
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::array;
    ///
    /// let x = Var::new(array![[1.0], [2.0]]);
    /// let y = x.broadcast_to(&[3, 2, 2]);
    /// assert_eq!(y.shape(), vec![3, 2, 2]);
    /// y.sum().backward();
    /// assert_eq!(x.grad().unwrap(), array![[6.0], [6.0]].into_dyn()); // 3 * 2 copies each
    /// ```
    ///
    /// # Panics
    /// If the shape does not broadcast to `shape`; [`try_broadcast_to`](Var::try_broadcast_to) returns
    /// the error instead.
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Var<T> {
        unwrap_or_panic(self.try_broadcast_to(shape))
    }

    /// [`broadcast_to`](Var::broadcast_to), returning an error instead of panicking.
    ///
    /// ```
    /// use einsum_runtime::Var;
    /// use ndarray::Array2;
    ///
    /// let x = Var::new(Array2::<f64>::zeros((2, 3)));
    /// assert!(x.try_broadcast_to(&[4, 2, 3]).is_ok());
    /// let err = x.try_broadcast_to(&[1, 3]).unwrap_err();
    /// assert_eq!(err.to_string(), "broadcast_to: shape [2, 3] does not broadcast to shape [1, 3]");
    /// ```
    ///
    /// # Errors
    /// [`OpError::BroadcastTo`].
    pub fn try_broadcast_to(&self, shape: &[usize]) -> Result<Var<T>, OpError> {
        let value = {
            let x = self.data();
            x.broadcast(IxDyn(shape))
                .ok_or_else(|| OpError::BroadcastTo {
                    op: "broadcast_to",
                    from: x.shape().to_vec(),
                    to: shape.to_vec(),
                })?
                .to_owned()
        };
        Ok(Var::from_op(value, vec![self.clone()], |g, parents| {
            vec![Some(unbroadcast(g.clone(), parents[0].data().shape()))]
        }))
    }
}
