//! Elementwise functions of one `Var`: `sigmoid`, `tanh`, `relu`, `exp`, `ln`, `neg` (with the unary
//! `-` operator), `powi` and `sqrt`. None of them can fail: each maps every element on its own, so
//! the result has the input's shape.
//!
//! The derivative of each is one elementwise function too, computed from the input
//! ([`elementwise_from_input`]: `relu`, `ln`, `powi`) or from the output
//! ([`elementwise_from_output`]: `sigmoid`, `tanh`, `exp`, `sqrt`); `neg`'s is the constant `-1`.

use ndarray::Zip;

use super::from_output;
use crate::autograd::{Float, Var};

/// An elementwise function whose derivative is computed from the input: `df(x)` is `f'(x)`.
fn elementwise_from_input<T: Float>(
    x: &Var<T>,
    f: impl Fn(T) -> T,
    df: impl Fn(T) -> T + 'static,
) -> Var<T> {
    let value = x.data().mapv(f);
    Var::from_op(value, vec![x.clone()], move |g, parents| {
        let x = parents[0].data();
        vec![Some(Zip::from(g).and(x).map_collect(|&g, &x| g * df(x)))]
    })
}

/// An elementwise function whose derivative is computed from the output: `df(y)` is `f'(x)` where
/// `y = f(x)`. The output is kept for the backward pass only if the input needs a gradient.
fn elementwise_from_output<T: Float>(x: &Var<T>, f: impl Fn(T) -> T, df: fn(T) -> T) -> Var<T> {
    from_output(x, x.data().mapv(f), move |g, y| {
        Zip::from(g).and(y).map_collect(|&g, &y| g * df(y))
    })
}

impl<T: Float> Var<T> {
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
        elementwise_from_output(
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
        elementwise_from_output(self, T::tanh, |t| T::one() - t * t)
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
        elementwise_from_input(
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
        elementwise_from_output(self, T::exp, |y| y)
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
        elementwise_from_input(self, T::ln, |x| x.recip())
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
        elementwise_from_input(
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
        elementwise_from_output(self, T::sqrt, |y| (y + y).recip())
    }
}

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
