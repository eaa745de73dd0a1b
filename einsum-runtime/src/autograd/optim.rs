//! Optimizers: update parameter [`Var`]s from their accumulated gradients.
//!
//! A training step is: [`zero_grad`](Sgd::zero_grad), build the loss from the parameters, call
//! [`backward`](Var::backward), then [`step`](Sgd::step). `step` reads each parameter's
//! [`grad`](Var::grad) and writes the new value with [`set_data`](Var::set_data); a parameter without
//! a gradient (not reached by the last backward pass) is left as it is. A step never changes a graph
//! recorded before it: such a graph keeps the values it ran on, so its backward pass still gives the
//! gradients at those values. Build a new graph after each step to differentiate at the new ones.
//!
//! ```
//! use einsum_runtime::{einsum, loss, optim::Sgd, Var};
//! use ndarray::array;
//!
//! // Least squares: find w with x w = y.
//! let x = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
//! let y = array![1.0, 2.0, 3.0];
//! let w = Var::new(array![0.0f64, 0.0]);
//! let mut opt = Sgd::new([&w], 0.2);
//! for _ in 0..100 {
//!     opt.zero_grad();
//!     loss::mse(&einsum!("ij,j->i", x, w), &y).backward();
//!     opt.step();
//! }
//! assert!((w.data()[[0]] - 1.0).abs() < 1e-3 && (w.data()[[1]] - 2.0).abs() < 1e-3);
//! ```

use std::borrow::Borrow;

use ndarray::{ArrayD, Zip};

use super::{Float, Var};

/// Stochastic gradient descent with optional momentum (PyTorch's formulation):
/// `v = momentum * v + g; p = p - lr * v` (with `v = g` on the first step), which is plain
/// `p = p - lr * g` for `momentum = 0`.
///
/// ```
/// use einsum_runtime::{optim::Sgd, Var};
/// use ndarray::array;
///
/// // Fit w to minimize (w - 3)^2 + (2 w - 6)^2.
/// let w = Var::new(array![0.0].into_dyn());
/// let mut opt = Sgd::new(vec![w.clone()], 0.05).with_momentum(0.5);
/// let loss_of = |w: &Var<f64>| ((w - 3.0).powi(2) + (w * 2.0 - 6.0).powi(2)).sum();
/// let first = loss_of(&w).item();
/// for _ in 0..50 {
///     opt.zero_grad();
///     loss_of(&w).backward();
///     opt.step();
/// }
/// assert!(loss_of(&w).item() < 1e-6 * first);
/// assert!((w.item() - 3.0).abs() < 1e-3);
/// ```
#[derive(Debug)]
pub struct Sgd<T: Float> {
    /// The learning rate.
    pub lr: T,
    /// The momentum factor (0 for plain gradient descent).
    pub momentum: T,
    params: Vec<Var<T>>,
    velocity: Vec<Option<ArrayD<T>>>,
}

impl<T: Float> Sgd<T> {
    /// Plain gradient descent on `params` with learning rate `lr` (momentum 0). `params` is any
    /// collection of `Var`s or `&Var`s (the optimizer keeps its own handles, sharing the nodes).
    ///
    /// ```
    /// use einsum_runtime::{optim::Sgd, Var};
    /// use ndarray::array;
    ///
    /// let (w, b) = (Var::new(array![1.0, 2.0]), Var::new(array![0.5]));
    /// let by_ref = Sgd::new([&w, &b], 0.25);
    /// let by_value = Sgd::new(vec![w.clone(), b.clone()], 0.25);
    /// assert_eq!(by_ref.params().len(), by_value.params().len());
    /// (&w * &b).sum().backward();
    /// let mut opt = by_ref;
    /// opt.step(); // w -= 0.25 * b, b -= 0.25 * sum(w)
    /// assert_eq!(*w.data(), array![0.875, 1.875].into_dyn());
    /// assert_eq!(*b.data(), array![-0.25].into_dyn());
    /// ```
    pub fn new<P: Borrow<Var<T>>>(params: impl IntoIterator<Item = P>, lr: T) -> Self {
        let params: Vec<Var<T>> = params.into_iter().map(|p| p.borrow().clone()).collect();
        let velocity = vec![None; params.len()];
        Sgd {
            lr,
            momentum: T::zero(),
            params,
            velocity,
        }
    }

    /// Sets the momentum factor.
    ///
    /// ```
    /// use einsum_runtime::{optim::Sgd, Var};
    ///
    /// let w = Var::new(ndarray::array![1.0]);
    /// let opt = Sgd::new([&w], 0.1).with_momentum(0.9);
    /// assert_eq!((opt.lr, opt.momentum), (0.1, 0.9));
    /// ```
    pub fn with_momentum(mut self, momentum: T) -> Self {
        self.momentum = momentum;
        self
    }

