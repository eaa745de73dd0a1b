//! Arithmetic with numpy broadcasting: `try_add`, `try_sub`, `try_mul`, `try_div` and the `+ - * /`
//! operators on `Var` (with a `Var`, an array or a scalar on the right, through [`IntoVar`], and an
//! `f32`/`f64` scalar on the left), with the broadcasting helpers that `select.rs` and `shape.rs`
//! share: [`broadcast_shape`] (the shape two operands broadcast to) and [`unbroadcast`] (its adjoint,
//! summing a gradient back to an operand's shape).
//!
//! The `try_` methods return [`OpError::Broadcast`] when the shapes do not broadcast; the operators
//! panic with its message at the caller's line.

use ndarray::{arr0, ArrayBase, ArrayD, Axis, Data, Dimension, IxDyn, Zip};

use crate::autograd::error::{unwrap_or_panic, OpError};
use crate::autograd::{Float, Var};

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
pub(crate) fn unbroadcast<T: Float>(g: ArrayD<T>, shape: &[usize]) -> ArrayD<T> {
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
                unbroadcast(full, shape)
            };
            vec![
                parents[0].requires_grad().then(|| part(da, x.shape())),
                parents[1].requires_grad().then(|| part(db, y.shape())),
            ]
        },
    ))
}

impl<T: Float> Var<T> {
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
                unwrap_or_panic(self.$try_method(rhs))
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
    fn unbroadcast_is_the_adjoint_of_broadcasting() {
        let g = ArrayD::from_elem(IxDyn(&[2, 3, 4]), 1.0);
        assert_eq!(
            unbroadcast(g.clone(), &[3, 1]),
            ArrayD::from_elem(IxDyn(&[3, 1]), 8.0)
        );
        assert_eq!(unbroadcast(g, &[]), arr0(24.0).into_dyn());
    }
}
