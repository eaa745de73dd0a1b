//! Weight initializers: arrays of random values drawn from a generator the caller passes (any
//! [`rand::Rng`], such as a seeded [`StdRng`](rand::rngs::StdRng)), so that runs reproduce. Wrap the
//! result in [`Var::new`](crate::Var::new) to make a parameter.
//!
//! The generator type comes from `rand` 0.10, which this crate re-exports as
//! [`einsum_runtime::rand`](crate::rand); depend on the same version of `rand` (or use the
//! re-export) to name it.
//!
//! ```
//! use einsum_runtime::{init, optim::Adam, Var};
//! use rand::{rngs::StdRng, SeedableRng};
//!
//! let mut rng = StdRng::seed_from_u64(42);
//! let w1 = Var::new(init::he_normal::<f64, _>(&[784, 128], &mut rng)); // before a ReLU
//! let w2 = Var::new(init::xavier_uniform::<f64, _>(&[128, 10], &mut rng));
//! let b1 = Var::new(ndarray::Array1::<f64>::zeros(128));
//! let opt = Adam::new([&w1, &b1, &w2], 1e-3);
//! assert_eq!(opt.params()[2].shape(), vec![128, 10]);
//! ```
//!
//! Values are drawn in `f64` and rounded to `T`. The fans of a shape are described at [`fans`].

use ndarray::{ArrayD, IxDyn};
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::autograd::{Float, OpError};

/// The fan-in and fan-out of a weight of shape `shape`, as [`xavier_uniform`] and the others use
/// them. This crate multiplies inputs on the left (`einsum!("ij,jk->ik", x, w)`), so a 2-d weight is
/// `[fan_in, fan_out]`: `(shape[0], shape[1])`. (PyTorch's `Linear` stores the transpose,
/// `[out, in]`; transpose the shape to compare.) For more axes, each fan is multiplied by the
/// product of the extents after the first two (the receptive field of a convolution kernel
/// `[in, out, k1, k2, ...]`). A 1-d shape `[n]` has both fans `n`, a 0-d shape both `1`.
///
/// ```
/// use einsum_runtime::init::fans;
///
/// assert_eq!(fans(&[784, 128]), (784, 128));
/// assert_eq!(fans(&[16, 32, 3, 3]), (144, 288));
/// assert_eq!(fans(&[10]), (10, 10));
/// ```
pub fn fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (*n, *n),
        [fan_in, fan_out, rest @ ..] => {
            let field: usize = rest.iter().product();
            (fan_in * field, fan_out * field)
        }
    }
}

fn to_float<T: Float>(x: f64) -> T {
    T::from(x).expect("an f64 converts to f32 or f64")
}

fn sample<T: Float, R: Rng + ?Sized>(
    shape: &[usize],
    dist: impl Distribution<f64>,
    rng: &mut R,
) -> ArrayD<T> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || to_float(dist.sample(rng)))
}

/// Values drawn uniformly from `[low, high)` (drawn in `f64`: rounding to `f32` can give `high`).
///
/// ```
/// use einsum_runtime::init;
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let a = init::uniform(&[2, 3], -0.5f32, 0.5, &mut StdRng::seed_from_u64(1));
/// assert_eq!(a.shape(), &[2, 3]);
/// assert!(a.iter().all(|&v| (-0.5..=0.5).contains(&v)));
/// // The same seed gives the same values.
/// assert_eq!(a, init::uniform(&[2, 3], -0.5f32, 0.5, &mut StdRng::seed_from_u64(1)));
/// ```
///
/// # Panics
/// If `low >= high` or a bound is not finite; [`try_uniform`] returns the error instead.
#[track_caller]
pub fn uniform<T: Float, R: Rng + ?Sized>(
    shape: &[usize],
    low: T,
    high: T,
    rng: &mut R,
) -> ArrayD<T> {
    crate::autograd::unwrap_or_panic(try_uniform(shape, low, high, rng))
}

/// [`uniform`], returning an error instead of panicking.
///
/// ```
/// use einsum_runtime::{init, OpError};
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let mut rng = StdRng::seed_from_u64(1);
/// assert!(init::try_uniform(&[3], 0.0, 1.0, &mut rng).is_ok());
/// assert!(matches!(init::try_uniform(&[3], 1.0, 1.0, &mut rng), Err(OpError::Distribution { .. })));
/// ```
///
/// # Errors
/// [`OpError::Distribution`] if `low >= high` or a bound is not finite.
pub fn try_uniform<T: Float, R: Rng + ?Sized>(
    shape: &[usize],
    low: T,
    high: T,
    rng: &mut R,
) -> Result<ArrayD<T>, OpError> {
    let (low, high) = (low.to_f64(), high.to_f64());
    let dist = low
        .zip(high)
        .filter(|(l, h)| l.is_finite() && h.is_finite() && l < h)
        .and_then(|(l, h)| Uniform::new(l, h).ok())
        .ok_or_else(|| OpError::Distribution {
            op: "uniform",
            message: format!(
                "the bounds must be finite with low < high, but they are {low:?} and {high:?}"
            ),
        })?;
    Ok(sample(shape, dist, rng))
}