    /// The parameters, in the order given.
    ///
    /// ```
    /// use einsum_runtime::{optim::Sgd, Var};
    /// use ndarray::array;
    ///
    /// let (w, b) = (Var::new(array![1.0, 2.0]), Var::new(array![0.0]));
    /// let opt = Sgd::new([&w, &b], 0.1);
    /// assert_eq!(opt.params()[0].shape(), [2]);
    /// ```
    pub fn params(&self) -> &[Var<T>] {
        &self.params
    }

    /// Updates every parameter that has a gradient.
    ///
    /// ```
    /// use einsum_runtime::{optim::Sgd, Var};
    /// use ndarray::array;
    ///
    /// let (w, unused) = (Var::new(array![1.0]), Var::new(array![7.0]));
    /// let mut opt = Sgd::new([&w, &unused], 0.5);
    /// (&w * &w).sum().backward(); // gradient 2w = 2
    /// opt.step();
    /// assert_eq!(w.data()[[0]], 0.0); // 1 - 0.5 * 2
    /// assert_eq!(unused.data()[[0]], 7.0); // no gradient: left as it is
    /// ```
    ///
    /// # Panics
    /// If a parameter's shape changed (by [`Var::set_data`]) since its momentum was recorded.
    pub fn step(&mut self) {
        for (p, v) in self.params.iter().zip(&mut self.velocity) {
            let Some(g) = p.grad() else { continue };
            let update = if self.momentum == T::zero() {
                g
            } else {
                let m = self.momentum;
                match v {
                    Some(v) => {
                        v.zip_mut_with(&g, |v, &g| *v = m * *v + g);
                        v.clone()
                    }
                    None => v.insert(g).clone(),
                }
            };
            let mut value = p.data().as_ref().clone();
            let lr = self.lr;
            value.zip_mut_with(&update, |x, &u| *x = *x - lr * u);
            p.set_data(value);
        }
    }

    /// Clears every parameter's gradient (call before each backward pass, as gradients accumulate).
    ///
    /// ```
    /// use einsum_runtime::{optim::Sgd, Var};
    ///
    /// let w = Var::new(ndarray::array![1.0]);
    /// let opt = Sgd::new([&w], 0.1);
    /// w.sum().backward();
    /// opt.zero_grad();
    /// assert!(w.grad().is_none());
    /// ```
    pub fn zero_grad(&self) {
        self.params.iter().for_each(Var::zero_grad);
    }
}

/// Adam (Kingma and Ba, 2015), as PyTorch computes it: per parameter and step `t`,
/// `m = beta1 m + (1 - beta1) g`, `v = beta2 v + (1 - beta2) g^2`,
/// `p = p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)`.
///
/// ```
/// use einsum_runtime::{optim::Adam, Var};
/// use ndarray::array;
///
/// // Fit (a, b) to minimize (a - 1)^2 + 10 (b + 2)^2.
/// let a = Var::new(array![0.0].into_dyn());
/// let b = Var::new(array![0.0].into_dyn());
/// let mut opt = Adam::new(vec![a.clone(), b.clone()], 0.1);
/// let loss_of = |a: &Var<f64>, b: &Var<f64>| ((a - 1.0).powi(2) + (b + 2.0).powi(2) * 10.0).sum();
/// let first = loss_of(&a, &b).item();
/// for _ in 0..300 {
///     opt.zero_grad();
///     loss_of(&a, &b).backward();
///     opt.step();
/// }
/// assert!(loss_of(&a, &b).item() < 1e-4 * first);
/// ```
#[derive(Debug)]
pub struct Adam<T: Float> {
    /// The learning rate.
    pub lr: T,
    /// The decay rate of the first-moment (mean) estimate; default 0.9.
    pub beta1: T,
    /// The decay rate of the second-moment (uncentered variance) estimate; default 0.999.
    pub beta2: T,
    /// Added to the denominator for numerical stability; default 1e-8.
    pub eps: T,
    params: Vec<Var<T>>,
    state: Vec<Option<AdamState<T>>>,
}

#[derive(Debug)]
struct AdamState<T> {
    step: i32,
    m: ArrayD<T>,
    v: ArrayD<T>,
}

impl<T: Float> Adam<T> {
    /// Adam on `params` with learning rate `lr` and the usual defaults `beta1 = 0.9`, `beta2 = 0.999`,
    /// `eps = 1e-8` (change them through the public fields or [`with_betas`](Adam::with_betas)).
    /// `params` is any collection of `Var`s or `&Var`s.
    ///
    /// ```
    /// use einsum_runtime::{optim::Adam, Var};
    /// use ndarray::array;
    ///
    /// let (w1, b1) = (Var::new(array![[1.0, 2.0]]), Var::new(array![0.0]));
    /// let opt = Adam::new([&w1, &b1], 0.01);
    /// assert_eq!(opt.params().len(), 2);
    /// let all = vec![w1.clone(), b1.clone()];
    /// let opt2 = Adam::new(all.iter(), 0.01); // an iterator of references works too
    /// assert_eq!(opt2.params()[1].shape(), vec![1]);
    /// ```
    pub fn new<P: Borrow<Var<T>>>(params: impl IntoIterator<Item = P>, lr: T) -> Self {
        let params: Vec<Var<T>> = params.into_iter().map(|p| p.borrow().clone()).collect();
        let c = |x: f64| T::from(x).expect("a small constant converts to a float");
        let state = std::iter::repeat_with(|| None).take(params.len()).collect();
        Adam {
            lr,
            beta1: c(0.9),
            beta2: c(0.999),
            eps: c(1e-8),
            params,
            state,
        }
    }

    /// Sets both decay rates.
    ///
    /// ```
    /// use einsum_runtime::{optim::Adam, Var};
    ///
    /// let w = Var::new(ndarray::array![1.0f32]);
    /// let opt = Adam::new([&w], 1e-3).with_betas(0.8, 0.99);
    /// assert_eq!((opt.beta1, opt.beta2), (0.8, 0.99));
    /// ```
    pub fn with_betas(mut self, beta1: T, beta2: T) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// The parameters, in the order given.
    ///
    /// ```
    /// use einsum_runtime::{optim::Adam, Var};
    /// use ndarray::array;
    ///
    /// let (w, b) = (Var::new(array![[1.0, 2.0]]), Var::new(array![0.0]));
    /// let opt = Adam::new([&w, &b], 1e-3);
    /// assert_eq!(opt.params()[0].shape(), [1, 2]);
    /// ```
    pub fn params(&self) -> &[Var<T>] {
        &self.params
    }

    /// Updates every parameter that has a gradient. A parameter's step count (for the bias
    /// correction) advances only on steps where it has a gradient.
    ///
    /// ```
    /// use einsum_runtime::{optim::Adam, Var};
    /// use ndarray::array;
    ///
    /// let w = Var::new(array![1.0f64, -1.0]);
    /// let mut opt = Adam::new([&w], 0.1);
    /// w.sum().backward(); // gradient 1 for both elements
    /// opt.step();
    /// // The first step moves each element by about lr against the sign of its gradient.
    /// assert!((w.data()[[0]] - 0.9).abs() < 1e-6 && (w.data()[[1]] + 1.1).abs() < 1e-6);
    /// ```
    ///
    /// # Panics
    /// If a parameter's shape changed (by [`Var::set_data`]) since its moments were recorded.
    pub fn step(&mut self) {
        let (b1, b2, lr, eps) = (self.beta1, self.beta2, self.lr, self.eps);
        let one = T::one();
        for (p, state) in self.params.iter().zip(&mut self.state) {
            let Some(g) = p.grad() else { continue };
            let s = state.get_or_insert_with(|| AdamState {
                step: 0,
                m: ArrayD::zeros(g.raw_dim()),
                v: ArrayD::zeros(g.raw_dim()),
            });
            s.step = s.step.saturating_add(1);
            let c1 = one - b1.powi(s.step);
            let c2 = one - b2.powi(s.step);
            let mut value = p.data().as_ref().clone();
            Zip::from(&mut value)
                .and(&mut s.m)
                .and(&mut s.v)
                .and(&g)
                .for_each(|x, m, v, &g| {
                    *m = b1 * *m + (one - b1) * g;
                    *v = b2 * *v + (one - b2) * g * g;
                    *x = *x - lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                });
            p.set_data(value);
        }
    }

    /// Clears every parameter's gradient (call before each backward pass, as gradients accumulate).
    ///
    /// ```
    /// use einsum_runtime::{optim::Adam, Var};
    ///
    /// let w = Var::new(ndarray::array![1.0]);
    /// let opt = Adam::new([&w], 0.1);
    /// w.sum().backward();
    /// opt.zero_grad();
    /// assert!(w.grad().is_none());
    /// ```
    pub fn zero_grad(&self) {
        self.params.iter().for_each(Var::zero_grad);
    }
}