/// Values drawn from the normal distribution with mean `mean` and standard deviation `std`.
///
/// ```
/// use einsum_runtime::init;
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let a = init::normal(&[4, 5], 1.0, 0.0, &mut StdRng::seed_from_u64(3));
/// assert!(a.iter().all(|&v| v == 1.0)); // std 0: every value is the mean
/// ```
///
/// # Panics
/// If `std` is negative or a parameter is not finite; [`try_normal`] returns the error instead.
#[track_caller]
pub fn normal<T: Float, R: Rng + ?Sized>(
    shape: &[usize],
    mean: T,
    std: T,
    rng: &mut R,
) -> ArrayD<T> {
    crate::autograd::unwrap_or_panic(try_normal(shape, mean, std, rng))
}

/// [`normal`], returning an error instead of panicking.
///
/// ```
/// use einsum_runtime::{init, OpError};
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let mut rng = StdRng::seed_from_u64(1);
/// assert!(init::try_normal(&[3], 0.0, 1.0, &mut rng).is_ok());
/// assert!(matches!(init::try_normal(&[3], 0.0, -1.0, &mut rng), Err(OpError::Distribution { .. })));
/// ```
///
/// # Errors
/// [`OpError::Distribution`] if `std` is negative or a parameter is not finite.
pub fn try_normal<T: Float, R: Rng + ?Sized>(
    shape: &[usize],
    mean: T,
    std: T,
    rng: &mut R,
) -> Result<ArrayD<T>, OpError> {
    let (mean, std) = (mean.to_f64(), std.to_f64());
    let dist = mean
        .zip(std)
        .filter(|(m, s)| m.is_finite() && s.is_finite() && *s >= 0.0)
        .and_then(|(m, s)| Normal::new(m, s).ok())
        .ok_or_else(|| OpError::Distribution {
            op: "normal",
            message: format!(
                "the mean and standard deviation must be finite, and the deviation not negative, but they are {mean:?} and {std:?}"
            ),
        })?;
    Ok(sample(shape, dist, rng))
}

/// Xavier (Glorot) uniform initialization: uniform on `[-a, a)` with
/// `a = sqrt(6 / (fan_in + fan_out))`, so that the variance is `2 / (fan_in + fan_out)` (Glorot and
/// Bengio, 2010; PyTorch's `xavier_uniform_` with gain 1). Suits `tanh` and sigmoid layers. See
/// [`fans`] for the fans of a shape; multiply the result by a gain if you need one.
///
/// ```
/// use einsum_runtime::init;
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let w = init::xavier_uniform::<f64, _>(&[20, 30], &mut StdRng::seed_from_u64(0));
/// let a = (6.0f64 / 50.0).sqrt();
/// assert!(w.iter().all(|&v| v.abs() <= a));
/// ```
pub fn xavier_uniform<T: Float, R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> ArrayD<T> {
    let (fan_in, fan_out) = fans(shape);
    let a = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt();
    let dist = Uniform::new(-a, a).expect("einsum-runtime internal error: finite bounds, -a < a");
    sample(shape, dist, rng)
}

/// Xavier (Glorot) normal initialization: normal with mean 0 and standard deviation
/// `sqrt(2 / (fan_in + fan_out))` (PyTorch's `xavier_normal_` with gain 1). See [`fans`].
///
/// ```
/// use einsum_runtime::init;
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let w = init::xavier_normal::<f32, _>(&[3, 4], &mut StdRng::seed_from_u64(0));
/// assert_eq!(w.shape(), &[3, 4]);
/// ```
pub fn xavier_normal<T: Float, R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> ArrayD<T> {
    let (fan_in, fan_out) = fans(shape);
    let std = (2.0 / (fan_in + fan_out).max(1) as f64).sqrt();
    let dist = Normal::new(0.0, std).expect("einsum-runtime internal error: finite deviation");
    sample(shape, dist, rng)
}

/// He (Kaiming) uniform initialization for layers followed by a ReLU: uniform on `[-a, a)` with
/// `a = sqrt(6 / fan_in)`, so that the variance is `2 / fan_in` (He et al., 2015; PyTorch's
/// `kaiming_uniform_(w, nonlinearity="relu")`, fan-in mode). See [`fans`].
///
/// ```
/// use einsum_runtime::init;
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let w = init::he_uniform::<f64, _>(&[24, 5], &mut StdRng::seed_from_u64(0));
/// assert!(w.iter().all(|&v| v.abs() <= 0.5)); // sqrt(6 / 24)
/// ```
pub fn he_uniform<T: Float, R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> ArrayD<T> {
    let (fan_in, _) = fans(shape);
    let a = (6.0 / fan_in.max(1) as f64).sqrt();
    let dist = Uniform::new(-a, a).expect("einsum-runtime internal error: finite bounds, -a < a");
    sample(shape, dist, rng)
}

/// He (Kaiming) normal initialization for layers followed by a ReLU: normal with mean 0 and standard
/// deviation `sqrt(2 / fan_in)` (PyTorch's `kaiming_normal_(w, nonlinearity="relu")`, fan-in mode).
/// See [`fans`].
///
/// ```
/// use einsum_runtime::init;
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let w = init::he_normal::<f64, _>(&[8, 2], &mut StdRng::seed_from_u64(0));
/// assert_eq!(w.shape(), &[8, 2]);
/// ```
pub fn he_normal<T: Float, R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> ArrayD<T> {
    let (fan_in, _) = fans(shape);
    let std = (2.0 / fan_in.max(1) as f64).sqrt();
    let dist = Normal::new(0.0, std).expect("einsum-runtime internal error: finite deviation");
    sample(shape, dist, rng)
}
